"""No lost booking: two real server processes on one database (SQLite file or PostgreSQL) take
concurrent bookings, publishes and re-plans. Every 201 booking is on the final published plan;
every refused one is a 409 whose type says why (`slot-taken`, `plan-moved` naming the newer
version). The day is planned and published first through the app itself."""

from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from apitools import wait_for
from conftest import AUTH, BACKENDS, BOOTSTRAP, Databases, settings_for
from fastapi.testclient import TestClient
from livetools import DAY, TZ, check_run, publish_day
from onestop.api import create_app

PROBLEM = "urn:onestop:problem:"
#: The database behind each pair of servers, by the first server's base URL.
URLS: dict[str, str] = {}
SLOTS = [(8, 10), (10, 12), (12, 14), (14, 16), (16, 18)]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(url: str, log_path: Any) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "ONESTOP_BOOTSTRAP_KEY": BOOTSTRAP,
        "ONESTOP_WARM_SOLVER": "false",
        "ONESTOP_EMBEDDED_WORKER": "false",
        "ONESTOP_TIMEZONE": "Europe/Helsinki",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "onestop.api.serve", "--port", str(port)],
        env=env,
        stdout=log_path.open("wb"),
        stderr=subprocess.STDOUT,
    )
    return proc, f"http://127.0.0.1:{port}"


