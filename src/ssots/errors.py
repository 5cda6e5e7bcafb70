"""Errors a user can cause. The CLI prints them without a traceback (exit code 2); the API
returns them as 4xx JSON ``{"detail": ...}``."""

from __future__ import annotations


class SsotsError(Exception):
    """Base class of every error caused by input: its message says what was wrong and what
    to do about it."""


class DataError(SsotsError):
    """A dataset cannot be read or is not usable market data."""


class ParameterError(SsotsError, ValueError):
    """An argument or option has an invalid value."""
