"""The study coordinator: drives every running study by asking Optuna for trials and
handing each to the job system as a ``trial`` job, so trials run wherever jobs run (the
local process pool, or any other executor).

Each round (``step``, called by the job manager between reaping ended workers and
dispatching queued jobs):

1. trials whose job ended are told to Optuna: ``complete`` with the value, ``pruned``, or
   ``fail``; a trial whose job ended without a result (its worker died, the server was
   killed, it was interrupted) is told FAIL and its parameters are queued once more as a
   new trial (``retry_of``);
2. while fewer than ``parallel`` trials run and fewer than ``trials`` are finished
   (complete or pruned; an objective failure counts too, so a broken study ends), a new
   trial is asked for and queued;
3. when enough trials finished, the timeout passed or a stop was requested, and no trial
   is running, the best trial is refitted on the full split by one ``refit`` job: the one
   look at the test split. When it succeeds the study's report is written and the study
   ends (``end_study``, the one place a study ends).

Everything lives in the database (the studies, their trial rows, the jobs, Optuna's
storage), so after a ``kill -9`` of the server the next start resumes: the job manager
marks the jobs that were running as interrupted (or re-queues them), the next round
tells their trials FAIL and re-queues their parameters, and Optuna trials that never got a
job are failed (``recover``).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING

from ssots.config import Settings
from ssots.errors import QueueFullError, SsotsError
from ssots.services.tuning import (
    create_optuna_study,
    load_optuna_study,
    study_report,
    suggest,
    trial_id_of,
)
from ssots.spec import JobStatus
from ssots.store.jobs import JobStore, now
from ssots.store.studies import (
    StudyRecord,
    StudyStore,
    TrialRecord,
    new_study_id,
    optuna_name,
)
from ssots.tuning import StudySpec, StudyStatus

if TYPE_CHECKING:
    import optuna

log = logging.getLogger(__name__)

__all__ = ["StudyCoordinator", "create_study"]

StudyEnded = Callable[[StudyRecord], None]
"""Called once with a study that just ended (the place a ``study.finished`` event hooks)."""


def create_study(studies: StudyStore, settings: Settings, spec: StudySpec) -> StudyRecord:
    """Record a new study and create its Optuna side; the coordinator starts its trials
    at its next round."""
    study_id = new_study_id()
    create_optuna_study(settings, optuna_name(study_id), spec)  # before the coordinator sees it
    return studies.create(
        study_id=study_id,
        spec=spec.model_dump(mode="json"),
        objective=spec.objective,
        direction=spec.direction,
    )


class StudyCoordinator:
    """Runs studies through the job system (module docstring).

    Args:
        settings: where Optuna's storage is, and the queue limit.
        jobs: the jobs.
        studies: the studies.
        on_end: called with each study that ends.
    """

    def __init__(
        self,
        settings: Settings,
        jobs: JobStore,
        studies: StudyStore,
        *,
        on_end: StudyEnded | None = None,
    ) -> None:
        self.settings = settings
        self.jobs = jobs
        self.studies = studies
        self.on_end = on_end
        self._optuna: dict[str, optuna.Study] = {}

    # -- the job manager's hooks ---------------------------------------------------------

    def recover(self) -> None:
        """At start-up: fail Optuna trials of running studies that never got a job (the
        server died between asking and queuing)."""
        import optuna

        for record in self.studies.active():
            with self.studies.coordinating(record.id) as ours:
                if not ours:  # another server is advancing it: its asks are not lost
                    continue
                try:
                    study = self._study(record)
                except Exception:
                    log.exception("study %s: cannot open its Optuna storage", record.id)
                    continue
                known = {trial.number for trial in self.studies.trials(record.id)}
                for trial in study.get_trials(
                    deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)
                ):
                    if trial.number not in known:
                        study.tell(
                            trial.number,
                            state=optuna.trial.TrialState.FAIL,
                            skip_if_finished=True,
                        )

    def step(self) -> bool:
        """One round over every running study; True when jobs were queued."""
        queued = False
        for active in self.studies.active():
            with self.studies.coordinating(active.id) as ours:
                if not ours:  # another server's coordinator is advancing it right now
                    continue
                try:
                    record = self.studies.get(active.id)  # as it is now that it is ours
                    if record.status in (StudyStatus.RUNNING, StudyStatus.REFITTING):
                        queued |= self._advance(record)
                except Exception:
                    log.exception("study %s: round failed; retrying", active.id)
        return queued

    # -- one study -----------------------------------------------------------------------

    def _study(self, record: StudyRecord) -> optuna.Study:
        study = self._optuna.get(record.id)
        if study is None:
            spec = StudySpec.build(**record.spec)
            study = load_optuna_study(self.settings, record.optuna_name, spec)
            self._optuna[record.id] = study
        return study

    def _advance(self, record: StudyRecord) -> bool:
        spec = StudySpec.build(**record.spec)
        study = self._study(record)
        if record.status == StudyStatus.REFITTING:
            return self._follow_refit(record, spec)
        stopping = record.stop_requested_at is not None
        queued = self._collect(record, spec, study, stopping)
        record = self.studies.get(record.id)
        running = record.counts.get("running", 0)
        done = record.finished_trials + record.counts.get("fail", 0)
        timed_out = spec.timeout is not None and now() - record.created_at > timedelta(
            seconds=spec.timeout
        )
        if stopping and running:
            for trial in self.studies.open_trials(record.id):
                if not trial.job_status.is_final:
                    self._cancel(trial.trial.job_id)
            return queued
        if stopping or timed_out or done >= spec.trials:
            if running == 0:
                queued |= self._start_refit(
                    record, spec, study, stopped=stopping, timed_out=timed_out
                )
            return queued
        while running < spec.parallel and done + running < spec.trials:
            if not self._enqueue(record, spec, study):
                break
            running += 1
            queued = True
        self.studies.update(
            record.id,
            where_status=StudyStatus.RUNNING,
            message=f"{record.finished_trials} of {spec.trials} trials finished, {running} running",
        )
        return queued

    def _collect(
        self, record: StudyRecord, spec: StudySpec, study: optuna.Study, stopping: bool
    ) -> bool:
        """Tell Optuna how the trials whose jobs ended went; re-queue lost ones once."""
        import optuna

        state_of = optuna.trial.TrialState
        queued = False
        for open_trial in self.studies.open_trials(record.id):
            if not open_trial.job_status.is_final:
                continue
            trial = open_trial.trial
            result = open_trial.job_result or {}
            state = result.get("state")
            if open_trial.job_status == JobStatus.SUCCEEDED and state in ("complete", "pruned"):
                if state == "complete":
                    study.tell(trial.number, result["value"], skip_if_finished=True)
                else:
                    study.tell(trial.number, state=state_of.PRUNED, skip_if_finished=True)
                self.studies.close_trial(
                    record.id,
                    trial.number,
                    state=state,
                    value=result.get("value"),
                    sharpe=result.get("sharpe"),
                    run_id=result.get("run_id"),
                    message=open_trial.job_message,
                )
                continue
            study.tell(trial.number, state=state_of.FAIL, skip_if_finished=True)
            lost = state != "fail" and open_trial.job_status != JobStatus.CANCELLED
            retry = lost and trial.retry_of is None and not stopping
            self.studies.close_trial(
                record.id,
                trial.number,
                state="fail",
                message=open_trial.job_message,
                retried=retry,
            )
            if retry:
                log.warning(
                    "study %s: trial %d lost its worker (%s); its parameters are queued again",
                    record.id,
                    trial.number,
                    open_trial.job_message,
                )
                queued |= self._enqueue(record, spec, study, retry=trial)
        return queued

    def _enqueue(
        self,
        record: StudyRecord,
        spec: StudySpec,
        study: optuna.Study,
        retry: TrialRecord | None = None,
    ) -> bool:
        """Ask Optuna for a trial (``retry``'s parameters again, if given) and queue its
        job; False when the queue is full (try again next round)."""
        import optuna

        if retry is not None:
            study.enqueue_trial(retry.params, user_attrs={"retry_of": retry.number})
        trial = study.ask()
        params = suggest(trial, spec.search_space())
        trial_id = trial_id_of(self.settings, record.optuna_name, trial.number)
        try:
            run_spec = spec.trial_spec(params)
            job = self.jobs.create(
                spec=run_spec.model_dump(mode="json"),
                request={
                    "study_id": record.id,
                    "optuna_name": record.optuna_name,
                    "trial_id": trial_id,
                    "number": trial.number,
                    "params": params,
                    "objective": spec.objective,
                    "folds": spec.folds,
                    "report_every": spec.report_every,
                    "study": spec.model_dump(mode="json"),
                },
                queue_limit=self.settings.queue_limit,
                kind="trial",
            )
        except (QueueFullError, SsotsError) as exc:
            study.tell(trial.number, state=optuna.trial.TrialState.FAIL, skip_if_finished=True)
            if retry is not None and isinstance(exc, QueueFullError):
                log.warning("study %s: queue full; trial %d not retried", record.id, retry.number)
            return False
        trial.set_user_attr("job_id", job.id)
        self.studies.add_trial(
            record.id,
            number=trial.number,
            trial_id=trial_id,
            job_id=job.id,
            params=params,
            retry_of=None if retry is None else retry.number,
        )
        return True

    def _cancel(self, job_id: str) -> None:
        with contextlib.suppress(SsotsError):  # it ended meanwhile
            self.jobs.request_cancel(job_id)

    def _start_refit(
        self,
        record: StudyRecord,
        spec: StudySpec,
        study: optuna.Study,
        *,
        stopped: bool,
        timed_out: bool,
    ) -> bool:
        """Queue the refit of the best trial, or end the study when none completed."""
        complete = [t for t in self.studies.trials(record.id) if t.state == "complete"]
        if not complete:
            status = StudyStatus.STOPPED if stopped else StudyStatus.FAILED
            self._end(record, status, "no trial completed: nothing to refit")
            return False
        pick = max if spec.direction == "maximize" else min
        best = pick(complete, key=lambda t: t.value)  # type: ignore[arg-type, return-value]
        counted = [t for t in self.studies.trials(record.id) if not t.retried]
        reason = "stopped by request" if stopped else "timeout" if timed_out else "all trials done"
        try:
            job = self.jobs.create(
                spec=spec.trial_spec(best.params).model_dump(mode="json"),
                request={
                    "study_id": record.id,
                    "number": best.number,
                    "params": best.params,
                    "trials_run": len(counted),
                },
                queue_limit=self.settings.queue_limit,
                kind="refit",
            )
        except QueueFullError:
            return False
        return self.studies.update(
            record.id,
            status=StudyStatus.REFITTING,
            refit_job_id=job.id,
            refit_attempts=record.refit_attempts + 1,
            best_trial=best.number,
            best_value=best.value,
            best_params=best.params,
            message=f"{reason}; refitting best trial {best.number} for its one test evaluation",
        )

    def _follow_refit(self, record: StudyRecord, spec: StudySpec) -> bool:
        job = self.jobs.get(record.refit_job_id or "")
        if not job.status.is_final:
            return False
        result = job.result or {}
        if job.status == JobStatus.SUCCEEDED and result.get("state") == "complete":
            trials = self.studies.trials(record.id)
            best = next(t for t in trials if t.number == record.best_trial)
            report = study_report(spec=spec, trials=trials, best=best, refit=result)
            status = StudyStatus.STOPPED if record.stop_requested_at else StudyStatus.FINISHED
            message = (
                f"{report['trials_run']} trials run; best trial {best.number} evaluated once "
                "on the test split"
            )
            if self.studies.record_test_evaluation(
                record.id, status=status, report=report, message=message
            ):
                self._ended(record.id)
            return False
        if not result and record.refit_attempts < 2:  # its worker died: once more
            return self._start_refit(
                self.studies.get(record.id),
                spec,
                self._study(record),
                stopped=record.stop_requested_at is not None,
                timed_out=False,
            )
        self._end(record, StudyStatus.FAILED, f"the refit of the best trial failed: {job.message}")
        return False

    def _end(self, record: StudyRecord, status: StudyStatus, message: str) -> None:
        if self.studies.update(record.id, status=status, finished_at=now(), message=message):
            self._ended(record.id)

    def _ended(self, study_id: str) -> None:
        """The one place a study ends: drop its cached Optuna study, log, and call
        ``on_end`` (the ``study.finished`` event hooks in here)."""
        self._optuna.pop(study_id, None)
        record = self.studies.get(study_id)
        log.info("study %s %s: %s", study_id, record.status, record.message)
        if self.on_end is not None:
            try:
                self.on_end(record)
            except Exception:
                log.exception("study %s: the end hook failed", study_id)


def run_study(
    settings: Settings,
    spec: StudySpec,
    *,
    on_round: Callable[[StudyRecord], None] | None = None,
    poll: float = 0.5,
) -> StudyRecord:
    """Run a study to its end in this process (``ssots tune``): a job manager with
    ``spec.parallel`` local worker processes and the coordinator, under the home's lock
    (no server may dispatch the same queue meanwhile).

    Args:
        settings: where state lives.
        spec: the study.
        on_round: called with the study after each round (a progress bar).
        poll: most seconds between rounds (a worker that ends an attempt starts one at
            once).

    Raises:
        HomeLockedError: a server runs on this home (submit the study to it instead).
    """
    from ssots.jobs.executor import LocalExecutor
    from ssots.jobs.manager import JobManager
    from ssots.store import open_database
    from ssots.store.home import HomeLock, locks_home

    lock = HomeLock.acquire(settings.home) if locks_home(settings) else None
    database = open_database(settings)
    try:
        jobs, studies = JobStore(database), StudyStore(database)
        record = create_study(studies, settings, spec)
        coordinator = StudyCoordinator(settings, jobs, studies)
        manager = JobManager(
            jobs,
            LocalExecutor(settings, spec.parallel),
            requeue_interrupted=settings.requeue_interrupted,
            coordinators=[coordinator],
        )
        manager.store.interrupt(requeue=settings.requeue_interrupted)
        coordinator.recover()
        try:
            while True:
                manager.tick()
                record = studies.get(record.id)
                if on_round is not None:
                    on_round(record)
                if StudyStatus(record.status).is_final:
                    return record
                manager.idle(poll)
        except BaseException:
            studies.request_stop(record.id)
            raise
        finally:
            running = manager.executor.running()
            manager.executor.close()
            manager.executor.reap()
            if running:
                jobs.interrupt(
                    requeue=False, attempts=running, message="interrupted: ssots tune ended"
                )
    finally:
        database.engine.dispose()
        if lock is not None:
            lock.release()
