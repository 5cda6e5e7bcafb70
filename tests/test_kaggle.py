"""Kaggle catalog, search, fetch, registration and training, with Kaggle's real client
libraries (kagglesdk, kagglehub) talking to the fake Kaggle server of ``fake_kaggle``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import kagglehub  # noqa: F401 - imported here so its log handler binds outside CliRunner
import pytest
from typer.testing import CliRunner

from fake_kaggle import (
    CLEARED_VARIABLES,
    GOOD_KEY,
    GOOD_TOKEN,
    GOOD_USER,
    FakeDataset,
    FakeKaggle,
    environment,
    standard_datasets,
)
from ssots.cli import app
from ssots.config import Settings
from ssots.data.sources import kaggle
from ssots.data.sources.catalog import CATALOG
from ssots.data.sources.kaggle import client, selection
from ssots.data.sources.reference import (
    DemoRef,
    FileRef,
    KaggleRef,
    RegisteredRef,
    parse_reference,
)
from ssots.errors import ParameterError
from ssots.services.datasets import resolve
from ssots.store.datasets import DatasetRegistry

runner = CliRunner()
BTC_HANDLE = "sudalairajkumar/cryptocurrencypricehistory"
PRIVATE = "someone/private-bitcoin"


@pytest.fixture(scope="session")
def datasets(real_data_dir: Path) -> list[FakeDataset]:
    """The fake's datasets (zipped once per session)."""
    return standard_datasets(real_data_dir)


@pytest.fixture
def fake(tmp_path: Path, datasets: list[FakeDataset], monkeypatch: pytest.MonkeyPatch,
         ) -> Iterator[FakeKaggle]:
    """A running fake Kaggle with the standard datasets; the environment points the real
    clients at it; retries are quick."""
    server = FakeKaggle().start()
    for dataset in datasets:
        server.add(dataset)
    server.tokens[GOOD_TOKEN] = GOOD_USER
    server.keys[(GOOD_USER, GOOD_KEY)] = GOOD_USER
    for name in CLEARED_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name, value in environment(server, tmp_path).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(client, "DEFAULT_RETRY", kaggle.RetryPolicy(
        attempts=3, base_delay=0.01, max_delay=0.05, timeout=(2.0, 2.0)))
    yield server
    server.stop()


def _ok(*args: str) -> str:
    """Run a command that must succeed; its stdout with whitespace runs made single spaces
    (the console wraps at 80 columns)."""
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return _flat(result.stdout)


def _flat(text: str) -> str:
    return " ".join(text.split())


def _fails(*args: str) -> str:
    """Run a command that must fail as a user error; its one-line message."""
    result = runner.invoke(app, list(args))
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    return _flat(result.stderr)


def _registered() -> list[str]:
    return [record.name for record in DatasetRegistry(Settings.from_env()).list()]


# ------------------------------------------------------------------ catalog and search


def test_catalog_lists_the_earlier_datasets_and_ohlcv_sets() -> None:
    wanted = {
        "mczaryko/bitcoin-price-prediction", "jessevent/all-crypto-currencies",
        "tencars/392-crypto-currency-prices-new-data",
        "kaushikjadhav01/ethereum-price-prediction-dataset", "gpreda/crypto-fear-greed-index",
        "sudalairajkumar/cryptocurrencypricehistory", "mczielinski/bitcoin-historical-data",
    }
    assert wanted <= {entry.handle for entry in CATALOG}
    assert {e.handle for e in CATALOG if e.kind == "sentiment"} == {
        "gpreda/crypto-fear-greed-index"}
    output = _ok("data", "list")
    assert all(handle in output for handle in wanted)
    assert "sentiment, not OHLCV" in output


