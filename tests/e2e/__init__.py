"""End-to-end tests: the rendered workflows run unchanged by act against the local stack."""
