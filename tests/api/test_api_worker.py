"""Plan-run workers: leases, one claim per run, and a worker killed mid-solve."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from apitools import assert_valid_plan, ok, wait_for, wait_run, whole_request
from conftest import AUTH, settings_for
from onestop.api.db import db_epoch, make_engine, migrate, session_factory
from onestop.api.models import PlanRun
from onestop.api.worker import Worker
from sqlalchemy import select, update


def _start_worker(db_url: str, log_path) -> subprocess.Popen:
    # a long lease: a busy machine delaying a heartbeat must not lose it (the test expires it itself)
    env = {**os.environ, "DATABASE_URL": db_url, "ONESTOP_LEASE_S": "30", "ONESTOP_POLL_S": "0.2"}
    return subprocess.Popen(
        [sys.executable, "-m", "onestop.api.worker"],
        env=env,
        stdout=log_path.open("ab"),
        stderr=subprocess.STDOUT,
    )


def test_killed_worker_run_is_taken_up_again(make_client, db_url, tmp_path):
    """A worker SIGKILLed mid-solve loses its lease; another worker completes the run. The lease
    is run out by the database's clock (set in the past) rather than waited for."""
    client = make_client(embedded_worker=False)
    request = whole_request(preset="balanced", time_limit_s=2)
    run_id = ok(client.post("/v1/plans", json=request, headers=AUTH), 202)["id"]
    log = tmp_path / "workers.log"
    first = _start_worker(db_url, log)
    try:

        def _solving():
            body = ok(client.get(f"/v1/plans/{run_id}", headers=AUTH))
            return body if body["progress"]["phase"] == "solving" else None

        wait_for(_solving, timeout=30, what="the first worker to be solving")
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    killed = ok(client.get(f"/v1/plans/{run_id}", headers=AUTH))
    assert killed["status"] == "running" and killed["attempts"] == 1
    second = _start_worker(db_url, log)
    try:
        engine = make_engine(db_url)
        with session_factory(engine).begin() as s:
            s.execute(update(PlanRun).where(PlanRun.id == run_id).values(lease_expires_at=db_epoch() - 1.0))
        engine.dispose()
        run = wait_run(client, run_id, AUTH, timeout=60)
    finally:
        second.send_signal(signal.SIGTERM)
        assert second.wait(timeout=15) == 0, log.read_text()
    assert run["status"] == "succeeded", (run, log.read_text())
    assert run["attempts"] == 2
    assert_valid_plan(request, run["plan"])


def test_one_run_is_claimed_by_one_worker(db_url, monkeypatch):
    """Workers racing for one queued run: exactly one gets it; an unexpired lease keeps it,
    even against a worker whose own clock runs an hour ahead (leases are judged by the
    database's clock); once the database says the lease is over, another worker takes it."""
    engine = make_engine(db_url)
    migrate(engine)
    sessions = session_factory(engine)
    with sessions.begin() as s:
        s.add(
            PlanRun(
                id="r1",
                status="queued",
                source="request",
                request=whole_request(),
                progress=0.0,
                attempts=0,
                cancel_requested=False,
            )
        )
    settings = settings_for(db_url, lease_s=60)
    workers = [Worker(sessions, settings, owner=f"w{i}") for i in range(6)]
    with ThreadPoolExecutor(6) as pool:
        claims = list(pool.map(lambda w: w.claim(), workers))
    assert sorted(c for c in claims if c) == ["r1"]
    with sessions() as s:
        expires, db_now = s.execute(select(PlanRun.lease_expires_at, db_epoch()).where(PlanRun.id == "r1")).one()
    assert 55 <= expires - db_now <= 60  # the database's clock plus the lease
    assert all(w.claim() is None for w in workers)  # leased, not expired
    skewed = time.time() + 3600.0
    monkeypatch.setattr(time, "time", lambda: skewed)  # this host's clock is an hour fast
    assert all(w.claim() is None for w in workers)
    monkeypatch.undo()
    with sessions.begin() as s:  # the lease runs out by the database's clock
        s.execute(update(PlanRun).where(PlanRun.id == "r1").values(lease_expires_at=db_epoch() - 1.0))
    winner = next(w for w, c in zip(workers, claims, strict=True) if c)
    other = next(w for w in workers if w is not winner)
    assert other.claim() == "r1"  # the lease expired: taken over
    with sessions() as s:
        run = s.get(PlanRun, "r1")
        assert run.lease_owner == other.owner and run.attempts == 2
    engine.dispose()
