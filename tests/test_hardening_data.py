"""Issue 12, the data and state half: size limits checked before parsing (a Parquet bomb, a
CSV of a million columns), uploads parsed in reader processes with a time limit, one
server per SQLite home (a lock), previews served from the stored canonical frame, a
read-only or full home answered with its cause (never a 500, never a server path), and
the low items: scratch clean-up, versioned names, ``..`` in Kaggle paths, a damaged
database."""

from __future__ import annotations

import errno
import io
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import ssots.services.datasets as dataset_service
import ssots.store.home as home_files
from ssots.data import demo
from ssots.data.market import MAX_COLUMNS, MAX_ROWS, load, normalize_frame
from ssots.data.sources.kaggle import parse_ref
from ssots.data.sources.reference import parse_reference
from ssots.errors import DataError, ParameterError
from ssots.jobs import worker
from ssots.services._parsers import ParserPool
from ssots.services.datasets import load_record
from ssots.store.datasets import CANONICAL_FILE, DatasetRegistry
from ssots.store.home import HomeLock, HomeLockedError
from ssots.store.jobs import JobStore
from ssots.web import create_app
from web_support import FAST, LONG, Server, TestClient, free_port, make_settings, wait_epoch

PROJECT_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def client(home: Path) -> Iterator[TestClient]:
    with TestClient(create_app(make_settings(home), workers=0)) as test_client:
        yield test_client


def bars_csv(days: int = 200, seed: int = 3) -> bytes:
    return demo(days=days, seed=seed).reset_index().to_csv(index=False).encode()


def upload(client: TestClient, content: bytes, filename: str = "prices.csv", **kw: Any) -> Any:
    return client.post("/api/datasets", files={"file": (filename, content)}, **kw)


def registered(client: TestClient) -> list[dict[str, Any]]:
    return [d for d in client.get("/api/datasets").json()["datasets"] if d["registered"]]


def parquet_bomb(rows: int) -> bytes:
    """Valid OHLCV bars, ``rows`` of them, that compress to a few kilobytes: constant
    prices and evenly spaced times (delta-encoded)."""
    ones = pa.array(np.ones(rows))
    table = pa.table(
        {
            "time": pa.array(1_500_000_000 + 60 * np.arange(rows, dtype=np.int64)),
            **dict.fromkeys(("open", "high", "low", "close", "volume"), ones),
        }
    )
    buffer = io.BytesIO()
    pq.write_table(
        table,
        buffer,
        use_dictionary=["open", "high", "low", "close", "volume"],
        column_encoding={"time": "DELTA_BINARY_PACKED"},
        compression="zstd",
    )
    return buffer.getvalue()


# -- 2. limits before parsing --------------------------------------------------------------


def test_a_parquet_bomb_is_refused_from_its_footer(client: TestClient) -> None:
    bomb = parquet_bomb(MAX_ROWS + 1_000_000)
    assert len(bomb) < 200_000  # a small file ...
    response = upload(client, bomb, "bomb.parquet")
    assert response.status_code == 413, response.text  # ... refused, not read
    detail = response.json()["detail"]
    assert "'bomb.parquet' holds 6,000,000 rows of 6 columns" in detail
    assert "more than the limit of 200 MB" in detail
    assert registered(client) == []


def test_a_csv_of_a_million_columns_is_refused_before_parsing(client: TestClient) -> None:
    header = "time,open,high,low,close,volume," + ",".join(f"x{i}" for i in range(1_000_000))
    content = (header + "\n").encode() + bars_csv().split(b"\n", 1)[1]
    response = upload(client, content, "wide.csv")
    assert response.status_code == 422, response.text[:300]
    assert "1,000,006 columns" in response.json()["detail"]
    assert f"at most {MAX_COLUMNS} columns" in response.json()["detail"]


