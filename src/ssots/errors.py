"""Errors the program expects and explains, and the one table saying how each interface
answers them: the API with an HTTP status and JSON ``{"detail": message}``, the CLI with
the message on stderr (no traceback) and an exit code.

The tree (HTTP status, CLI exit code; a class without a row takes its nearest base's)::

    SsotsError                  400, 2   base: the message says what was wrong, what to do
    ├── ParameterError          422, 2   an argument or option has an invalid value
    │   │                                (also a ValueError)
    │   └── InvalidFieldsError  422, 2   named request fields are invalid: the API lists
    │                                    one issue per field, like a validation error
    ├── MissingParameterError   400, 2   a required argument is absent
    ├── DataError               422, 2   a dataset cannot be read or is not market data
    │   └── TooLargeError       413, 2   an upload is larger than the limit
    ├── NotFoundError           404, 2   no such job, dataset, or file of a job
    │   └── store.jobs.JobNotFoundError
    ├── ConflictError           409, 2   the resource's state forbids the action
    ├── QueueFullError          429, 2   the job queue is full (the API adds Retry-After)
    ├── AuthenticationError     401, 2   missing or wrong API token (WWW-Authenticate)
    ├── UpstreamError           502, 2   a service we depend on failed or refused
    │   └── data.kaggle.errors.KaggleError, KaggleAuthError
    └── UnavailableError        503, 1   this service cannot answer now (its database)

Errors defined in other modules take their row by subclassing one of these bases (never
a row of their own and never an import from here upward): ``JobNotFoundError`` is a
``NotFoundError``, ``KaggleError`` an ``UpstreamError``. ``error_code`` walks the MRO,
so the most specific row wins.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple


class SsotsError(Exception):
    """Base class of every error the program expects: its message says what was wrong and
    what to do about it."""


class ParameterError(SsotsError, ValueError):
    """An argument or option has an invalid value."""


@dataclass(frozen=True)
class FieldIssue:
    """What is wrong with one named field of a request."""

    field: str
    message: str
    kind: str = "value_error"
    """What kind of mistake (pydantic's error type when pydantic found it)."""


class InvalidFieldsError(ParameterError):
    """One or more named fields of a request have invalid values.

    Args:
        issues: one per field, in the order found.
    """

    def __init__(self, issues: Iterable[FieldIssue]) -> None:
        self.issues = tuple(issues)
        super().__init__("; ".join(_issue_text(i.field, i.message) for i in self.issues))

    @classmethod
    def one(cls, field: str, message: str) -> InvalidFieldsError:
        """The error of a single invalid ``field``."""
        return cls([FieldIssue(field, message)])


def _issue_text(name: str, message: str) -> str:
    """"`--split` must be ..." reads as a sentence; other messages follow a colon."""
    return f"`{name}` {message}" if message.startswith("must ") else f"`{name}`: {message}"


class MissingParameterError(SsotsError):
    """A required argument is absent."""


class DataError(SsotsError):
    """A dataset cannot be read or is not usable market data."""


class TooLargeError(DataError):
    """Data larger than allowed, e.g. an upload or a gzip file that expands past the limit
    (a zip bomb); ``limit`` is the largest size accepted, in bytes."""

    def __init__(self, message: str, *, limit: int) -> None:
        super().__init__(message)
        self.limit = limit


class NotFoundError(SsotsError):
    """Nothing has the id or name asked for."""


class ConflictError(SsotsError):
    """The resource's current state does not allow the action (e.g. cancelling a job that
    already succeeded)."""


class QueueFullError(SsotsError):
    """The queue holds as many jobs as the limit allows; nothing was created."""


class AuthenticationError(SsotsError):
    """The API token is missing or wrong."""


class UpstreamError(SsotsError):
    """A service this program depends on (Kaggle) could not be reached or refused."""


class UnavailableError(SsotsError):
    """This service cannot answer now (its database does not respond)."""


class ErrorCode(NamedTuple):
    """How the interfaces answer an error."""

    http: int
    """HTTP status of the API's answer."""
    exit: int
    """Exit code of the CLI."""


USER_ERROR_EXIT = 2
"""The CLI's exit code for a mistake the user can fix (as click's usage errors)."""

ERROR_CODES: dict[type[SsotsError], ErrorCode] = {
    SsotsError: ErrorCode(400, USER_ERROR_EXIT),
    ParameterError: ErrorCode(422, USER_ERROR_EXIT),
    InvalidFieldsError: ErrorCode(422, USER_ERROR_EXIT),
    MissingParameterError: ErrorCode(400, USER_ERROR_EXIT),
    DataError: ErrorCode(422, USER_ERROR_EXIT),
    TooLargeError: ErrorCode(413, USER_ERROR_EXIT),
    NotFoundError: ErrorCode(404, USER_ERROR_EXIT),
    ConflictError: ErrorCode(409, USER_ERROR_EXIT),
    QueueFullError: ErrorCode(429, USER_ERROR_EXIT),
    AuthenticationError: ErrorCode(401, USER_ERROR_EXIT),
    UpstreamError: ErrorCode(502, USER_ERROR_EXIT),
    UnavailableError: ErrorCode(503, 1),
}
"""Error type -> how the API and the CLI answer it: the one table."""


def error_code(exc: SsotsError) -> ErrorCode:
    """The row of the most specific class of ``exc`` in ``ERROR_CODES``."""
    return next(ERROR_CODES[kind] for kind in type(exc).__mro__ if kind in ERROR_CODES)
