"""The Ray executor against a real local cluster (``ray start --head`` on loopback, started
and stopped by this module): ``ssots serve --executor ray`` runs jobs as Ray tasks (read
back from Ray's own task list), cancels them, and retries a job whose task's worker
process was killed. The jobs share a PostgreSQL database, as on a real cluster."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import postgres_support
from ssots.jobs.cluster import TASK_PREFIX
from web_support import FAST, Server, submit, wait_epoch, wait_finished, wait_for

ray = pytest.importorskip("ray", reason="the ray extra is not installed")
pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RayCluster:
    """A one-node Ray cluster of 2 CPUs in its own process group."""

    def __init__(self, root: Path) -> None:
        self.port, self.dashboard_port = _free_port(), _free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.dashboard = f"http://127.0.0.1:{self.dashboard_port}"
        self.log = root / "ray-head.log"
        command = [
            str(Path(sys.executable).parent / "ray"),
            "start",
            "--head",
            "--block",
            f"--port={self.port}",
            "--num-cpus=2",
            "--node-ip-address=127.0.0.1",
            "--dashboard-host=127.0.0.1",
            f"--dashboard-port={self.dashboard_port}",
            "--disable-usage-stats",
            f"--temp-dir={root / 'ray'}",
        ]
        env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
        with self.log.open("w") as out:
            self.process = subprocess.Popen(
                command, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
            )
        wait_for(self._up, timeout=180, every=1.0)

    def _up(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"ray start exited:\n{self.log.read_text()}")
        try:
            return bool(ray.util.state.list_nodes(address=self.dashboard, timeout=5))
        except Exception:
            return False

    def tasks(self, job_id: str) -> list[Any]:
        """Ray's records of the tasks of ``job_id``, oldest first."""
        found = ray.util.state.list_tasks(
            address=self.dashboard,
            filters=[("name", "=", f"{TASK_PREFIX}{job_id}")],
            detail=True,
            timeout=10,
        )
        return sorted(found, key=lambda task: task.creation_time_ms or 0)

    def stop(self) -> None:
        """Stop every process of the cluster (its process group)."""
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(30)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RayCluster]:
    import ray.util.state  # noqa: F401  (the state API: Ray's task list)

    started = RayCluster(tmp_path_factory.mktemp("ray"))
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture(scope="module")
def server(
    cluster: RayCluster, postgres_server: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    databases = postgres_support.Databases(postgres_server)
    env = {"SSOTS_DATABASE_URL": databases.create(), "SSOTS_LEASE_SECONDS": "10"}
    args = ("--executor", "ray", "--ray-address", cluster.address)
    with Server(tmp_path_factory.mktemp("ray-home"), workers=2, env=env, args=args) as started:
        yield started
    databases.by_home["ray"] = env["SSOTS_DATABASE_URL"]
    databases.drop_all()


def test_a_training_job_runs_as_a_ray_task(cluster: RayCluster, server: Server) -> None:
    job_id = submit(server.client, **FAST)
    status = wait_finished(server.client, job_id)
    assert status["status"] == "success", status
    tasks = wait_for(lambda: [t for t in cluster.tasks(job_id) if t.state == "FINISHED"])
    assert len(tasks) == 1
    assert tasks[0].func_or_class_name.endswith("run_task")
    assert tasks[0].worker_pid not in (None, server.process.pid)


def test_cancel_stops_the_ray_task(cluster: RayCluster, server: Server) -> None:
    job_id = submit(server.client, demoDays=200, epochs=100_000, patience=100_000)
    wait_epoch(server.client, job_id)
    assert server.client.post(f"/api/jobs/{job_id}/cancel").status_code == 202
    assert wait_finished(server.client, job_id, timeout=60)["status"] == "cancelled"
    wait_for(lambda: [t for t in cluster.tasks(job_id) if t.state in ("FINISHED", "FAILED")])


def test_killing_a_tasks_worker_process_retries_the_job(
    cluster: RayCluster, server: Server
) -> None:
    job_id = submit(server.client, demoDays=200, epochs=20_000, patience=20_000)
    wait_epoch(server.client, job_id)
    running = wait_for(lambda: [t for t in cluster.tasks(job_id) if t.worker_pid])
    os.kill(running[0].worker_pid, signal.SIGKILL)
    status = wait_finished(server.client, job_id, timeout=300)
    assert status["status"] == "success", status
    def both_ended() -> list[Any]:  # (Ray's task list trails the tasks by a moment)
        found = cluster.tasks(job_id)
        return found if [task.state for task in found] == ["FAILED", "FINISHED"] else []

    tasks = wait_for(both_ended)
    assert tasks[0].worker_pid != tasks[1].worker_pid
    assert server.client.get(f"/api/jobs/{job_id}").json()["attempts"] == 2


def test_a_six_trial_study_runs_its_trials_and_refit_as_ray_tasks(
    cluster: RayCluster, server: Server
) -> None:
    body = {"trials": 6, "parallel": 2, "epochs": 40, "objective": "val_mse", "seed": 3}
    answer = server.client.post("/api/studies", json=body)
    assert answer.status_code == 201, answer.text
    study_id = answer.json()["id"]

    def ended() -> dict[str, Any] | None:
        study = server.client.get(f"/api/studies/{study_id}").json()
        return study if study["status"] in ("finished", "stopped", "failed") else None

    study = wait_for(ended, timeout=400, every=0.5)
    assert study["status"] == "finished", study["message"]
    assert study["finished_trials"] == 6
    assert study["test_evaluations"] == 1
    trials = server.client.get(f"/api/studies/{study_id}/trials").json()["trials"]
    job_ids = [trial["job_id"] for trial in trials] + [study["refit_job_id"]]
    assert len(set(job_ids)) == 7
    for job_id in job_ids:  # every trial and the refit ran as a Ray task, off the server
        tasks = wait_for(lambda job_id=job_id: [
            t for t in cluster.tasks(job_id) if t.state == "FINISHED"
        ])  # fmt: skip
        assert tasks[0].worker_pid not in (None, server.process.pid)
