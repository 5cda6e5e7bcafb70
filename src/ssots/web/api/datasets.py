"""``/api/datasets``: the demo, the Kaggle catalog and registered datasets; CSV/Parquet
uploads validated by the loader (in a reader process with a time limit) and stored
content-addressed under a generated name, with their canonical frame, from which
previews are served."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import pandas as pd
from fastapi import APIRouter, File, Form, Query, Response, UploadFile
from fastapi import Path as PathParam

from ssots.data.sources.catalog import CATALOG, CatalogEntry
from ssots.errors import ConflictError, DataError, TooLargeError
from ssots.services.datasets import load_record, register_upload, resolve
from ssots.spec import DEMO, DEMO_TITLE
from ssots.store.datasets import DatasetRecord
from ssots.store.home import atomic_write, not_writable, scratch_dir
from ssots.web.deps import ServicesDep
from ssots.web.errors import error_responses
from ssots.web.schemas import DatasetDetail, DatasetList, UploadResult

router = APIRouter(tags=["datasets"])

DatasetId = Annotated[
    str, PathParam(pattern=r"^(demo|[0-9a-f]{12})$", description="`demo` or 12 hex digits")
]

UPLOAD_SUFFIXES = (".csv", ".txt", ".tsv", ".parquet", ".pq", ".gz")
"""File types an upload keeps (anything else is read as CSV text)."""
_CHUNK = 1 << 20


@router.get(
    "/datasets",
    response_model=DatasetList,
    responses=error_responses(401),
    summary="Datasets to train on: demo, Kaggle catalog, registered and uploaded",
)
def list_datasets(services: ServicesDep) -> dict[str, Any]:
    """The demo, the curated Kaggle catalog, then registered datasets newest first. Each
    item's ``train_request`` is what to put in a ``POST /api/train`` body to use it."""
    return {
        "datasets": [
            _demo_item(),
            *(_catalog_item(entry) for entry in CATALOG),
            *(_record_item(record) for record in services.datasets.list()),
        ]
    }


@router.post(
    "/datasets",
    status_code=201,
    response_model=UploadResult,
    responses=error_responses(400, 401, 413, 422, 503),
    summary="Upload a CSV or Parquet file",
)
def upload_dataset(
    services: ServicesDep,
    file: Annotated[UploadFile, File(description="CSV (optionally gzip) or Parquet of OHLCV")],
    name: Annotated[str | None, Form(max_length=200, description="display name")] = None,
) -> dict[str, Any]:
    """Validate the file with the loader and register it (201) with the loader's report
    of what it detected and repaired. Unusable files answer 4xx with the loader's
    message; the same content uploaded again returns the existing dataset; other content
    under a name already in use is registered as ``name (2)`` (the answer's ``name``).
    A home folder that cannot be written answers 503."""
    label = name or Path(file.filename or "").stem
    suffix = Path(file.filename or "").suffix.lower()
    shown = repr(file.filename or "upload")
    scratch = scratch_dir(services.settings.home)
    limit = services.settings.max_upload_bytes
    try:
        scratch.mkdir(parents=True, exist_ok=True)
        folder = tempfile.mkdtemp(dir=scratch)
    except OSError as exc:
        raise not_writable(exc, "the uploaded file") from None
    try:
        path = Path(folder) / f"upload{suffix if suffix in UPLOAD_SUFFIXES else '.csv'}"
        atomic_write(path, lambda partial: _spool(file, partial), what="the uploaded file")
        try:
            record = register_upload(
                services.datasets, path, name=label, max_expanded_bytes=limit, shown_as=shown
            )
        except TooLargeError as exc:  # expands past the limit when decompressed or decoded
            message = str(exc).replace(str(path), shown)
            hint = ", or raise SSOTS_MAX_UPLOAD_MB on the server" if exc.limit == limit else ""
            raise TooLargeError(f"{message}{hint}", limit=exc.limit) from None
        except DataError as exc:  # name the client's file, not the server's scratch copy
            raise type(exc)(str(exc).replace(str(path), shown)) from None
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return {**_record_item(record), "report": record.report}


