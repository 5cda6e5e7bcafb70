"""Errors a user can cause. The CLI prints them without a traceback (exit code 2); the API
returns them as 4xx JSON ``{"detail": ...}``."""

from __future__ import annotations


class SsotsError(Exception):
    """Base class of every error caused by input: its message says what was wrong and what
    to do about it."""


class DataError(SsotsError):
    """A dataset cannot be read or is not usable market data."""


class TooLargeError(DataError):
    """Data larger than allowed, e.g. a gzip file that expands past the limit (a zip
    bomb); ``limit`` is the largest size accepted, in bytes."""

    def __init__(self, message: str, *, limit: int) -> None:
        super().__init__(message)
        self.limit = limit


class ParameterError(SsotsError, ValueError):
    """An argument or option has an invalid value."""


class SpecError(ParameterError):
    """Run settings that do not validate: one ``(field, message)`` issue per bad field,
    each field named as the user typed it (``--fee`` on the command line, ``feeBp`` in
    the API)."""

    def __init__(self, issues: list[tuple[str, str]]) -> None:
        self.issues = issues
        super().__init__("; ".join(_issue_text(name, msg) for name, msg in issues))


def _issue_text(name: str, message: str) -> str:
    """"`--split` must be ..." reads as a sentence; other messages follow a colon."""
    return f"`{name}` {message}" if message.startswith("must ") else f"`{name}`: {message}"
