"""User-facing errors.

Anything raised as a :class:`DcbenchError` is a user mistake or a missing resource: the CLI
prints its message on one line and exits non-zero, never with a traceback. Programming errors
stay ordinary exceptions so that they do show a traceback.
"""


class DcbenchError(Exception):
    """A problem the user can fix (bad name, missing file, impossible setting)."""


class UnknownNameError(DcbenchError, KeyError):
    """A name looked up in a registry does not exist."""

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return str(self.args[0]) if self.args else ""


class DataNotFoundError(DcbenchError):
    """A dataset's files are not where they were looked for."""