def test_search_shows_handle_title_size_update_and_votes(fake: FakeKaggle) -> None:
    output = _ok("data", "search", "bitcoin")
    assert "mczielinski/bitcoin-historical-data" in output
    assert "Bitcoin Historical Data" in output
    for shown in ("2021-07-07", "3000", "KB"):
        assert shown in output
    assert PRIVATE not in output
    limited = _ok("data", "search", "bitcoin", "--limit", "1")
    assert limited.count(" votes)") == 1
    assert "No Kaggle datasets match" in _ok("data", "search", "dogecoin", "lasers")


# ------------------------------------------------------------------ fetch: selection modes


def test_fetch_by_symbol_registers_the_coin_file(fake: FakeKaggle) -> None:
    output = _ok("data", "fetch", BTC_HANDLE, "--symbol", "btc")
    assert "coin_Ethereum.csv" in output  # every file is listed
    name = f"kaggle:{BTC_HANDLE}/coin_Bitcoin.csv"
    assert _registered() == [name]
    listing = _ok("data", "ls")
    for shown in (name, "kaggle", "2,991", "2013-04-29 .. 2021-07-06", "1d"):
        assert shown in listing


def test_fetch_by_file(fake: FakeKaggle) -> None:
    _ok("data", "fetch", BTC_HANDLE, "--file", "coin_Ethereum.csv")
    (record,) = DatasetRegistry(Settings.from_env()).list()
    assert (record.handle, record.source) == (BTC_HANDLE, "kaggle")
    assert (record.file_name, record.rows) == ("coin_Ethereum.csv", 2160)
    assert record.path.is_relative_to(Settings.from_env().datasets_dir)
    assert "has no file 'coin_Dogecoin.csv'" in _fails("data", "fetch", BTC_HANDLE, "--file",
                                                       "coin_Dogecoin.csv")


def test_fetch_picks_the_single_file_that_loads_as_ohlcv(fake: FakeKaggle) -> None:
    output = _ok("data", "fetch", "https://www.kaggle.com/datasets/mczielinski/"
                 "bitcoin-historical-data")
    assert "notes/columns.csv" in output
    assert _registered() == ["kaggle:mczielinski/bitcoin-historical-data/btcusd_1-min_data.csv"]


def test_several_ohlcv_files_are_listed_and_nothing_is_registered(fake: FakeKaggle) -> None:
    message = _fails("data", "fetch", BTC_HANDLE)
    assert "several OHLCV files: coin_Bitcoin.csv, coin_Ethereum.csv" in message
    assert "--file" in message
    message = _fails("data", "fetch", "someone/mixed-market-data", "--symbol", "BTC")
    assert "several OHLCV files for BTC: BTC-USD.csv, BTCUSDT-1h-2022-01.csv" in message
    assert _registered() == []


def test_multi_coin_table_needs_a_symbol_and_takes_its_rows(fake: FakeKaggle) -> None:
    message = _fails("data", "fetch", "jessevent/all-crypto-currencies")
    assert "holds 2 coins in its `symbol` column (BTC, ETH); pass --symbol" in message
    _ok("data", "fetch", "jessevent/all-crypto-currencies", "--symbol", "ETH")
    (record,) = DatasetRegistry(Settings.from_env()).list()
    assert record.name == "kaggle:jessevent/all-crypto-currencies/crypto-markets.csv#ETH"
    assert (record.rows, record.start.year) == (2160, 2015)


def test_sentiment_dataset_is_stored_but_never_trained_on(fake: FakeKaggle, tmp_path: Path,
                                                          ) -> None:
    output = _ok("data", "fetch", "gpreda/crypto-fear-greed-index")
    assert "sentiment series, not OHLCV" in output
    assert list(Path(tmp_path / "home" / "kagglehub").rglob("fear_greed_index.csv"))
    assert _registered() == []
    message = _fails("train", "--dataset", "kaggle:gpreda/crypto-fear-greed-index",
                     "--output", str(tmp_path / "w.json"))
    assert "is a sentiment series" in message
    assert not (tmp_path / "w.json").exists()


