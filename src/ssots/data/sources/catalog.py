"""The curated catalog of Kaggle crypto datasets that ``ssots data list`` shows.

Each entry says what the dataset's files hold. ``kind`` is ``ohlcv`` (price bars SSO-TS can
train on) or ``sentiment`` (a non-price series: it can be fetched, never trained on).
Where the file layout could not be checked against the dataset itself, the entry says so;
``ssots data fetch`` always lists the real files and detects the OHLCV one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class CatalogEntry:
    """One curated dataset.

    Attributes:
        handle: Kaggle handle, ``owner/slug``.
        title: the dataset's title.
        kind: ``ohlcv`` or ``sentiment``.
        files: which file holds what (coin, bar spacing, layout).
        description: one line on what it is good for.
    """

    handle: str
    title: str
    kind: Literal["ohlcv", "sentiment"]
    files: str
    description: str


CATALOG: tuple[CatalogEntry, ...] = (
    CatalogEntry(
        "sudalairajkumar/cryptocurrencypricehistory",
        "Cryptocurrency Historical Prices",
        "ohlcv",
        "one daily OHLCV file per coin: coin_Bitcoin.csv, coin_Ethereum.csv, ... (23 coins, "
        "CoinMarketCap, 2013-2021, with Marketcap); --symbol BTC picks coin_Bitcoin.csv",
        "Clean daily bars for the major coins; the easiest start.",
    ),
    CatalogEntry(
        "mczielinski/bitcoin-historical-data",
        "Bitcoin Historical Data",
        "ohlcv",
        "one file of Bitstamp BTC/USD 1-minute OHLCV since 2012 (unix-second Timestamp); "
        "several hundred MB",
        "Long intraday Bitcoin history for minute-bar strategies.",
    ),
    CatalogEntry(
        "mczaryko/bitcoin-price-prediction",
        "Bitcoin Price Prediction",
        "ohlcv",
        "bitcoin_price_Training - Training.csv: daily BTC OHLCV with Market Cap "
        "(CoinMarketCap export, newest first, 2013-2017); bitcoin_price_1week_Test - Test.csv: "
        "the following week only (too short to train on)",
        "Small daily Bitcoin set offered by the earlier system.",
    ),
    CatalogEntry(
        "jessevent/all-crypto-currencies",
        "Cryptocurrency Historical Prices (all coins)",
        "ohlcv",
        "crypto-markets.csv: daily OHLCV of about 2,000 coins in one long table (a `symbol` "
        "column per row, 2013-2018); pass --symbol to take one coin's rows",
        "Broad daily coverage of small and large coins.",
    ),
    CatalogEntry(
        "tencars/392-crypto-currency-pairs-at-minute-resolution",
        "400+ crypto currency pairs at 1-minute resolution",
        "ohlcv",
        "one 1-minute OHLCV file per Bitfinex pair: btcusd.csv, ethusd.csv, ... (unix-ms "
        "time; columns open, close, high, low, volume); --symbol BTC picks btcusd.csv",
        "Minute bars for hundreds of pairs.",
    ),
    CatalogEntry(
        "tencars/392-crypto-currency-prices-new-data",
        "Crypto currency prices (new data)",
        "ohlcv",
        "the handle the earlier system used for Carsten Klein's Bitfinex minute data; the "
        "file layout is not verified here: `ssots data fetch` lists the files and detects "
        "the OHLCV one (--symbol BTC looks for btcusd.csv)",
        "Multi-year minute bars; if Kaggle no longer knows the handle, use the entry above.",
    ),
    CatalogEntry(
        "kaushikjadhav01/ethereum-price-prediction-dataset",
        "Ethereum Price Prediction Dataset",
        "ohlcv",
        "Ethereum (ETH) price history; the file layout is not verified here: `ssots data "
        "fetch` lists the files and detects the OHLCV one",
        "Ethereum history offered by the earlier system.",
    ),
    CatalogEntry(
        "gpreda/crypto-fear-greed-index",
        "Crypto Fear & Greed Index",
        "sentiment",
        "a daily sentiment index (0 = extreme fear .. 100 = extreme greed) with its "
        "classification; no prices, so not OHLCV",
        "Market sentiment to study beside prices; `ssots data fetch` stores it, training "
        "refuses it.",
    ),
)


def catalog_entry(handle: str) -> CatalogEntry | None:
    """The catalog entry of ``handle`` (case-insensitive), or None."""
    wanted = handle.lower()
    return next((entry for entry in CATALOG if entry.handle.lower() == wanted), None)
