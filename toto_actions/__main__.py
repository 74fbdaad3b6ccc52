import sys

from toto_actions.cli import main

sys.exit(main())