def test_every_format_has_the_same_row_and_column_limits(tmp_path: Path) -> None:
    long_csv = tmp_path / "long.csv"
    long_csv.write_text("time,close\n" + "1,1\n" * (MAX_ROWS + 1))
    with pytest.raises(DataError, match=f"{MAX_ROWS + 1:,} rows"):
        load(long_csv)
    bars = demo(days=100, seed=1)
    extra = pd.DataFrame(1.0, index=bars.index, columns=[f"extra{i}" for i in range(MAX_COLUMNS)])
    wide = pd.concat([bars, extra], axis=1)
    with pytest.raises(DataError, match=f"{MAX_COLUMNS + 5} columns"):
        normalize_frame(wide, source="wide frame")
    wide_parquet = tmp_path / "wide.parquet"
    wide.to_parquet(wide_parquet)
    with pytest.raises(DataError, match="columns; SSO-TS reads tables of at most"):
        load(wide_parquet)
    bomb = tmp_path / "bomb.parquet"
    bomb.write_bytes(parquet_bomb(MAX_ROWS + 1))
    with pytest.raises(DataError, match=f"has {MAX_ROWS + 1:,} rows; SSO-TS reads at most"):
        load(bomb)
    bomb.write_bytes(parquet_bomb(2_000_000))
    with pytest.raises(DataError, match="once decoded, more than the limit of 2 MB"):
        load(bomb, max_expanded_bytes=2 * 1024 * 1024)


def test_a_parse_past_the_time_limit_is_stopped_and_the_pool_recovers() -> None:
    pool = ParserPool(1, timeout=60)
    try:
        first = pool.call(os.getpid, what="x")
        assert first != os.getpid()  # parsed in a reader process
        pool.timeout = 0.5
        with pytest.raises(DataError, match=r"took longer than 0.5 s and was stopped"):
            pool.call(time.sleep, 30, what="'slow.csv'")
        pool.timeout = 60
        assert pool.call(os.getpid, what="x") not in (first, os.getpid())  # a fresh one
        with pytest.raises(DataError, match="no such file"):
            pool.call(load, Path("/nonexistent/prices.csv"), what="x")  # errors keep their type
    finally:
        pool.close()


# -- 3. one server per SQLite home -----------------------------------------------------------


def test_the_home_lock_names_its_holder_and_is_released(tmp_path: Path) -> None:
    lock = HomeLock.acquire(tmp_path, host="127.0.0.1", port=8123)
    try:
        with pytest.raises(HomeLockedError, match=rf"PID {os.getpid()}, port 8123"):
            HomeLock.acquire(tmp_path)
        with (
            pytest.raises(HomeLockedError),
            TestClient(create_app(make_settings(tmp_path), workers=0)),
        ):
            pass  # an app on a locked home does not start (nor recover anything)
    finally:
        lock.release()
    HomeLock.acquire(tmp_path).release()


