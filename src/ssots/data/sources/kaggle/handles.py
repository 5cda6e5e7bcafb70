"""Kaggle dataset handles (``owner/slug``) and ``kaggle:`` dataset references."""

from __future__ import annotations

import re

from ssots.errors import ParameterError

KAGGLE = "kaggle:"
"""Prefix of Kaggle references: ``kaggle:OWNER/SLUG[/FILE][#SYMBOL]``."""

_HANDLE = re.compile(r"^[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*$")
_URL_PREFIX = re.compile(r"^https?://(www\.)?kaggle\.com/datasets/")
_SYMBOL = re.compile(r"^[A-Za-z0-9]{1,15}$")


def parse_handle(text: str) -> str:
    """``owner/slug`` from a handle or a kaggle.com dataset URL.

    Raises:
        ParameterError: not of that form.
    """
    handle = _URL_PREFIX.sub("", text.strip()).strip("/")
    if not _HANDLE.match(handle):
        raise ParameterError(
            f"{text!r} is not a Kaggle dataset handle; pass owner/slug, e.g. "
            "sudalairajkumar/cryptocurrencypricehistory (`ssots data search` finds them)"
        )
    return handle


def parse_ref(ref: str) -> tuple[str, str | None, str | None]:
    """Split ``kaggle:OWNER/SLUG[/FILE][#SYMBOL]`` into (handle, file, symbol).

    Raises:
        ParameterError: malformed handle, file path or symbol.
    """
    rest, _, symbol = ref.removeprefix(KAGGLE).partition("#")
    parts = rest.split("/", 2)
    handle = parse_handle("/".join(parts[:2]))
    file = check_file(parts[2]) if len(parts) == 3 and parts[2] else None
    return handle, file, check_symbol(symbol) if symbol else None


def check_file(file: str | None) -> str | None:
    """``file``, a path inside a dataset's download, or None.

    Raises:
        ParameterError: it leaves the download: a ``..`` or ``.`` part, an absolute path
            or a drive, a backslash, or a control character.
    """
    if file is None:
        return None
    parts = file.split("/")
    if (
        file.startswith("/")
        or any(part in (".", "..") for part in parts)
        or "\\" in file
        or ":" in parts[0]
        or any(ord(char) < 32 for char in file)
    ):
        raise ParameterError(
            f"`--file` must name a file inside the dataset, e.g. coin_Bitcoin.csv or "
            f"data/btc.csv, without `..`, `.`, a leading `/` or a backslash; got {file!r}"
        )
    return file


def check_symbol(symbol: str | None) -> str | None:
    """``symbol`` upper-cased, or None.

    Raises:
        ParameterError: not a ticker of 1 to 15 letters and digits.
    """
    if symbol is None:
        return None
    if not _SYMBOL.match(symbol):
        raise ParameterError(f"`--symbol` must be a ticker such as BTC or ETH, got {symbol!r}")
    return symbol.upper()


def record_name(handle: str, file: str, symbol: str | None = None) -> str:
    """The registry name of a Kaggle file: ``kaggle:OWNER/SLUG/FILE[#SYMBOL]``, which is
    also a valid ``--dataset`` value."""
    return f"{KAGGLE}{handle}/{file}" + (f"#{symbol}" if symbol else "")
