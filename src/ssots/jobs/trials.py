"""The job kinds of a tuning study, run by the ordinary worker (``worker.execute``
dispatches on the job's ``kind`` through ``KINDS``):

- ``trial``: score one trial's settings on the development rows (``services.tuning
  .run_trial``), record it as a tracked run tagged with its study (source ``trial``; its
  metrics are validation metrics, prefixed ``val_``) and end with ``result`` =
  ``{"state": "complete" | "pruned" | "fail", "value", "sharpe", "run_id"}``. A trial
  whose objective fails ends ``failed`` *with* a result (``state`` ``fail``: not retried);
  a job that ends without a result (its worker died) is retried once by the coordinator.
- ``refit``: train the best trial's settings on the full split through the one training
  path (``services.training.train_run``), which evaluates it on the test split: the
  study's one test evaluation. It records a run (source ``study``), writes the weights
  file and ends with the test metrics and the per-bar test Sharpe ratio.

The coordinator that asks Optuna for trials and reads these results is
``ssots.jobs.studies.StudyCoordinator``.
"""

from __future__ import annotations

import logging
import math
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from ssots.artifacts import weights_document
from ssots.config import Settings
from ssots.errors import SsotsError
from ssots.events import Event
from ssots.jobs.redact import redact
from ssots.services.runs import record_run
from ssots.services.training import save_weights, train_run
from ssots.services.tuning import load_frame, run_trial, test_sharpe
from ssots.spec import JobStatus, RunSpec
from ssots.store.jobs import Attempt, JobLostError, JobStore, NewEvent
from ssots.store.runs import RunStore

log = logging.getLogger(__name__)

__all__ = ["KINDS", "execute_refit", "execute_trial"]


class TrialCancelledError(Exception):
    """Cancellation of the trial's job was requested."""


WRITE_INTERVAL = 0.5
"""Least seconds between a trial's event writes (its intermediate values come faster;
they are written together)."""


class StageWriter:
    """Writes a job's stage events (a trial's intermediate values among them), at most
    once per ``WRITE_INTERVAL`` seconds, and stops the run when its cancellation is
    requested; epoch events are not written (a trial's losses are in its run)."""

    def __init__(self, store: JobStore, attempt: Attempt) -> None:
        self.store = store
        self.attempt = attempt
        self.seq = attempt.last_seq
        self.pending: list[NewEvent] = []
        self._written = -math.inf

    def __call__(self, event: Event) -> None:
        """Buffer ``event`` if it is a stage; write the buffer when the interval passed.

        Raises:
            TrialCancelledError: cancellation was requested.
            JobLostError: the job is no longer this attempt's.
        """
        if event.kind != "stage":
            return
        self.seq += 1
        self.pending.append(NewEvent(self.seq, "stage", dict(event.data)))
        if time.monotonic() - self._written < WRITE_INTERVAL:
            return
        stage = str(event.data["stage"])
        cancel = self.store.write(
            self.attempt, self.pending, last_seq=self.seq, stage=stage[:80], message=stage[:2000]
        )
        self.pending = []
        self._written = time.monotonic()
        if cancel is not None:
            raise TrialCancelledError(self.attempt.job_id)

    def finish(self, status: JobStatus, message: str, **fields: Any) -> JobStatus | None:
        """Record the outcome with the events still buffered; None when the attempt no
        longer owns the job."""
        landed = self.store.finish(
            self.attempt, self.pending, status=status, message=message, last_seq=self.seq, **fields
        )
        self.pending = []
        return status if landed else None


def _guarded(
    body: Callable[[StageWriter, dict[str, Any]], JobStatus | None],
) -> Callable[[Attempt, JobStore, Settings], JobStatus | None]:
    """Run ``body`` for an attempt; translate cancellation, a lost job, and failures."""

    def execute(attempt: Attempt, store: JobStore, settings: Settings) -> JobStatus | None:
        writer = StageWriter(store, attempt)
        request = store.get(attempt.job_id).request or {}
        try:
            return body(writer, {**request, "_settings": settings})
        except JobLostError:
            return None
        except TrialCancelledError:
            return writer.finish(JobStatus.CANCELLED, "cancelled by request")
        except SsotsError as exc:
            message = redact(str(exc))
            return writer.finish(
                JobStatus.FAILED, message, result={"state": "fail", "error": message}
            )
        except Exception as exc:
            log.error("job %s crashed:\n%s", attempt.job_id, redact(traceback.format_exc()))
            shown = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            message = redact(f"internal error: {type(exc).__name__}: {shown}")
            return writer.finish(
                JobStatus.FAILED, message, result={"state": "fail", "error": message}
            )

    return execute


