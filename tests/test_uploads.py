"""Dataset uploads: a corpus of unusable files each answered with a 4xx and a useful
message (nothing registered), awkward but usable files accepted with the loader's repair
report, and the dataset endpoints around them."""

from __future__ import annotations

import gzip
import io
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from ssots.data import MIN_ROWS, demo
from ssots.store.datasets import CANONICAL_FILE
from ssots.web import create_app
from web_support import TestClient, make_settings

LIMIT = 2 * 1024 * 1024
REAL_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "real"


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("uploads")


@pytest.fixture(scope="module")
def client(home: Path) -> Iterator[TestClient]:
    settings = make_settings(home, max_upload_mb=LIMIT // (1024 * 1024))
    with TestClient(create_app(settings, workers=0)) as test_client:
        yield test_client


def bars(days: int = 200) -> pd.DataFrame:
    """Canonical daily bars with the time as a column."""
    return demo(days=days, seed=3).reset_index()


def csv(frame: pd.DataFrame, **options: Any) -> bytes:
    return frame.to_csv(index=False, **options).encode()


def upload(client: TestClient, content: bytes, filename: str = "prices.csv", **kwargs: Any) -> Any:
    return client.post("/api/datasets", files={"file": (filename, content)}, **kwargs)


def registered(client: TestClient) -> list[str]:
    return [d["id"] for d in client.get("/api/datasets").json()["datasets"] if d["registered"]]


def _zip_bomb() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("prices.csv", b"0" * (50 * 1024 * 1024))
    return buffer.getvalue()


def _parquet_bomb(rows: int) -> bytes:
    """``rows`` valid OHLCV bars in a few kilobytes (constant prices, delta-encoded
    times): small on the wire, hundreds of megabytes once decoded."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    ones = pa.array(np.ones(rows))
    times = pa.array(1_500_000_000 + 60 * np.arange(rows, dtype=np.int64))
    prices = dict.fromkeys(("open", "high", "low", "close", "volume"), ones)
    buffer = io.BytesIO()
    pq.write_table(
        pa.table({"time": times, **prices}),
        buffer,
        column_encoding={"time": "DELTA_BINARY_PACKED"},
        use_dictionary=list(prices),
        compression="zstd",
    )
    return buffer.getvalue()


def _million_columns() -> bytes:
    """A header of a million fields and ordinary rows, under the 2 MB limit."""
    header = b"time,open,high,low,close,volume" + b",x" * (1_000_000 - 6)
    return header + b"\n" + csv(bars()).split(b"\n", 1)[1]


def _extra_columns(frame: pd.DataFrame, count: int) -> pd.DataFrame:
    return pd.DataFrame(1.0, index=frame.index, columns=[f"extra{i}" for i in range(count)])


def _bad_corpus() -> dict[str, tuple[bytes, str]]:
    frame = bars()
    header = b"time,open,high,low,close,volume\n"
    nan_prices = frame.assign(open=np.nan, high=np.nan, low=np.nan, close=np.nan)
    negative = frame.assign(**{c: -frame[c] for c in ("open", "high", "low", "close")})
    zero = frame.assign(open=0.0, high=0.0, low=0.0, close=0.0)
    return {
        "empty": (b"", "empty.csv"),
        "header only": (header, "header.csv"),
        "binary": (bytes(range(256)) * 64, "noise.csv"),
        "html": (b"<!DOCTYPE html><html><body><h1>404 Not Found</h1></body></html>\n", "page.csv"),
        "json": (frame.to_json(orient="records", date_format="iso").encode(), "p.json"),
        "xml": (b'<?xml version="1.0"?><prices><bar close="1"/></prices>\n', "p.xml"),
        "prose": (b"Lorem ipsum dolor sit amet, consectetur adipiscing elit.\n" * 80, "notes.txt"),
        "one row": (csv(frame.head(1)), "one.csv"),
        "too few rows for the indicators": (csv(frame.head(30)), "short.csv"),
        "no close column": (csv(frame.drop(columns=["close"])), "noclose.csv"),
        "only a time column": (csv(frame[["time"]]), "times.csv"),
        "all-NaN prices": (csv(nan_prices), "nan.csv"),
        "negative prices": (csv(negative), "negative.csv"),
        "zero prices": (csv(zero), "zero.csv"),
        "text prices": (csv(frame.assign(close="n/a price")), "text.csv"),
        "unparseable dates": (csv(frame.assign(time="someday")), "dates.csv"),
        "one timestamp repeated": (csv(frame.assign(time=frame["time"].iloc[0])), "dup.csv"),
        "zip bomb renamed .csv": (_zip_bomb(), "prices.csv"),
        "gzip bomb renamed .csv": (gzip.compress(b"0" * (LIMIT * 4)), "prices.csv"),
        "truncated gzip": (gzip.compress(csv(frame))[:200], "prices.csv.gz"),
        "png renamed .csv": (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8, "chart.csv"),
        "corrupt parquet": (b"PAR1" + b"\x00garbage" * 100, "prices.parquet"),
        "too large": (header + b"2024-01-01,1,1,1,1,1\n" * (LIMIT // 20 + 1000), "big.csv"),
        "parquet bomb (3 million rows in a few KB)": (_parquet_bomb(3_000_000), "bomb.parquet"),
        "parquet bomb renamed .csv": (_parquet_bomb(3_000_000), "bomb.csv"),
        "a million columns": (_million_columns(), "wide.csv"),
        "201 columns": (csv(pd.concat([frame, _extra_columns(frame, 195)], axis=1)), "w.csv"),
    }


BAD = _bad_corpus()


@pytest.mark.parametrize("case", list(BAD))
def test_unusable_upload_answers_4xx_with_a_useful_message(
    client: TestClient,
    home: Path,
    case: str,
) -> None:
    content, filename = BAD[case]
    before = registered(client)
    response = upload(client, content, filename)
    assert 400 <= response.status_code < 500, (case, response.status_code, response.text)
    detail = response.json()["detail"]
    assert isinstance(detail, str)
    assert len(detail) > 25, detail
    assert str(home) not in detail
    assert "/tmp" not in detail
    assert registered(client) == before


def test_a_1gb_claim_with_a_small_body_is_refused_before_reading(client: TestClient) -> None:
    response = client.post(
        "/api/datasets",
        content=b"--x\r\n\r\n--x--\r\n",
        headers={"Content-Type": "multipart/form-data; boundary=x", "Content-Length": str(1024**3)},
    )
    assert response.status_code == 413
    assert "limit of 2 MB" in response.json()["detail"]


def test_an_upload_without_a_file_names_the_field(client: TestClient) -> None:
    response = client.post("/api/datasets", data={"name": "x"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "file"]


def _good_corpus() -> dict[str, tuple[bytes, str, bool]]:
    """name -> (content, file name, whether the loader must report a repair)."""
    frame = bars()
    shuffled = frame.copy()
    shuffled.loc[[60, 61, 62], "high"] = shuffled.loc[[60, 61, 62], "low"] / 2
    with_nan = frame.copy()
    with_nan.loc[[70, 71], ["open", "high", "low", "close"]] = np.nan
    seconds = frame.assign(time=frame["time"].astype("int64") // 10**9)
    parquet = io.BytesIO()
    frame.to_parquet(parquet)
    real = REAL_DATA / "coincodex_BTC_daily_newest_first.csv"
    return {
        "duplicated timestamps": (csv(pd.concat([frame, frame.iloc[10:15]])), "dups.csv", True),
        "newest first": (csv(frame.iloc[::-1]), "reversed.csv", True),
        "unix seconds": (csv(seconds), "unix_s.csv", False),
        "unix milliseconds": (csv(seconds.assign(time=seconds["time"] * 1000)), "ms.csv", False),
        "semicolons": (csv(frame, sep=";"), "semi.csv", False),
        "BOM and CRLF": (b"\xef\xbb\xbf" + csv(frame, lineterminator="\r\n"), "bom.csv", False),
        "banner lines": (
            b"Exported from SomeExchange\nBTC/USD daily\n" + csv(frame),
            "banner.csv",
            False,
        ),
        "NaN rows": (csv(with_nan), "nan_rows.csv", True),
        "inconsistent OHLC rows": (csv(shuffled), "ohlc.csv", True),
        "parquet": (parquet.getvalue(), "bars.parquet", False),
        "gzip csv": (gzip.compress(csv(frame)), "bars.csv.gz", False),
        "real newest-first export": (real.read_bytes(), real.name, True),
    }


GOOD = _good_corpus()


@pytest.mark.parametrize("case", list(GOOD))
def test_awkward_but_usable_upload_is_accepted_with_the_repair_report(
    client: TestClient,
    case: str,
) -> None:
    content, filename, repaired = GOOD[case]
    response = upload(client, content, filename)
    assert response.status_code == 201, (case, response.text)
    dataset = response.json()
    assert dataset["source"] == "upload"
    assert dataset["registered"]
    assert dataset["rows"] >= MIN_ROWS
    assert set(dataset["report"]["quality"]) >= {"gaps", "outliers", "zero_volume_runs"}
    assert dataset["train_request"] == {"datasetSource": "local", "dataset": dataset["id"]}
    assert dataset["report"]["rows"] == dataset["rows"]
    assert bool(dataset["report"]["repairs"]) is repaired, dataset["report"]["repairs"]


def test_the_upload_response_lists_gaps_outliers_and_zero_volume_runs(
    client: TestClient,
) -> None:
    frame = bars(600)
    holed = frame.drop(frame.index[200:500]).copy()
    holed.loc[0, "high"] = holed.loc[0, "close"] * 30
    holed.loc[[20, 21, 22], "volume"] = 0.0
    response = upload(client, csv(holed), "holed.csv")
    assert response.status_code == 201, response.text
    quality = response.json()["report"]["quality"]
    assert quality["gap_count"] == 1
    assert quality["gaps"][0]["after"] == frame["time"].iloc[199].isoformat()
    assert quality["gaps"][0]["missing_bars"] == 300
    assert quality["gaps_block_training"] is True
    assert [(o["time"], o["column"]) for o in quality["outliers"]] == [
        (frame["time"].iloc[0].isoformat(), "high")
    ]
    assert quality["zero_volume_runs"] == [{
        "start": frame["time"].iloc[20].isoformat(),
        "end": frame["time"].iloc[22].isoformat(),
        "bars": 3,
    }]
    detail = client.get(f"/api/datasets/{response.json()['id']}").json()
    assert detail["report"]["quality"] == quality


def test_dataset_lifecycle(client: TestClient, home: Path) -> None:
    content = csv(bars(300))
    first = upload(client, content, "../../etc/evil name.csv", data={"name": "My BTC"}).json()
    assert upload(client, content, "again.csv").json()["id"] == first["id"]  # same content
    stored = [path for path in (home / "datasets").rglob("*") if path.is_file()]
    assert stored
    assert all(path.name.startswith("upload.") or path.name == CANONICAL_FILE for path in stored)
    assert not (home.parent / "etc").exists()
    listed = client.get("/api/datasets").json()["datasets"]
    assert listed[0]["id"] == "demo"
    assert any(item["source"] == "kaggle" and not item["registered"] for item in listed)
    assert any(item["id"] == first["id"] and item["name"] == "My BTC" for item in listed)
    detail = client.get(f"/api/datasets/{first['id']}", params={"rows": 3}).json()
    assert detail["preview"]["columns"] == ["time", "open", "high", "low", "close", "volume"]
    assert len(detail["preview"]["rows"]) == 3
    assert detail["tail"]["rows"][-1][0] > detail["preview"]["rows"][-1][0]
    wide = client.get(f"/api/datasets/{first['id']}", params={"candles": 100}).json()
    assert wide["candles"]["bars_per_candle"] == 3
    assert len(wide["candles"]["rows"]) == 100
    assert wide["candles"]["rows"][0][2] == max(row[2] for row in wide["preview"]["rows"][:3])
    assert detail["report"]["rows"] == 300
    assert detail["report"]["source"] == "My BTC"  # not the server's scratch path
    demo_detail = client.get("/api/datasets/demo", params={"rows": 2}).json()
    assert demo_detail["rows"] == 1095
    assert len(demo_detail["preview"]["rows"]) == 2
    assert client.delete(f"/api/datasets/{first['id']}").status_code == 204
    assert client.get(f"/api/datasets/{first['id']}").status_code == 404
    assert client.delete(f"/api/datasets/{first['id']}").status_code == 404
    assert client.get("/api/datasets/..%2F..%2Fetc").status_code in (404, 422)
    assert client.delete("/api/datasets/demo").status_code == 409


def test_a_dataset_in_use_is_not_deleted(client: TestClient) -> None:
    dataset = upload(client, csv(bars(250)), "in_use.csv").json()
    job = client.post("/api/train", json={"datasetSource": "local", "dataset": dataset["name"]})
    assert job.status_code == 202, job.text
    spec = client.get(f"/api/jobs/{job.json()['jobId']}").json()["spec"]
    assert spec["dataset"] == dataset["id"]
    response = client.delete(f"/api/datasets/{dataset['id']}")
    assert response.status_code == 409
    assert "queued or running" in response.json()["detail"]
    client.post(f"/api/jobs/{job.json()['jobId']}/cancel")
    assert client.delete(f"/api/datasets/{dataset['id']}").status_code == 204
