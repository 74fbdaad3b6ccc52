"""The project's test tooling, shared by tests/, benchmarks/ and scripts/demo (not shipped).

The stand-in servers (github/, tfc/, ecs.py) answer on loopback through one HTTP harness
(http_stand_in.py); local_stack/ starts the real Docker engine, registry and moto server;
terraform_configurations.py holds the Terraform configurations the tests and benchmarks apply;
actions_metadata.py reads the composite actions' action.yml; sockets.py gives a refused port and a
server that never answers, for the tests of a client's failures.
Import it from the repository root (pytest's rootdir, or `python -m benchmarks.NAME`).
"""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