def _spool(file: UploadFile, target: Path) -> None:
    with target.open("wb") as out:
        shutil.copyfileobj(file.file, out, _CHUNK)


@router.get(
    "/datasets/{dataset_id}",
    response_model=DatasetDetail,
    responses=error_responses(401, 404, 422),
    summary="A dataset's summary and first rows",
)
def get_dataset(
    services: ServicesDep,
    dataset_id: DatasetId,
    rows: Annotated[int, Query(ge=1, le=500, description="rows of preview, head and tail")] = 20,
    candles: Annotated[
        int, Query(ge=10, le=2000, description="most candles of the whole-span chart series")
    ] = 500,
) -> dict[str, Any]:
    """The dataset's summary, the loader's report, its first and last ``rows`` canonical
    rows, and the whole span as at most ``candles`` candles (consecutive bars merged)."""
    if dataset_id == DEMO:
        dataset = resolve(DEMO, services.settings)
        summary = {**_demo_item(), **dataset.describe(), "id": DEMO, "name": DEMO_TITLE}
        return {**summary, "report": None, **_previews(dataset.frame, rows, candles)}
    record = services.datasets.get(dataset_id)
    frame = load_record(record).frame
    return {**_record_item(record), "report": record.report, **_previews(frame, rows, candles)}


@router.delete(
    "/datasets/{dataset_id}",
    status_code=204,
    response_class=Response,
    responses=error_responses(401, 404, 409, 422),
    summary="Delete a registered dataset",
)
def delete_dataset(services: ServicesDep, dataset_id: DatasetId) -> Response:
    """Remove the dataset and its file (unless another entry shares it); 409 while
    queued or running jobs use it."""
    if dataset_id == DEMO:
        raise ConflictError("the demo is built in and cannot be deleted")
    services.datasets.get(dataset_id)
    users = services.jobs.active_for_dataset(dataset_id)
    if users:
        raise ConflictError(
            f"{users} queued or running job(s) use dataset {dataset_id}; "
            "cancel them or wait for them to finish"
        )
    services.datasets.delete(dataset_id)
    return Response(status_code=204)


def _demo_item() -> dict[str, Any]:
    return {
        "id": DEMO,
        "name": DEMO_TITLE,
        "source": "demo",
        "registered": False,
        "trainable": True,
        "train_request": {"datasetSource": "demo", "dataset": DEMO_TITLE},
        "description": "Synthetic daily bars (regime-switching GBM), reproducible from the "
        "seed; demoDays sets its length",
    }


def _catalog_item(entry: CatalogEntry) -> dict[str, Any]:
    trainable = entry.kind == "ohlcv"
    return {
        "id": f"kaggle:{entry.handle}",
        "name": entry.title,
        "source": "kaggle",
        "registered": False,
        "trainable": trainable,
        "handle": entry.handle,
        "train_request": (
            {"datasetSource": "kaggle", "kaggleDataset": entry.handle} if trainable else None
        ),
        "description": f"{entry.description} Files: {entry.files}",
    }


def _record_item(record: DatasetRecord) -> dict[str, Any]:
    return {
        **record.to_dict(),
        "registered": True,
        "trainable": True,
        "train_request": {"datasetSource": "local", "dataset": record.id},
    }


def _previews(frame: pd.DataFrame, rows: int, candles: int) -> dict[str, Any]:
    """The first and last ``rows`` rows, and the whole frame merged into at most
    ``candles`` candles (first open, highest high, lowest low, last close, summed volume;
    each candle stamped with its first bar's time)."""
    bars_per_candle = -(-len(frame) // candles)
    groups = frame.groupby(np.arange(len(frame)) // bars_per_candle)
    merged = groups.agg(
        {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"}
    )
    merged.index = frame.index[::bars_per_candle]
    return {
        "preview": _table(frame.head(rows)),
        "tail": _table(frame.tail(rows)),
        "candles": {**_table(merged), "bars_per_candle": bars_per_candle},
    }


def _table(frame: pd.DataFrame) -> dict[str, Any]:
    return {
        "columns": ["time", *frame.columns],
        "rows": [
            [time.isoformat(), *values]
            for time, values in zip(frame.index, frame.to_numpy().tolist(), strict=True)
        ],
    }
