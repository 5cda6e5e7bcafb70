"""A fake Kaggle API on loopback that Kaggle's real client libraries talk to in tests.

kagglesdk fixes its endpoint by ``KAGGLE_API_ENVIRONMENT`` (``TEST`` is
``http://localhost:7777``) and offers no base-URL setting. Rather than binding port 7777,
the fake listens on a free loopback port and is installed as the HTTP proxy
(``HTTP_PROXY``): every request the clients send to ``http://localhost:7777`` arrives here
in absolute form. Requests for any other host get 502, so nothing reaches the internet.

It speaks what kagglesdk 0.1.x and kagglehub 1.x send and expect:

- ``POST /api/v1/datasets.DatasetApiService/ListDatasets`` (search) and ``GetDataset``
  (current version), JSON in and out;
- ``POST /api/v1/datasets.DatasetApiService/DownloadDataset``: a 302 to a blob URL, like
  Kaggle's redirect to Cloud Storage;
- ``GET /blobs/...``: the zip with ``Content-Length``, ``x-goog-hash: md5=...`` (kagglehub's
  integrity check) and ``Accept-Ranges: bytes`` (206 for ranges);
- ``POST /api/v1/api.v1.DiagnosticsService/Hello``: who the credentials belong to
  (``kagglehub.whoami``).

Credentials: ``Authorization: Bearer <token>`` (KAGGLE_API_TOKEN) or HTTP Basic
(KAGGLE_USERNAME/KAGGLE_KEY or kaggle.json). Unknown credentials get 401 on every call;
a private dataset gets 401 without credentials and 403 for a user it is not shared with.
Error bodies echo the Authorization header, as a careless server might, so that tests
catch any code that passes library error messages on to users.

Scripted faults: ``fail(endpoint, *actions)`` queues actions for the next calls of an
endpoint (``ListDatasets``, ``GetDataset``, ``DownloadDataset``, ``Hello``, ``blob``): an
HTTP status (429 comes with ``Retry-After: 0``), ``"cut"`` (send half the body, then hang
up) or ``"slow"`` (answer after the client's timeout).
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import threading
import time
import zipfile
from collections import Counter, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

KAGGLE_HOST = "localhost:7777"
API = "/api/v1/"
SLOW_SECONDS = 5.0
"""How long a "slow" answer waits: well past the timeouts the tests configure."""


@dataclass
class FakeDataset:
    """One dataset the fake serves: ``files`` maps a path inside the dataset to bytes."""

    handle: str
    files: dict[str, bytes]
    title: str = ""
    version: int = 2
    shared_with: frozenset[str] | None = None  # None: public
    votes: int = 7
    updated: str = "2021-07-07T12:00:00.000Z"
    archive: bytes = field(init=False, repr=False)

    def __post_init__(self) -> None:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, content in self.files.items():
                archive.writestr(name, content)
        self.archive = buffer.getvalue()

    def summary(self) -> dict[str, Any]:
        """The ApiDataset JSON Kaggle returns for this dataset."""
        return {
            "ref": self.handle, "title": self.title or self.handle, "url": f"/{self.handle}",
            "totalBytes": sum(len(content) for content in self.files.values()),
            "lastUpdated": self.updated, "voteCount": self.votes,
            "currentVersionNumber": self.version,
        }


class FakeKaggle:
    """The fake server's state; ``start()`` serves it on a free loopback port."""

    def __init__(self) -> None:
        self.datasets: dict[str, FakeDataset] = {}
        self.tokens: dict[str, str] = {}  # bearer token -> user name
        self.keys: dict[tuple[str, str], str] = {}  # (user, key) -> user name
        self.calls: Counter[str] = Counter()
        self.auth_seen: list[str] = []  # "bearer" | "basic" | "none", one per API call
        self._faults: dict[str, deque[int | str]] = {}
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    def add(self, dataset: FakeDataset) -> FakeDataset:
        """Serve ``dataset``."""
        self.datasets[dataset.handle] = dataset
        return dataset

    def fail(self, endpoint: str, *actions: int | str) -> None:
        """Queue ``actions`` (status code, "cut" or "slow") for the next calls of ``endpoint``."""
        with self._lock:
            self._faults.setdefault(endpoint, deque()).extend(actions)

    def next_fault(self, endpoint: str) -> int | str | None:
        """Count a call of ``endpoint`` and pop its next scripted fault, if any."""
        with self._lock:
            self.calls[endpoint] += 1
            queue = self._faults.get(endpoint)
            return queue.popleft() if queue else None

    def user(self, authorization: str | None) -> str | bool | None:
        """The user an Authorization header belongs to; None if absent, False if unknown."""
        if not authorization:
            return None
        scheme, _, value = authorization.partition(" ")
        if scheme == "Bearer":
            return self.tokens.get(value, False)
        if scheme == "Basic":
            user, _, key = base64.b64decode(value).decode().partition(":")
            return self.keys.get((user, key), False)
        return False

    @property
    def proxy_url(self) -> str:
        """The URL to put in HTTP_PROXY."""
        assert self._server is not None, "start() the fake first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> FakeKaggle:
        """Serve on 127.0.0.1 on a free port, in a daemon thread."""
        handler = type("Handler", (_Handler,), {"fake": self})
        self._server = _Server(("127.0.0.1", 0), handler)
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients that gave up (timeouts, cut-off downloads) are expected: stay quiet."""


class _Handler(BaseHTTPRequestHandler):
    fake: FakeKaggle

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests read the fake's counters instead."""

    def do_GET(self) -> None:
        """Blob downloads (the redirect targets)."""
        url = urlsplit(self.path)
        if url.netloc != KAGGLE_HOST or not url.path.startswith("/blobs/"):
            self._json(502, {"code": 502, "message": f"the fake serves only {KAGGLE_HOST}"})
            return
        fault = self.fake.next_fault("blob")
        if self._common_fault(fault):
            return
        owner, slug, _version = url.path.removeprefix("/blobs/").removesuffix(".zip").split("/")
        self._blob(self.fake.datasets[f"{owner}/{slug}"].archive, cut=fault == "cut")

    def do_POST(self) -> None:
        """API calls."""
        url = urlsplit(self.path)
        if url.netloc != KAGGLE_HOST or not url.path.startswith(API):
            self._json(502, {"code": 502, "message": f"the fake serves only {KAGGLE_HOST}"})
            return
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        endpoint = url.path.rsplit("/", 1)[-1]
        authorization = self.headers.get("Authorization")
        self.fake.auth_seen.append(authorization.split(" ")[0].lower() if authorization else "none")
        if self._common_fault(self.fake.next_fault(endpoint)):
            return
        user = self.fake.user(authorization)
        if user is False:
            self._json(401, {"code": 401, "message": f"Unauthenticated: {authorization}"})
            return
        route = {"ListDatasets": self._list, "GetDataset": self._get,
                 "DownloadDataset": self._download, "Hello": self._hello}.get(endpoint)
        if route is None:
            self._json(404, {"code": 404, "message": f"no endpoint {endpoint}"})
            return
        route(body, user)

    def _common_fault(self, fault: int | str | None) -> bool:
        if fault == "slow":
            time.sleep(SLOW_SECONDS)
            return False
        if isinstance(fault, int):
            extra = {"Retry-After": "0"} if fault == 429 else {}
            message = f"scripted {fault}; Authorization: {self.headers.get('Authorization')}"
            self._json(fault, {"code": fault, "message": message}, extra)
            return True
        return False

    def _list(self, body: dict[str, Any], _user: str | None) -> None:
        words = str(body.get("search", "")).lower().split()
        hits = [
            dataset.summary() for dataset in self.fake.datasets.values()
            if dataset.shared_with is None
            and all(word in f"{dataset.handle} {dataset.title}".lower() for word in words)
        ]
        self._json(200, {"datasets": hits[: int(body.get("pageSize") or 20)],
                         "nextPageToken": ""})

    def _dataset(self, body: dict[str, Any], user: str | None) -> FakeDataset | None:
        dataset = self.fake.datasets.get(f"{body.get('ownerSlug')}/{body.get('datasetSlug')}")
        if dataset is None:
            self._json(404, {"code": 404, "message": "Dataset not found"})
        elif dataset.shared_with is not None and user is None:
            self._json(401, {"code": 401, "message": "Unauthenticated"})
        elif dataset.shared_with is not None and user not in dataset.shared_with:
            self._json(403, {"code": 403, "message": "Permission denied"})
        else:
            return dataset
        return None

    def _get(self, body: dict[str, Any], user: str | None) -> None:
        dataset = self._dataset(body, user)
        if dataset is not None:
            self._json(200, dataset.summary())

    def _download(self, body: dict[str, Any], user: str | None) -> None:
        dataset = self._dataset(body, user)
        if dataset is None:
            return
        if body.get("fileName"):
            self._json(400, {"code": 400, "message": "the fake serves whole-dataset archives"})
            return
        self.send_response(302)
        self.send_header("Location", f"http://{KAGGLE_HOST}/blobs/{dataset.handle}/"
                                     f"{body.get('datasetVersionNumber')}.zip")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _hello(self, _body: dict[str, Any], user: str | None) -> None:
        if user is None:
            self._json(401, {"code": 401, "message": "Unauthenticated"})
        else:
            self._json(200, {"userName": user})

    def _json(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None,
              ) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _blob(self, archive: bytes, *, cut: bool) -> None:
        start = int(self.headers.get("Range", "bytes=0-").removeprefix("bytes=").split("-")[0])
        md5 = base64.b64encode(hashlib.md5(archive).digest()).decode()
        self.send_response(206 if start else 200)
        self.send_header("Content-Type", "application/zip")
        self.send_header("Content-Length", str(len(archive) - start))
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("x-goog-hash", f"crc32c=AAAAAA==,md5={md5}")
        self.end_headers()
        body = archive[start:]
        self.wfile.write(body[: len(body) // 2] if cut else body)
        self.close_connection = True


# ------------------------------------------------------------------ test set-up helpers

CLEARED_VARIABLES = (
    "KAGGLE_API_TOKEN", "KAGGLE_USERNAME", "KAGGLE_KEY", "KAGGLE_KERNEL_RUN_TYPE",
    "KAGGLE_DATA_PROXY_URL", "TBE_RUNTIME_ADDR", "KAGGLEHUB_VERBOSITY", "SSOTS_DATABASE_URL",
    "KAGGLE_LOGGING_ENABLED",
)
"""Variables that would point the clients at real credentials or elsewhere."""

GOOD_TOKEN = "KGAT_good_0000"
GOOD_USER, GOOD_KEY = "fake-user", "good-key-0000"


def environment(fake: FakeKaggle, root: Path) -> dict[str, str]:
    """Variables that send Kaggle's real clients to ``fake`` and keep all state in ``root``:
    the SSO-TS home (with kagglehub's cache inside it), the Kaggle config folder and HOME."""
    proxy = fake.proxy_url
    return {
        "KAGGLE_API_ENVIRONMENT": "TEST",
        **dict.fromkeys(("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy"), proxy),
        "NO_PROXY": "", "no_proxy": "",
        "SSOTS_HOME": str(root / "home"),
        "KAGGLEHUB_CACHE": str(root / "home" / "kagglehub"),
        "KAGGLE_CONFIG_DIR": str(root / "kaggle-config"),
        "HOME": str(root / "user"),
    }


def standard_datasets(real: Path) -> list[FakeDataset]:
    """The datasets the tests use, built from the real files in ``real``
    (../shared/data/real)."""
    bitcoin = (real / "kaggle_coin_Bitcoin.csv").read_bytes()
    ethereum = (real / "kaggle_coin_Ethereum_excel_resaved.csv").read_bytes()
    return [
        FakeDataset("sudalairajkumar/cryptocurrencypricehistory",
                    {"coin_Bitcoin.csv": bitcoin, "coin_Ethereum.csv": ethereum},
                    title="Cryptocurrency Historical Prices", votes=1200),
        FakeDataset("mczielinski/bitcoin-historical-data", {
            "btcusd_1-min_data.csv": (real / "bitstamp_1min_cryptocompare_2025.csv").read_bytes(),
            "README.md": b"# Bitstamp minute bars\n",
            "notes/columns.csv": b"column,meaning\nTimestamp,unix seconds\nOpen,first price\n",
        }, title="Bitcoin Historical Data", votes=3000),
        FakeDataset("someone/mixed-market-data", {
            "BTC-USD.csv": (real / "yahoo_BTC-USD_daily.csv").read_bytes(),
            "BTCUSDT-1h-2022-01.csv": (real / "binance_klines_BTCUSDT_1h_2022-01.csv").read_bytes(),
        }, title="Mixed bitcoin bars"),
        FakeDataset("jessevent/all-crypto-currencies",
                    {"crypto-markets.csv": _long_table(bitcoin, ethereum)},
                    title="All crypto currencies"),
        FakeDataset("gpreda/crypto-fear-greed-index",
                    {"fear_greed_index.csv": _fear_greed()}, title="Crypto Fear and Greed Index"),
        FakeDataset("someone/private-bitcoin", {"coin_Bitcoin.csv": bitcoin},
                    title="Private bitcoin", shared_with=frozenset({"owner-only"})),
        FakeDataset("someone/word-counts", {"counts.csv": b"word,count\nhodl,3\nmoon,5\n",
                                            "about.txt": b"no prices here\n"}),
    ]


def _long_table(*coin_files: bytes) -> bytes:
    """Kaggle coin_*.csv files as one long table with a symbol column (jessevent layout)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["slug", "symbol", "name", "date", "open", "high", "low", "close", "volume"])
    for content in coin_files:
        for row in csv.DictReader(io.StringIO(content.decode())):
            writer.writerow([row["Name"].lower(), row["Symbol"], row["Name"], row["Date"],
                             row["Open"], row["High"], row["Low"], row["Close"], row["Volume"]])
    return out.getvalue().encode()


def _fear_greed() -> bytes:
    lines = ["timestamp,value,classification,date"]
    for day in range(400):
        value = 20 + (day * 7) % 60
        label = "Fear" if value < 45 else "Neutral" if value < 55 else "Greed"
        lines.append(f"{1517443200 + day * 86400},{value},{label},day-{day}")
    return ("\n".join(lines) + "\n").encode()