@pytest.mark.slow
def test_a_second_server_on_the_same_home_refuses_and_leaves_the_first_alone(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    with Server(home) as first:
        job = first.client.post("/api/train", json=LONG).json()["jobId"]
        wait_epoch(first.client, job)
        port = free_port()
        second = subprocess.run(
            [sys.executable, "-m", "ssots", "serve", "--port", str(port), "--workers", "1"],
            env={**os.environ, "SSOTS_HOME": str(home)},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert second.returncode == 2, second.stderr
        message = second.stderr.strip()
        assert "Traceback" not in message
        assert len(message.splitlines()) <= 3  # one message (wrapped to the terminal)
        assert f"PID {first.process.pid}" in message
        assert f"port {first.port}" in message
        status = first.client.get("/api/train", params={"jobId": job}).json()
        assert status["status"] == "in_progress", status  # not "interrupted by restart"
        assert first.client.post(f"/api/jobs/{job}/cancel").status_code in (200, 202)


# -- 7. previews from the stored canonical frame ------------------------------------------


def test_registration_stores_the_canonical_frame_and_previews_read_it(
    client: TestClient, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dataset = upload(client, bars_csv(), "bars.csv").json()
    canonical = home / "datasets" / dataset["sha256"] / CANONICAL_FILE
    assert canonical.is_file()
    original = load(canonical.parent / "upload.csv")[0]
    pd.testing.assert_frame_equal(pd.read_parquet(canonical), original, check_freq=False)

    def no_parsing(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a preview parsed the original file")

    monkeypatch.setattr(dataset_service, "load", no_parsing)
    for _ in range(3):
        response = client.get(f"/api/datasets/{dataset['id']}", params={"rows": 2})
        assert response.status_code == 200, response.text
        assert len(response.json()["preview"]["rows"]) == 2


def test_an_older_dataset_gets_its_canonical_frame_once_on_first_use(
    client: TestClient, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dataset = upload(client, bars_csv(300), "old.csv").json()
    canonical = home / "datasets" / dataset["sha256"] / CANONICAL_FILE
    canonical.unlink()  # as registered before canonical frames existed
    record = DatasetRegistry(make_settings(home)).get(dataset["id"])
    parses = []
    real_load = dataset_service.load

    def counted(*args: Any, **kwargs: Any) -> Any:
        parses.append(args)
        time.sleep(0.2)  # long enough for the other readers to arrive meanwhile
        return real_load(*args, **kwargs)

    monkeypatch.setattr(dataset_service, "load", counted)
    frames: list[pd.DataFrame] = []
    readers = [
        threading.Thread(target=lambda: frames.append(load_record(record).frame)) for _ in range(4)
    ]
    for reader in readers:
        reader.start()
    for reader in readers:
        reader.join()
    assert len(parses) == 1  # four readers, one parse
    assert canonical.is_file()
    expected = real_load(record.path)[0]
    for frame in frames:
        pd.testing.assert_frame_equal(frame, expected, check_freq=False)
    assert client.get(f"/api/datasets/{dataset['id']}").status_code == 200


def test_a_damaged_canonical_frame_is_rebuilt_from_the_original(
    client: TestClient, home: Path
) -> None:
    dataset = upload(client, bars_csv(250), "damaged.csv").json()
    canonical = home / "datasets" / dataset["sha256"] / CANONICAL_FILE
    canonical.write_bytes(b"PAR1 not really")
    record = DatasetRegistry(make_settings(home)).get(dataset["id"])
    frame = load_record(record).frame
    pd.testing.assert_frame_equal(frame, load(record.path)[0], check_freq=False)
    pd.testing.assert_frame_equal(pd.read_parquet(canonical), frame, check_freq=False)


# -- 9. a read-only or full home ---------------------------------------------------------------


def _refuse(code: int, home: Path) -> Any:
    def refused(target: Path, write: Any) -> None:
        raise OSError(code, os.strerror(code), str(target))

    return refused


def test_an_upload_into_a_read_only_home_answers_503_json(
    client: TestClient, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(home_files, "write_atomically", _refuse(errno.EROFS, home))
    response = upload(client, bars_csv(), "bars.csv")
    assert response.status_code == 503, response.text
    detail = response.json()["detail"]
    assert "the home folder is read-only (errno 30, EROFS)" in detail
    assert str(home) not in detail
    assert registered(client) == []
    health = client.get("/api/health")
    assert health.status_code == 503
    assert health.json()["status"] == "degraded"
    assert health.json()["home_writable"] is False
    assert health.json()["database"] is True
    monkeypatch.undo()
    assert client.get("/api/health").json() == {
        **health.json(),
        "status": "ok",
        "home_writable": True,
        "detail": None,
    }
    assert upload(client, bars_csv(), "bars.csv").status_code == 201


def test_a_full_home_fails_the_job_with_its_cause_and_keeps_the_result(
    client: TestClient, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    job_id = client.post("/api/train", json=FAST).json()["jobId"]

    def full_disk(result: Any, path: Path) -> Any:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    monkeypatch.setattr(worker, "save_weights", full_disk)
    services = client.app.state.services  # type: ignore[attr-defined]
    store: JobStore = services.jobs
    assert worker.execute(store.claim_next(), store, services.settings).value == "failed"
    status = client.get("/api/train", params={"jobId": job_id}).json()
    assert status["status"] == "error"
    message = status["message"]
    assert "cannot write the weights file: the disk holding the home folder is full" in message
    assert "errno 28, ENOSPC" in message
    assert str(home) not in message
    assert "internal error" not in message
    assert store.get(job_id).result["parameters"]  # the trained parameters are kept


# -- low items ---------------------------------------------------------------------------------


def test_a_scratch_file_left_by_a_crash_is_removed_at_start_up(home: Path) -> None:
    left = home / "tmp" / "tmpabc123"
    left.mkdir(parents=True)
    (left / "upload.csv").write_bytes(b"half an upload")
    with TestClient(create_app(make_settings(home), workers=0)) as test_client:
        assert test_client.get("/api/health").status_code == 200
        assert not left.exists()


def test_an_upload_under_a_taken_name_gets_a_version_and_does_not_replace_it(
    client: TestClient,
) -> None:
    first = upload(client, bars_csv(seed=1), "a.csv", data={"name": "BTC daily"}).json()
    second = upload(client, bars_csv(seed=2), "b.csv", data={"name": "BTC daily"}).json()
    third = upload(client, bars_csv(seed=4), "c.csv", data={"name": "BTC daily"}).json()
    assert [first["name"], second["name"], third["name"]] == [
        "BTC daily",
        "BTC daily (2)",
        "BTC daily (3)",
    ]
    job = client.post("/api/train", json={"datasetSource": "local", "dataset": "BTC daily"})
    assert job.status_code == 202, job.text
    spec = client.get(f"/api/jobs/{job.json()['jobId']}").json()["spec"]
    assert spec["dataset"] == first["id"]  # training by name still uses the first


@pytest.mark.parametrize(
    "reference",
    [
        "kaggle:owner/slug/../x.csv",
        "kaggle:owner/slug/data/../../x.csv",
        "kaggle:owner/slug/./x.csv",
        "kaggle:owner/slug//etc/passwd",
        "kaggle:owner/slug/C:\\x.csv",
    ],
)
def test_a_kaggle_file_path_that_leaves_the_download_is_refused(reference: str) -> None:
    with pytest.raises(ParameterError, match="must name a file inside the dataset"):
        parse_reference(reference)


def test_a_kaggle_file_path_inside_the_download_is_kept() -> None:
    assert parse_ref("kaggle:owner/slug/data/btc.csv#BTC") == ("owner/slug", "data/btc.csv", "BTC")


@pytest.mark.parametrize("command", [["data", "ls"], ["serve", "--workers", "0"]])
def test_a_damaged_database_is_one_message_and_exit_code_2(home: Path, command: list[str]) -> None:
    home.mkdir()
    (home / "ssots.db").write_bytes(b"this is not a database " * 200)
    args = [*command, "--port", str(free_port())] if command[0] == "serve" else command
    ran = subprocess.run(
        [sys.executable, "-m", "ssots", *args],
        env={**os.environ, "SSOTS_HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ran.returncode == 2, ran.stderr
    assert "Traceback" not in ran.stderr
    assert "is damaged or is not an SSO-TS database" in ran.stderr
    assert len(ran.stderr.strip().splitlines()) <= 3


def test_health_notices_a_database_damaged_while_serving(client: TestClient, home: Path) -> None:
    assert client.get("/api/health").status_code == 200
    client.app.state.services.database.engine.dispose()  # type: ignore[attr-defined]
    for suffix in ("", "-wal", "-shm"):
        Path(f"{home / 'ssots.db'}{suffix}").unlink(missing_ok=True)
    (home / "ssots.db").write_bytes(b"garbage " * 1000)
    response = client.get("/api/health")
    assert response.status_code == 503
    assert response.json()["database"] is False
    assert "damaged" in response.json()["detail"]
