"""Choosing the OHLCV file of a downloaded dataset, and extracting one coin's rows.

The file is the one passed as ``--file``; else the one named for ``--symbol``
(coin_Bitcoin.csv, BTCUSDT, BTC-USD for BTC) or, in a multi-coin table, that symbol's
rows; else the single file that loads as OHLCV.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from ssots.data.market import load, sniff, split_fields
from ssots.errors import DataError, ParameterError


@dataclass(frozen=True)
class Choice:
    """The file of a download to use.

    Attributes:
        name: its path inside the dataset.
        path: where it is on disk.
        rows_of: take only this symbol's rows (a multi-coin table), or None.
    """

    name: str
    path: Path
    rows_of: str | None = None


_DATA_SUFFIXES = (".csv", ".txt", ".tsv", ".gz", ".parquet", ".pq")
_TEXT_SUFFIXES = (".csv", ".txt", ".tsv")
_SAMPLE_BYTES = 256 * 1024
_MAX_LISTED = 12


def list_files(directory: Path) -> list[str]:
    """The files of a download (paths inside it, sorted; hidden ones left out)."""
    return sorted(
        path.relative_to(directory).as_posix()
        for path in directory.rglob("*")
        if path.is_file()
        and not any(part.startswith(".") for part in path.relative_to(directory).parts)
    )


def choose(
    directory: Path, files: tuple[str, ...], handle: str, *, file: str | None, symbol: str | None
) -> Choice:
    """The OHLCV file of the download of ``handle`` in ``directory`` (see the module).

    Raises:
        ParameterError: several files qualify (pass ``file``).
        DataError: no file qualifies, or the symbol has no rows.
    """
    if file is not None:
        return _with_rows(directory, _match_file(files, file, handle), symbol)
    data = [name for name in files if name.lower().endswith(_DATA_SUFFIXES)]
    if symbol is not None:
        named = _prefer_usd(
            [
                n
                for n in data
                if quote_of(n, symbol) is not None and _why_not_ohlcv(directory / n) is None
            ],
            symbol,
        )
        if len(named) == 1:
            return _with_rows(directory, named[0], symbol)
        if named:
            raise _ambiguous(handle, named, f"OHLCV files for {symbol}")
    usable = _ohlcv_files(directory, data, handle)
    if symbol is not None:
        usable = [name for name in usable if symbol in _coins(directory / name)[1]]
        if not usable:
            raise DataError(
                f"no OHLCV file of {handle} is named for {symbol} or has {symbol} "
                f"rows; files: {_names(files)}. Pass --file NAME"
            )
    if len(usable) > 1:
        raise _ambiguous(handle, usable, "OHLCV files")
    return _with_rows(directory, usable[0], symbol)


def _match_file(files: tuple[str, ...], file: str, handle: str) -> str:
    wanted = file.strip("/")
    for same in (
        lambda name: name == wanted,
        lambda name: name.lower() == wanted.lower(),
        lambda name: PurePosixPath(name).name.lower() == wanted.lower(),
    ):
        matches = [name for name in files if same(name)]
        if len(matches) == 1:
            return matches[0]
        if matches:
            raise _ambiguous(handle, matches, f"files named {file}")
    raise DataError(f"{handle} has no file {file!r}; its files: {_names(files)}")


def _ohlcv_files(directory: Path, data: list[str], handle: str) -> list[str]:
    reasons = {name: _why_not_ohlcv(directory / name) for name in data}
    usable = [name for name, reason in reasons.items() if reason is None]
    if not usable:
        detail = "; ".join(f"{name}: {reason}" for name, reason in list(reasons.items())[:5])
        raise DataError(
            f"no file of {handle} loads as OHLCV prices"
            + (f" ({detail})" if detail else " (it has no CSV or Parquet files)")
        )
    return usable


def _why_not_ohlcv(path: Path) -> str | None:
    """None if ``path`` loads as OHLCV (text files judged on their first 256 KB), else why."""
    try:
        if path.suffix.lower() in _TEXT_SUFFIXES and path.stat().st_size > _SAMPLE_BYTES:
            with tempfile.TemporaryDirectory(prefix="ssots-probe-") as scratch:
                sample = Path(scratch) / path.name
                sample.write_bytes(_head(path))
                try:
                    load(sample)
                except DataError as exc:
                    return str(exc).replace(str(sample), path.name)
        else:
            load(path)
    except DataError as exc:
        return str(exc).replace(str(path), path.name)
    return None


def _head(path: Path) -> bytes:
    with path.open("rb") as handle:
        data = handle.read(_SAMPLE_BYTES)
    return data[: data.rfind(b"\n") + 1] or data


# Coin names used in file names, by ticker (coin_Bitcoin.csv).
_COIN_NAMES = {
    "BTC": ("bitcoin", "xbt"),
    "ETH": ("ethereum",),
    "LTC": ("litecoin",),
    "XRP": ("ripple",),
    "ADA": ("cardano",),
    "DOGE": ("dogecoin",),
    "SOL": ("solana",),
    "BNB": ("binancecoin",),
    "DOT": ("polkadot",),
    "XMR": ("monero",),
    "XLM": ("stellar",),
    "TRX": ("tron",),
    "LINK": ("chainlink",),
    "USDT": ("tether",),
    "EOS": ("eos",),
}
_QUOTES = ("usd", "usdt", "usdc", "busd", "eur", "gbp", "jpy", "btc", "eth")
_USD_QUOTES = ("", "usd", "usdt", "usdc", "busd")


def quote_of(name: str, symbol: str) -> str | None:
    """The quote currency if ``name`` is named for ``symbol`` ("" when none is named):
    BTC -> coin_Bitcoin.csv "", btcusd.csv "usd", BTCUSDT-1h.csv "usdt", BTC-USD.csv "usd";
    None if it is not named for it."""
    tokens = re.split(r"[^a-z0-9]+", PurePosixPath(name).name.lower())
    aliases = (symbol.lower(), *_COIN_NAMES.get(symbol, ()))
    for i, token in enumerate(tokens):
        for alias in aliases:
            if token == alias:
                following = tokens[i + 1] if i + 1 < len(tokens) else ""
                return following if following in _QUOTES else ""
            if token.startswith(alias) and token[len(alias) :] in _QUOTES:
                return token[len(alias) :]
    return None


def _prefer_usd(names: list[str], symbol: str) -> list[str]:
    """Among several files for a coin, the ones quoted in US dollars (or unquoted)."""
    usd = [name for name in names if quote_of(name, symbol) in _USD_QUOTES]
    return usd if len(names) > 1 and usd else names


def _ambiguous(handle: str, names: list[str], what: str) -> ParameterError:
    return ParameterError(
        f"{handle} has several {what}: {_names(names)}; pass --file NAME, e.g. --file {names[0]!r}"
    )


def _names(names: list[str] | tuple[str, ...]) -> str:
    shown = ", ".join(names[:_MAX_LISTED])
    more = len(names) - _MAX_LISTED
    return shown + (f" and {more} more" if more > 0 else "") if names else "none"


# ------------------------------------------------------------------ multi-coin tables


_SYMBOL_COLUMNS = ("symbol", "ticker", "coin", "asset", "pair")


def _table_layout(path: Path) -> tuple[str, int, str] | None:
    """(delimiter, header line, symbol column) of a text table with a symbol column,
    its header found by the loader's sniffer."""
    if path.suffix.lower() not in _TEXT_SUFFIXES:
        return None
    text = _head(path).decode("utf-8-sig", errors="replace")
    header, delimiter, kline_names = sniff(text)
    lines = text.splitlines()
    if kline_names is not None or header >= len(lines):
        return None
    for column in split_fields(lines[header], delimiter):
        if re.sub(r"[^a-z]", "", column.lower()) in _SYMBOL_COLUMNS:
            return delimiter, header, column
    return None


