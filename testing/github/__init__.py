"""The stand-in GitHub REST API and what it is checked against."""