def _trial(writer: StageWriter, request: dict[str, Any]) -> JobStatus | None:
    settings: Settings = request["_settings"]
    spec = RunSpec.build(**writer.attempt.spec)
    writer(Event("stage", {"stage": "loading data"}))
    frame, source = load_frame(spec, settings, writer.store.database)
    report = run_trial(spec, request, settings, writer, frame=frame)
    run_id = None
    if report.outcome is not None:
        outcome = report.outcome
        metrics = {
            f"val_{key}": value
            for key, value in outcome.metrics.items()
            if isinstance(value, int | float) and not isinstance(value, bool)
        }
        metrics[request["objective"]] = outcome.value
        data = {key: value for key, value in source.items() if key != "path"}
        run = RunStore(writer.store.database).create(
            name=None,
            source="trial",
            job_id=writer.attempt.job_id,
            spec=spec.model_dump(mode="json"),
            dataset_name=str(data.get("name", "")),
            dataset_fingerprint=str(data.get("fingerprint", "unknown")),
            dataset_start=str(frame.index[0].isoformat()),
            dataset_end=str(frame.index[-1].isoformat()),
            package_version=_version(),
            metrics=metrics,
            baselines={},
            backtest={},
            history=outcome.history,
            weights={"format": "ssots.trial/1", "parameters": outcome.parameters, "data": data},
            tags={
                "study": request["study_id"],
                "trial": str(request["number"]),
                "objective": request["objective"],
            },
        )
        run_id = run.id
    result = {
        "state": report.state,
        "value": report.value,
        "sharpe": report.sharpe,
        "run_id": run_id,
    }
    if report.state == "fail":
        return writer.finish(JobStatus.FAILED, "the objective is undefined", result=result)
    shown = "pruned" if report.state == "pruned" else f"{request['objective']} {report.value:.6g}"
    return writer.finish(JobStatus.SUCCEEDED, f"trial {request['number']}: {shown}", result=result)


def _refit(writer: StageWriter, request: dict[str, Any]) -> JobStatus | None:
    settings: Settings = request["_settings"]
    spec = RunSpec.build(**writer.attempt.spec)
    result = train_run(spec, settings, writer, files=False)
    writer(Event("stage", {"stage": "saving the refitted model"}))
    path, document = save_weights(
        result, settings.runs_dir / writer.attempt.job_id / "weights.json"
    )
    run = record_run(
        RunStore(writer.store.database),
        result,
        document,
        source="study",
        job_id=writer.attempt.job_id,
        tags={
            "study": request["study_id"],
            "trial": str(request["number"]),
            "role": "best",
            "trials_run": str(request["trials_run"]),
        },
    )
    sample = test_sharpe(result)
    summary = {key: document[key] for key in ("metrics", "baselines", "parameters")}
    return writer.finish(
        JobStatus.SUCCEEDED,
        f"best trial {request['number']} refitted and evaluated once on the test split",
        summary=summary,
        result={
            "state": "complete",
            "run_id": run.id,
            "metrics": result.metrics,
            "backtest": result.backtest.to_dict(max_points=None)["metrics"],
            "test_sharpe": None if sample is None else asdict(sample),
            "weights_path": str(path.relative_to(settings.home)),
            "weights": weights_document(result)["parameters"],
        },
        weights_path=str(path.relative_to(settings.home)),
    )


def _version() -> str:
    from ssots import __version__

    return __version__


execute_trial = _guarded(_trial)
"""Run a ``trial`` job's attempt (see the module docstring)."""
execute_refit = _guarded(_refit)
"""Run a ``refit`` job's attempt (see the module docstring)."""

KINDS: dict[str, Callable[[Attempt, JobStore, Settings], JobStatus | None]] = {
    "trial": execute_trial,
    "refit": execute_refit,
}
"""Job kinds besides ``train`` and how a worker runs them."""
