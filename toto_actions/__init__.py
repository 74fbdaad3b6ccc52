"""toto-actions: the CI/CD and infrastructure flow of the Toto design, as GitHub actions."""

__version__ = "0.1.0"
