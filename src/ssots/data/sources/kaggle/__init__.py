"""Kaggle: live search, download and file selection, with safe credentials.

Everything goes through Kaggle's own client libraries (``client``), with a client scoped
to each call. No secret is ever part of a message, log line, exception or file written
here. This package registers nothing: ``ssots.services.datasets`` loads the chosen file
and registers it.

- ``credentials``: which credentials are in use (``credential_status``).
- ``errors``: ``KaggleError``, failure classification, secret-safe messages.
- ``client``: ``RetryPolicy``, the library call wrapper, ``search``, ``download``,
  ``check_credentials``.
- ``handles``: ``parse_handle``, ``parse_ref``, ``record_name``, ``check_symbol``,
  ``check_file``.
- ``selection``: which file of a download is the OHLCV file; one coin's rows.
"""

from __future__ import annotations

from ssots.data.sources.kaggle.client import (
    DEFAULT_RETRY,
    AuthCheck,
    RetryPolicy,
    SearchHit,
    check_credentials,
    download,
    search,
)
from ssots.data.sources.kaggle.credentials import (
    HOW_TO_SET_CREDENTIALS,
    CredentialStatus,
    credential_status,
)
from ssots.data.sources.kaggle.errors import KaggleAuthError, KaggleError
from ssots.data.sources.kaggle.handles import (
    KAGGLE,
    check_file,
    check_symbol,
    parse_handle,
    parse_ref,
    record_name,
)
from ssots.data.sources.kaggle.selection import (
    Choice,
    choose,
    extract_rows,
    list_files,
    quote_of,
)

__all__ = [
    "DEFAULT_RETRY",
    "HOW_TO_SET_CREDENTIALS",
    "KAGGLE",
    "AuthCheck",
    "Choice",
    "CredentialStatus",
    "KaggleAuthError",
    "KaggleError",
    "RetryPolicy",
    "SearchHit",
    "check_credentials",
    "check_file",
    "check_symbol",
    "choose",
    "credential_status",
    "download",
    "extract_rows",
    "list_files",
    "parse_handle",
    "parse_ref",
    "quote_of",
    "record_name",
    "search",
]