def _read_table(path: Path, layout: tuple[str, int, str], *, only_symbol: bool) -> Any:
    import pandas as pd

    delimiter, header, column = layout
    return pd.read_csv(
        path,
        sep=delimiter,
        skiprows=header,
        dtype=str,
        keep_default_na=False,
        encoding="utf-8-sig",
        usecols=[column] if only_symbol else None,
    )


def _coins(path: Path) -> tuple[str | None, tuple[str, ...]]:
    """(symbol column, its distinct upper-case values), or (None, ()) without one."""
    layout = _table_layout(path)
    if layout is None:
        return None, ()
    values = _read_table(path, layout, only_symbol=True)[layout[2]].str.strip().str.upper()
    return layout[2], tuple(sorted(set(values) - {""}))


def _with_rows(directory: Path, name: str, symbol: str | None) -> Choice:
    """Choose ``name``, with one symbol's rows when it is a table of several coins."""
    column, coins = _coins(directory / name)
    if len(coins) > 1 and symbol is None:
        raise DataError(
            f"{name} holds {len(coins)} coins in its `{column}` column "
            f"({_names(list(coins))}); pass --symbol, e.g. --symbol {coins[0]}"
        )
    if symbol is not None and coins and symbol not in coins:
        raise DataError(
            f"{name} has no rows for {symbol}; its `{column}` column holds {_names(list(coins))}"
        )
    return Choice(name, directory / name, symbol if len(coins) > 1 else None)


def extract_rows(choice: Choice, scratch: Path) -> Path:
    """Write the rows of ``choice.rows_of`` to a CSV in ``scratch`` (for registration)."""
    layout = _table_layout(choice.path)
    assert layout is not None
    table = _read_table(choice.path, layout, only_symbol=False)
    rows = table[table[layout[2]].str.strip().str.upper() == choice.rows_of]
    target = scratch / f"{PurePosixPath(choice.name).stem}.{choice.rows_of}.csv"
    rows.to_csv(target, index=False)
    return target