def test_dataset_without_prices_is_refused_with_each_files_reason(fake: FakeKaggle) -> None:
    message = _fails("data", "fetch", "someone/word-counts")
    assert "no file of someone/word-counts loads as OHLCV prices (about.txt: " in message
    assert "; counts.csv: " in message
    assert _registered() == []


# ------------------------------------------------------------------ credentials and failures


def test_public_dataset_downloads_without_credentials(fake: FakeKaggle) -> None:
    _ok("data", "fetch", BTC_HANDLE, "--symbol", "ETH")
    assert set(fake.auth_seen) == {"none"}


def test_missing_credentials_say_how_to_set_them(fake: FakeKaggle) -> None:
    message = _fails("data", "fetch", PRIVATE)
    for shown in ("requires credentials", "none are set", "KAGGLE_API_TOKEN", "kaggle.json"):
        assert shown in message
    assert _registered() == []


def test_rejected_token_401(fake: FakeKaggle, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAGGLE_API_TOKEN", "KGAT_revoked_9999")
    message = _fails("data", "fetch", BTC_HANDLE)
    assert "rejected the credentials from the KAGGLE_API_TOKEN environment variable" in message
    assert "KGAT_revoked_9999" not in message
    assert fake.calls["GetDataset"] == 1  # a rejection is not retried


def test_forbidden_403(fake: FakeKaggle, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAGGLE_USERNAME", GOOD_USER)
    monkeypatch.setenv("KAGGLE_KEY", GOOD_KEY)
    message = _fails("data", "fetch", PRIVATE)
    assert "(HTTP 403)" in message
    assert "credentials from the KAGGLE_USERNAME and KAGGLE_KEY" in message
    assert set(fake.auth_seen) == {"basic"}


def test_unknown_handle_404_hints_at_search(fake: FakeKaggle) -> None:
    message = _fails("data", "fetch", "nobody/no-such-data")
    assert "no dataset nobody/no-such-data (HTTP 404 not found)" in message
    assert "ssots data search" in message
    assert "is not a Kaggle dataset handle" in _fails("data", "fetch", "not a handle")


def test_429_is_retried_then_succeeds(fake: FakeKaggle) -> None:
    fake.fail("GetDataset", 429, 429)
    _ok("data", "fetch", BTC_HANDLE, "--symbol", "BTC")
    assert fake.calls["GetDataset"] == 3
    assert len(_registered()) == 1


def test_500_is_retried_then_reported(fake: FakeKaggle) -> None:
    fake.fail("DownloadDataset", 500, 500, 500)
    message = _fails("data", "fetch", BTC_HANDLE, "--symbol", "BTC")
    assert "server error (HTTP 500) for the dataset" in message
    assert "3 attempts" in message
    assert fake.calls["DownloadDataset"] == 3
    assert _registered() == []


def test_timeouts_are_retried(fake: FakeKaggle) -> None:
    fake.fail("ListDatasets", "slow")
    assert "Bitcoin Historical Data" in _ok("data", "search", "bitcoin")
    assert fake.calls["ListDatasets"] == 2


def test_download_cut_off_midway_registers_nothing(fake: FakeKaggle, tmp_path: Path) -> None:
    # Every blob request is cut: the first try's, then each retry's redirect and the
    # kagglehub resumption of the partial archive (two requests per retry).
    fake.fail("blob", *["cut"] * 5)
    message = _fails("data", "fetch", BTC_HANDLE, "--symbol", "BTC")
    assert "cut off for the dataset" in message
    assert "nothing was registered" in message
    assert _registered() == []
    assert not list((tmp_path / "home" / "kagglehub").rglob("coin_Bitcoin.csv"))
    fake.fail("blob", "cut")  # cut once more: the retry completes it
    _ok("data", "fetch", BTC_HANDLE, "--symbol", "BTC")
    assert len(_registered()) == 1


def test_cache_is_reused_and_force_downloads_again(fake: FakeKaggle) -> None:
    _ok("data", "fetch", BTC_HANDLE, "--symbol", "BTC")
    _ok("data", "fetch", BTC_HANDLE, "--symbol", "BTC")
    assert fake.calls["blob"] == 1
    _ok("data", "fetch", BTC_HANDLE, "--symbol", "BTC", "--force")
    assert fake.calls["blob"] == 2
    assert len(_registered()) == 1


def test_auth_check_reports_source_and_acceptance(fake: FakeKaggle,
                                                  monkeypatch: pytest.MonkeyPatch,
                                                  tmp_path: Path) -> None:
    assert "No Kaggle credentials found" in _ok("data", "auth-check")
    monkeypatch.setenv("KAGGLE_API_TOKEN", GOOD_TOKEN)
    output = _ok("data", "auth-check")
    assert f"KAGGLE_API_TOKEN environment variable Kaggle accepts them (user {GOOD_USER})" in output
    assert GOOD_TOKEN not in output
    monkeypatch.setenv("KAGGLE_API_TOKEN", "KGAT_revoked_9999")
    assert "Kaggle rejected them" in _fails("data", "auth-check")

    monkeypatch.delenv("KAGGLE_API_TOKEN")
    config = tmp_path / "kaggle-config" / "kaggle.json"
    config.parent.mkdir()
    config.write_text(json.dumps({"username": GOOD_USER, "key": GOOD_KEY}))
    config.chmod(0o644)
    result = runner.invoke(app, ["data", "auth-check"])
    assert result.exit_code == 0, result.output
    assert "Credentials: kaggle.json at" in _flat(result.stdout)
    assert "Kaggle accepts them (user fake-user)" in _flat(result.stdout)
    assert "readable by group or others (mode 644); run `chmod 600" in _flat(result.stderr)
    config.chmod(0o600)
    assert "readable" not in runner.invoke(app, ["data", "auth-check"]).stderr
    config.write_text("{not json")
    assert "is not a JSON object with `username` and `key`" in _fails("data", "auth-check")


def test_credential_sources_follow_the_libraries(fake: FakeKaggle, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(GOOD_TOKEN)
    token_file.chmod(0o640)
    monkeypatch.setenv("KAGGLE_API_TOKEN", str(token_file))
    status = kaggle.credential_status()
    assert status.source == f"the token file named by KAGGLE_API_TOKEN ({token_file})"
    assert "readable by group or others (mode 640)" in status.warnings[0]
    assert kaggle.check_credentials().accepted  # kagglesdk read the token from the file
    monkeypatch.setenv("KAGGLE_API_TOKEN", "x" * 5000)  # too long for a file name
    assert kaggle.credential_status().source == "the KAGGLE_API_TOKEN environment variable"
    monkeypatch.delenv("KAGGLE_API_TOKEN")
    monkeypatch.setenv("KAGGLE_USERNAME", GOOD_USER)
    status = kaggle.credential_status()
    assert status.source is None
    assert "only one of KAGGLE_USERNAME and KAGGLE_KEY is set" in status.warnings[0]


# ------------------------------------------------------------------ training on kaggle: data


def test_train_fetches_a_kaggle_dataset_on_first_use(fake: FakeKaggle, tmp_path: Path) -> None:
    output = tmp_path / "w.json"
    ref = f"kaggle:{BTC_HANDLE}/coin_Bitcoin.csv"
    _ok("train", "--dataset", ref, "--epochs", "20", "--output", str(output))
    document = json.loads(output.read_text())
    assert (document["data"]["name"], document["data"]["rows"]) == (ref, 2991)
    assert fake.calls["blob"] == 1
    fake.fail("GetDataset", 500, 500, 500)  # registered: no Kaggle call is needed any more
    _ok("train", "--dataset", f"kaggle:{BTC_HANDLE}", "--epochs", "5", "--force",
        "--output", str(output))
    assert fake.calls["GetDataset"] == 1


def test_resolve_kaggle_references(fake: FakeKaggle) -> None:
    settings = Settings.from_env()
    dataset = resolve("kaggle:jessevent/all-crypto-currencies#BTC", settings)
    assert (dataset.kind, len(dataset.frame)) == ("kaggle", 2991)
    assert dataset.name == "kaggle:jessevent/all-crypto-currencies/crypto-markets.csv#BTC"
    assert resolve(dataset.name, settings).sha256 == dataset.sha256
    resolve("kaggle:jessevent/all-crypto-currencies#ETH", settings)
    with pytest.raises(ParameterError, match="several files of jessevent"):
        resolve("kaggle:jessevent/all-crypto-currencies", settings)


def test_demo_fallback_only_when_asked_and_loudly(fake: FakeKaggle, tmp_path: Path) -> None:
    output = tmp_path / "w.json"
    args = ("train", "--dataset", f"kaggle:{PRIVATE}", "--epochs", "5", "--output", str(output))
    assert "requires credentials" in _fails(*args)
    assert not output.exists()
    result = runner.invoke(app, [*args, "--demo-fallback"])
    assert result.exit_code == 0, result.output
    assert "SYNTHETIC DATA" in result.stderr
    assert "training on SYNTHETIC demo prices" in _flat(result.stderr)
    assert json.loads(output.read_text())["data"]["name"].startswith("demo")


# ------------------------------------------------------------------ parsing and naming


@pytest.mark.parametrize(("name", "symbol", "quote"), [
    ("coin_Bitcoin.csv", "BTC", ""), ("btcusd.csv", "BTC", "usd"), ("btceur.csv", "BTC", "eur"),
    ("BTCUSDT-1h-2022-01.csv", "BTC", "usdt"), ("data/BTC-USD.csv", "BTC", "usd"),
    ("ethbtc.csv", "BTC", None), ("coin_Ethereum.csv", "BTC", None), ("ethusd.csv", "ETH", "usd"),
])
def test_files_named_for_a_symbol(name: str, symbol: str, quote: str | None) -> None:
    assert selection.quote_of(name, symbol) == quote


def test_parse_ref() -> None:
    assert kaggle.parse_ref("kaggle:a/b") == ("a/b", None, None)
    assert kaggle.parse_ref("kaggle:a/b/dir/f.csv#eth") == ("a/b", "dir/f.csv", "ETH")
    with pytest.raises(ParameterError, match="symbol"):
        kaggle.parse_ref("kaggle:a/b#not a ticker")
    with pytest.raises(ParameterError, match="handle"):
        kaggle.parse_ref("kaggle:just-one-part")


def test_parse_reference_names_one_kind_each(tmp_path: Path) -> None:
    prices = tmp_path / "prices.csv"
    prices.write_text("time,close\n")
    assert parse_reference("demo") == DemoRef()
    assert parse_reference(str(prices)) == FileRef(prices)
    assert parse_reference(str(prices), files=False) == RegisteredRef(str(prices))
    assert parse_reference("3f2a9c01b7de") == RegisteredRef("3f2a9c01b7de")
    ref = parse_reference("kaggle:a/b/dir/f.csv#eth")
    assert ref == KaggleRef("a/b", "dir/f.csv", "ETH")
    assert str(ref) == "kaggle:a/b/dir/f.csv#ETH"
    assert str(parse_reference("kaggle:a/b#btc")) == "kaggle:a/b#BTC"
    with pytest.raises(ParameterError, match="handle"):
        parse_reference("kaggle:just-one-part")


@pytest.mark.parametrize("command", [
    ["data", "list"], ["data", "search"], ["data", "fetch"], ["data", "ls"],
    ["data", "auth-check"], ["train"],
])
def test_every_command_has_help(command: list[str]) -> None:
    assert "Usage" in _ok(*command, "--help")
