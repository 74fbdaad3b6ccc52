"""Measured speed (see README.md); each benchmark runs as a module from the repository root."""
