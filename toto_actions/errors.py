"""The errors a user sees. Each carries its exit code; the CLI reports it once, as one line."""


class TotoError(Exception):
    """Base of every error meant for the user rather than for a traceback."""

    exit_code = 1
    title = "toto-actions failed"


class UsageError(TotoError):
    """Bad usage or configuration: nothing was changed; fix the input and run again."""

    exit_code = 2
    title = "Bad usage or configuration"


class OperationError(TotoError):
    """The operation itself failed (a server refused, a build broke, a run errored)."""

    exit_code = 1
    title = "Operation failed"
