"""Plan runs on a real Dask distributed cluster (a LocalCluster of worker processes on loopback):
several days at once, a worker killed mid-solve, a cancel, progress."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
from apitools import assert_valid_plan, ok, wait_for, wait_run, whole_request
from conftest import AUTH, BACKENDS, settings_for
from fastapi.testclient import TestClient
from onestop.api import create_app
from onestop.dispatch.generate import generate_day

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def cluster() -> Iterator[object]:
    """Two single-threaded worker processes with nannies, as ``dask worker`` would run them."""
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, host="127.0.0.1"
    ) as c:
        yield c


@pytest.fixture
def scheduler(cluster) -> Iterator[object]:
    """A client of our own on the cluster, to look at (and break) it."""
    with distributed.Client(cluster.scheduler_address) as c:
        yield c


def _client(url: str, address: str) -> TestClient:
    app = create_app(settings_for(url, dask_scheduler=address))
    return TestClient(app, raise_server_exceptions=False)


@pytest.mark.parametrize("backend", BACKENDS)
def test_several_days_solve_on_the_cluster(backend, databases, cluster, scheduler):
    """Three runs (a stored-format day and two generated city days) are solved as cluster tasks and
    stored; every plan passes the validator."""
    days = [
        whole_request(),
        generate_day(30, 1, time_limit_s=3, preset="fast"),
        generate_day(40, 2, time_limit_s=3, preset="fast"),
    ]
    with (
        distributed.get_task_stream(client=scheduler) as stream,
        _client(databases.new(backend), cluster.scheduler_address) as client,
    ):
        ids = [ok(client.post("/v1/plans", json=d, headers=AUTH), 202)["id"] for d in days]
        runs = [wait_run(client, i, AUTH, timeout=120) for i in ids]
    for day, run in zip(days, runs, strict=True):
        assert run["status"] == "succeeded", run
        assert run["violations"] in (None, [])
        assert_valid_plan(day, run["plan"])
    solved = {str(t["key"]) for t in stream.data}
    assert {f"onestop-run-{i}-1" for i in ids} <= solved, solved  # on the cluster, not in the service


def test_worker_killed_mid_solve_is_run_again_elsewhere(databases, cluster, scheduler):
    """SIGKILL the worker process solving a run: the scheduler runs the task on another worker and
    the run still succeeds with a valid plan, on its first attempt as far as the service knows."""
    day = generate_day(60, 3, time_limit_s=8, preset="fast")
    with (
        distributed.get_task_stream(client=scheduler) as stream,
        _client(databases.new("sqlite"), cluster.scheduler_address) as client,
    ):
        run_id = ok(client.post("/v1/plans", json=day, headers=AUTH), 202)["id"]

        def solving_on():
            for address, keys in scheduler.processing().items():
                if any(run_id in str(k) for k in keys):
                    return address
            return None

        address = wait_for(solving_on, timeout=60, what="the run's task on a worker")
        pid = scheduler.run(os.getpid, workers=[address])[address]
        os.kill(pid, signal.SIGKILL)
        wait_for(lambda: address not in scheduler.scheduler_info()["workers"], timeout=30, what="the loss")
        run = wait_run(client, run_id, AUTH, timeout=180)
    assert run["status"] == "succeeded", run
    assert run["attempts"] == 1
    done_on = [t["worker"] for t in stream.data if str(t["key"]) == f"onestop-run-{run_id}-1"]
    assert done_on and address not in done_on  # finished by another worker than the one killed
    assert_valid_plan(day, run["plan"])


def _solvers_on(scheduler) -> int:
    """Solver child processes running under the cluster's workers."""

    def count() -> int:
        import psutil

        def solving(c: psutil.Process) -> bool:
            try:
                return c.status() != psutil.STATUS_ZOMBIE and "onestop.api.solver_child" in " ".join(c.cmdline())
            except (psutil.ZombieProcess, psutil.NoSuchProcess):
                return False  # killed, not yet reaped: not running any more

        return sum(1 for c in psutil.Process().children(recursive=True) if solving(c))

    return sum(scheduler.run(count).values())


def test_cancel_and_progress_on_the_cluster(databases, cluster, scheduler):
    """A long run shows solving progress from its task; cancelling it answers at once and kills
    the solver on its Dask worker (the core is free again, not busy until the time limit)."""
    day = generate_day(60, 4, time_limit_s=60, preset="balanced")
    with _client(databases.new("sqlite"), cluster.scheduler_address) as client:
        run_id = ok(client.post("/v1/plans", json=day, headers=AUTH), 202)["id"]

        def solving():
            body = ok(client.get(f"/v1/plans/{run_id}", headers=AUTH))
            progress = body["progress"]
            return body if progress["phase"] == "solving" and progress["fraction"] > 0 else None

        wait_for(solving, timeout=60, what="progress from the task")
        assert _solvers_on(scheduler) == 1
        assert client.delete(f"/v1/plans/{run_id}", headers=AUTH).status_code in (200, 202)
        run = wait_run(client, run_id, AUTH, timeout=30)
        assert run["status"] == "cancelled"
        wait_for(lambda: _solvers_on(scheduler) == 0, timeout=15, what="the solver to be killed")


def test_onestop_worker_process_hands_runs_to_the_cluster(make_client, db_url, cluster, scheduler, tmp_path):
    """Production shape: the service only stores runs, a separate ``onestop worker --dask ADDRESS``
    process claims them and the cluster solves them; SIGTERM stops the worker cleanly."""
    client = make_client(embedded_worker=False)
    request = whole_request()
    log = tmp_path / "cluster-worker.log"
    env = {**os.environ, "DATABASE_URL": db_url, "ONESTOP_POLL_S": "0.2", "ONESTOP_LEASE_S": "5"}
    worker = subprocess.Popen(
        [sys.executable, "-m", "onestop.api.worker", "--dask", cluster.scheduler_address],
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )
    try:
        with distributed.get_task_stream(client=scheduler) as stream:
            run_id = ok(client.post("/v1/plans", json=request, headers=AUTH), 202)["id"]
            run = wait_run(client, run_id, AUTH, timeout=120)
    finally:
        worker.send_signal(signal.SIGTERM)
        code = worker.wait(timeout=30)
    assert code == 0, log.read_text()
    assert run["status"] == "succeeded", (run, log.read_text())
    assert_valid_plan(request, run["plan"])
    assert f"onestop-run-{run_id}-1" in {str(t["key"]) for t in stream.data}


def test_unreachable_scheduler_keeps_runs_queued(databases):
    """A scheduler address nobody answers: the service stays up, runs wait queued (not failed),
    and it shuts down cleanly."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    with _client(databases.new("sqlite"), f"tcp://127.0.0.1:{port}") as client:
        run_id = ok(client.post("/v1/plans", json=whole_request(), headers=AUTH), 202)["id"]
        time.sleep(1.0)
        assert ok(client.get(f"/v1/plans/{run_id}", headers=AUTH))["status"] == "queued"
        assert ok(client.get("/healthz"))
