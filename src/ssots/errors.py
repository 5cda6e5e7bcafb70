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
