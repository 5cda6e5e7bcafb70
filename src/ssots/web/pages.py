"""The dashboard: server-rendered pages (Jinja2) whose small JavaScript modules read the
REST API, the stylesheet and scripts under ``/static``, and Plotly.js served from the
installed ``plotly`` package (no CDN: the dashboard works offline).

Pages render no job or dataset data themselves: their scripts fetch it from ``/api``, so
a configured API token protects the data the same way for pages and API clients.
"""

from __future__ import annotations

import re
from importlib import resources
from importlib.metadata import version
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from ssots import __version__
from ssots.spec import FIELDS, SPLIT_PATTERN, JobStatus, field_schema, vocabulary

WEB = Path(__file__).parent
PLOTLY_URL = "/static/vendor/plotly.min.js"
"""Where pages load Plotly.js from (the plotly package's own bundled file)."""
IMMUTABLE = "public, max-age=31536000, immutable"
"""Cache policy of versioned assets (their URLs change with the package version)."""


FORM_GROUPS: dict[str, str] = {
    "data": "Data",
    "labels": "Labels and split",
    "training": "Optimiser",
    "backtest": "Backtest",
}
"""The form's sections (``ssots.spec`` field groups) under "Advanced", in display order."""

BASIC_FIELDS: tuple[str, ...] = ("strategy", "epochs", "lr")
"""Fields shown above "Advanced"; the dataset picker comes first."""


def form_fields() -> dict[str, list[dict[str, Any]]]:
    """The training form: "basic" fields, then each advanced group's fields, every one as
    ``ssots.spec.field_schema`` describes it (names, label, default, bounds, choices)."""
    fields = [field_schema(name) for name in FIELDS if name != "dataset"]
    groups: dict[str, list[dict[str, Any]]] = {"basic": []}
    groups.update({group: [] for group in FORM_GROUPS})
    for field in fields:
        groups["basic" if field["name"] in BASIC_FIELDS else field["group"]].append(field)
    groups["basic"].sort(key=lambda field: BASIC_FIELDS.index(field["name"]))
    return groups


NAV: tuple[tuple[str, str, str], ...] = (
    ("/", "Dashboard", "home"),
    ("/datasets", "Datasets", "database"),
    ("/training", "Model Training", "brain"),
    ("/jobs", "Jobs", "list"),
    ("/models", "Models", "box"),
    ("/schedules", "Schedules", "clock"),
    ("/webhooks", "Webhooks", "bell"),
    ("/studies", "Studies", "sliders"),
)
"""Sidebar entries: path, title, icon."""

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)
templates = Jinja2Templates(directory=WEB / "templates")
templates.env.globals.update(
    nav=NAV,
    version=__version__,
    plotly_url=f"{PLOTLY_URL}?v={version('plotly')}",
    vocabulary=vocabulary(),
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
    """The training form, the live job view and the training history; ``?job=ID`` shows
    that job (an ``ID`` that is not a job id is a 404 page: the page's script never sees
    it)."""
    job_id = request.query_params.get("job")
    if job_id is not None and not JOB_ID.fullmatch(job_id):
        return _page(
            request, "not_found.html", "/training", "Not found", 404, what=f"job {job_id[:40]!r}"
        )
    return _page(
        request,
        "training.html",
        "/training",
        "Model Training",
        form=form_fields(),
        groups=FORM_GROUPS,
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
        statuses=list(JobStatus),
        status=status if status in list(JobStatus) else "",
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


MODEL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")


@router.get("/compare")
def compare(request: Request) -> HTMLResponse:
    """Runs side by side (``?runs=A,B``) or versions of a model (``?model=NAME&versions=2,3``):
    the settings diff, metrics, parameters, loss and equity curves."""
    return _page(request, "compare.html", "/jobs", "Compare")


@router.get("/models")
def models(request: Request) -> HTMLResponse:
    """The registered models with their aliases."""
    return _page(request, "models.html", "/models", "Models")


@router.get("/models/{name}")
def model(request: Request, name: str) -> HTMLResponse:
    """One model: versions, metrics over versions, aliases and their history, promote and
    rollback, and scoring the latest bars; a malformed name is a 404 page."""
    if not MODEL_NAME.fullmatch(name):
        return _page(
            request, "not_found.html", "/models", "Not found", 404, what=f"model {name[:40]!r}"
        )
    return _page(request, "model.html", "/models", f"Model {name}", model_name=name)


@router.get("/schedules")
def schedules(request: Request) -> HTMLResponse:
    """Schedules: add one, their next five fire times, pause, resume, run now, and the
    history of their runs with outcomes and promotion decisions."""
    from ssots.services.schedules import MISFIRE_POLICIES, PROMOTION_DEFAULTS, PROMOTION_METRICS

    return _page(
        request,
        "schedules.html",
        "/schedules",
        "Schedules",
        misfire_policies=MISFIRE_POLICIES,
        metrics=list(PROMOTION_METRICS),
        promotion=PROMOTION_DEFAULTS,
    )


@router.get("/webhooks")
def webhooks(request: Request) -> HTMLResponse:
    """Webhooks: subscribe (the secret is shown once), test, rotate, delete, and every
    delivery with its attempts (redeliver)."""
    from ssots.store.webhooks import EVENT_TYPES

    return _page(request, "webhooks.html", "/webhooks", "Webhooks", event_types=EVENT_TYPES)


@router.get("/studies")
def studies(request: Request) -> HTMLResponse:
    """Tuning studies, newest first, and the form that starts one (the defaults of
    ``ssots tune``, from ``ssots.tuning``)."""
    from ssots import tuning

    return _page(request, "studies.html", "/studies", "Studies", tune=tuning.vocabulary())


@router.get("/studies/{study_id}")
def study(request: Request, study_id: str) -> HTMLResponse:
    """One study: optimisation history, parameter importances, parallel coordinates,
    intermediate values, the trials sortable by value, live over SSE, its one test
    evaluation, stop and "register best"; a malformed id is a 404 page."""
    if not JOB_ID.fullmatch(study_id):
        return _page(
            request, "not_found.html", "/studies", "Not found", 404, what=f"study {study_id[:40]!r}"
        )
    return _page(request, "study.html", "/studies", f"Study {study_id}", study_id=study_id)


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