@pytest.fixture(params=BACKENDS)
def servers(request: pytest.FixtureRequest, databases: Databases, tmp_path: Any) -> Iterator[list[str]]:
    """A published day on a fresh database, then two server processes sharing it; their base
    URLs (the database's URL is kept in ``URLS`` under the first)."""
    url = databases.new(request.param)
    with TestClient(create_app(settings_for(url)), raise_server_exceptions=False) as client:
        publish_day(client)
    procs = [_serve(url, tmp_path / f"serve{i}.log") for i in range(2)]
    bases = [b for _, b in procs]

    def _up(base: str) -> Callable[[], bool]:
        def check() -> bool:
            try:
                return httpx.get(f"{base}/healthz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        return check

    try:
        for base in bases:
            wait_for(_up(base), timeout=60, interval=0.2, what=f"{base} to listen")
        URLS[bases[0]] = url
        yield bases
    finally:
        for proc, _ in procs:
            proc.terminate()
        for proc, _ in procs:
            proc.wait(timeout=30)


def _window(i: int) -> list[str]:
    day = dt.date.fromisoformat(DAY)
    a, b = SLOTS[i % len(SLOTS)]
    return [
        dt.datetime.combine(day, dt.time(a), tzinfo=TZ).isoformat(),
        dt.datetime.combine(day, dt.time(b), tzinfo=TZ).isoformat(),
    ]


def _booking(i: int) -> dict[str, Any]:
    spot = [24.91 + 0.004 * (i % 10), 60.16 + 0.003 * (i // 10)]
    job = {"id": f"B{i}", "kind": "repair", "location": spot, "duration": 900, "customer": f"Booked {i}"}
    return {"job": job, "window": _window(i), "date": DAY}


def _live_run(base: str) -> str:
    runs = httpx.get(f"{base}/v1/plans", params={"date": DAY, "limit": 1000}, headers=AUTH, timeout=30).json()
    live = [r["id"] for r in runs["items"] if r["published"]]
    assert len(live) == 1, live
    return live[0]


def _on_plan(base: str, run_id: str) -> tuple[set[str], set[str]]:
    """(jobs routed, jobs listed unassigned) on a run's plan."""
    plan = httpx.get(f"{base}/v1/plans/{run_id}", headers=AUTH, timeout=30).json()["plan"]
    routed = {s["job"] for r in plan["routes"] for s in r["stops"] if s.get("job")}
    return routed, {u["job"] for u in plan["unassigned"]}


def _all_at_once(calls: list[Callable[[], httpx.Response]]) -> list[httpx.Response]:
    """Run the calls in threads released together by a barrier."""
    gate = threading.Barrier(len(calls))

    def go(call: Callable[[], httpx.Response]) -> httpx.Response:
        gate.wait()
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(go, calls))


def _book(base: str, body: dict[str, Any]) -> Callable[[], httpx.Response]:
    return lambda: httpx.post(f"{base}/v1/appointments", json=body, headers=AUTH, timeout=120)


def _check_refusal(response: httpx.Response, versions: set[str]) -> None:
    """A refused booking or publish is a 409 saying why; `plan-moved` names a real newer version."""
    assert response.status_code == 409, response.text
    problem = response.json()
    assert problem["type"] in (PROBLEM + "plan-moved", PROBLEM + "slot-taken"), problem
    if problem["type"] == PROBLEM + "plan-moved":
        assert problem["live_run"] in versions and problem["live_run"] in problem["detail"], problem
    else:
        assert problem["plan_run"] in versions, problem


def _versions(base: str) -> set[str]:
    runs = httpx.get(f"{base}/v1/plans", params={"date": DAY, "limit": 1000}, headers=AUTH, timeout=30).json()
    return {r["id"] for r in runs["items"]}


def test_twenty_bookings_at_once_none_lost(servers: list[str]) -> None:
    """20 bookings released together across two server processes: each 201 is on the final plan."""
    bodies = [_booking(i) for i in range(20)]
    answers = _all_at_once([_book(servers[i % 2], b) for i, b in enumerate(bodies)])
    booked = {b["job"]["id"]: a.json() for b, a in zip(bodies, answers, strict=True) if a.status_code == 201}
    versions = _versions(servers[0])
    for a in answers:
        if a.status_code != 201:
            _check_refusal(a, versions)
    assert len(booked) >= 10, [a.text for a in answers if a.status_code != 201]
    live = _live_run(servers[1])
    routed, _ = _on_plan(servers[0], live)
    assert set(booked) <= routed, sorted(set(booked) - routed)
    # each 201 made its own version, and they form one chain: nothing was published beside another
    assert len({b["plan_run"] for b in booked.values()}) == len(booked)
    for job_id in booked:
        row = httpx.get(f"{servers[0]}/v1/jobs/{job_id}", headers=AUTH, timeout=30).json()
        assert row["status"] == "scheduled" and row["plan_run"] == live, row
    refused = {b["job"]["id"] for b, a in zip(bodies, answers, strict=True) if a.status_code != 201}
    for job_id in refused:  # a refused booking leaves nothing behind
        assert httpx.get(f"{servers[0]}/v1/jobs/{job_id}", headers=AUTH, timeout=30).status_code == 404
    with TestClient(create_app(settings_for(URLS[servers[0]])), raise_server_exceptions=False) as client:
        check_run(client, live)


def test_bookings_publishes_and_replans_race(servers: list[str]) -> None:
    """Bookings, re-plans that publish, and publishes of stale runs, all at once on two processes."""
    first = _live_run(servers[0])
    at = dt.datetime.combine(dt.date.fromisoformat(DAY), dt.time(7), tzinfo=TZ).isoformat()
    replan = {"at": at, "publish": True, "preset": "fast", "time_limit_s": 1}
    bodies = [_booking(100 + i) for i in range(8)]
    calls: list[Callable[[], httpx.Response]] = [_book(servers[i % 2], b) for i, b in enumerate(bodies)]
    calls += [
        (lambda s=s: httpx.post(f"{s}/v1/plans/{first}/replan", json=replan, headers=AUTH, timeout=120))
        for s in servers
    ]
    calls += [
        (lambda s=s: httpx.post(f"{s}/v1/plans/{first}/publish", headers=AUTH, timeout=120)) for s in servers
    ]
    answers = _all_at_once(calls)
    versions = _versions(servers[0])
    live = _live_run(servers[1])
    routed, unassigned = _on_plan(servers[0], live)
    bookings, replans, publishes = answers[:8], answers[8:10], answers[10:]
    for body, a in zip(bodies, bookings, strict=True):
        if a.status_code == 201:
            job_id = body["job"]["id"]
            assert job_id in routed, (job_id, a.json(), live)
        else:
            _check_refusal(a, versions)
    for a in replans:
        if a.status_code == 201:
            assert a.json()["published"]
        else:  # refused before solving (its base was superseded) or stored but not published
            _check_refusal(a, versions)
            detail = a.json()["detail"]
            assert "stored as run" in detail or "was superseded by the published run" in detail, detail
    for a in publishes:
        # the first plan is live again only if nothing else was published; else it is refused
        if a.status_code == 200:
            assert a.json()["run"] == first
        else:
            _check_refusal(a, versions)
    # the live plan is the last version some caller was told it published
    made = {a.json()["plan_run"] for a in bookings if a.status_code == 201}
    made |= {a.json()["id"] for a in replans if a.status_code == 201}
    assert live in made or (live == first and not made), (live, made)
