"""The dashboard: server-rendered pages (Jinja2) whose small JavaScript modules read the
REST API, the stylesheet and scripts under ``/static``, and Plotly.js served from the
installed ``plotly`` package (no CDN: the dashboard works offline).

Pages render no job or dataset data themselves: their scripts fetch it from ``/api``, so
a configured API token protects the data the same way for pages and API clients.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from importlib.metadata import version
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from ssots import __version__
from ssots.store.jobs import STATUSES
from ssots.strategies import STRATEGIES

WEB = Path(__file__).parent
PLOTLY_URL = "/static/vendor/plotly.min.js"
"""Where pages load Plotly.js from (the plotly package's own bundled file)."""
IMMUTABLE = "public, max-age=31536000, immutable"
"""Cache policy of versioned assets (their URLs change with the package version)."""


@dataclass(frozen=True)
class NumberField:
    """A numeric input of the training form; ``name`` is the ``POST /api/train`` field.

    The form's ranges are those the dashboard offers (epochs 10-500 and learning rates
    0.0001-0.1 as the earlier dashboard did); each lies within what the API accepts.
    """

    name: str
    label: str
    minimum: float
    maximum: float | None
    step: str
    default: float | None
    hint: str
    advanced: bool = True


FORM_FIELDS: tuple[NumberField, ...] = (
    NumberField("epochs", "Epochs", 10, 500, "1", 50, "early stopping may end sooner", False),
    NumberField("learningRate", "Learning rate", 0.0001, 0.1, "any", 0.01, "step size", False),
    NumberField("momentum", "Momentum", 0, 0.99, "any", 0.9, "heavy-ball momentum"),
    NumberField("weightDecay", "Weight decay", 0, 1, "any", 0, "L2 penalty"),
    NumberField("patience", "Patience", 1, 100_000, "1", 50, "epochs without validation gain"),
    NumberField("horizon", "Horizon (bars)", 1, 500, "1", 5, "bars a label looks ahead"),
    NumberField("seed", "Seed", 0, None, "1", 42, "demo data, noise and shuffling"),
    NumberField("batchSize", "Batch size", 1, None, "1", None, "empty: full batch"),
    NumberField("demoDays", "Demo days", 90, 36_500, "1", 1095, "demo data only"),
)
"""The training form's numeric fields, in display order."""

LABEL_MODES: dict[str, str] = {"performance": "Performance (look-ahead)", "rules": "Rules"}
DEFAULT_SPLIT = "0.6,0.2,0.2"
SPLIT_PATTERN = r"\s*[0-9.]+\s*,\s*[0-9.]+\s*,\s*[0-9.]+\s*"

NAV: tuple[tuple[str, str, str], ...] = (
    ("/", "Dashboard", "home"),
    ("/datasets", "Datasets", "database"),
    ("/training", "Model Training", "brain"),
    ("/jobs", "Jobs", "list"),
)
"""Sidebar entries: path, title, icon."""

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)
templates = Jinja2Templates(directory=WEB / "templates")
templates.env.globals.update(
    nav=NAV,
    version=__version__,
    plotly_url=f"{PLOTLY_URL}?v={version('plotly')}",
    strategy_names=STRATEGIES,
)

JOB_ID = re.compile(r"[0-9a-f]{16}")


def _page(
    request: Request, name: str, section: str, title: str, status_code: int = 200, **context: Any
) -> HTMLResponse:
    """Render template ``name`` with the sidebar's ``section`` highlighted."""
    return templates.TemplateResponse(
        request, name, {"section": section, "title": title, **context}, status_code=status_code
    )


@router.get("/")
def overview(request: Request) -> HTMLResponse:
    """Recent jobs, dataset count and a one-click demo training run."""
    return _page(request, "overview.html", "/", "Dashboard")


@router.get("/training")
def training(request: Request) -> HTMLResponse:
    """The training form, the live job view and the training history."""
    return _page(
        request,
        "training.html",
        "/training",
        "Model Training",
        label_modes=LABEL_MODES,
        fields=FORM_FIELDS,
        split_default=DEFAULT_SPLIT,
        split_pattern=SPLIT_PATTERN,
    )


@router.get("/jobs")
def jobs(request: Request) -> HTMLResponse:
    """All jobs, newest first, filtered by status and paginated."""
    status = request.query_params.get("status", "")
    return _page(
        request,
        "jobs.html",
        "/jobs",
        "Jobs",
        statuses=STATUSES,
        status=status if status in STATUSES else "",
    )


@router.get("/jobs/{job_id}")
def job(request: Request, job_id: str) -> HTMLResponse:
    """One job, finished or running (a running job's stream is picked up again); a
    malformed id is a 404 page."""
    if not JOB_ID.fullmatch(job_id):
        return _page(request, "not_found.html", "/jobs", "Not found", 404, what=f"job {job_id!r}")
    return _page(request, "job.html", "/jobs", f"Job {job_id}", job_id=job_id)


@router.get("/datasets")
def datasets(request: Request) -> HTMLResponse:
    """Datasets: catalog and local ones, upload, and a candlestick preview."""
    return _page(request, "datasets.html", "/datasets", "Datasets")


def plotly_js() -> Path:
    """The ``plotly.min.js`` bundled in the installed ``plotly`` package."""
    return Path(str(resources.files("plotly") / "package_data" / "plotly.min.js"))


@router.get(PLOTLY_URL, response_class=FileResponse)
def plotly_bundle() -> FileResponse:
    """Plotly.js from the ``plotly`` package (cached: the URL carries the version)."""
    return FileResponse(
        plotly_js(), media_type="text/javascript", headers={"Cache-Control": IMMUTABLE}
    )


def install_pages(app: FastAPI) -> None:
    """Add the dashboard's pages, ``/static`` and Plotly.js to ``app``."""
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=WEB / "static"), name="static")
