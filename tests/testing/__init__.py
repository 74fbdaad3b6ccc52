"""Tests of the test tooling package testing/: the stand-in servers and the local stack."""
