"""Helpers for the living-day API tests: a named Helsinki day a week ahead, published, and its events."""

from __future__ import annotations

import datetime as dt
import itertools
import json
from typing import Any
from zoneinfo import ZoneInfo

from apitools import assert_valid_plan, auth, ok, wait_run
from conftest import AUTH

TZ = ZoneInfo("Europe/Helsinki")
DAY = (dt.datetime.now(TZ) + dt.timedelta(days=7)).date().isoformat()
DEPOTS = [
    {"id": "W1", "kind": "warehouse", "location": [24.94, 60.17], "name": "Central warehouse"},
    {"id": "S1", "kind": "service_center", "location": [24.96, 60.19], "name": "Service centre"},
]
TECHNICIANS = [
    {"id": "T1", "name": "Maija Virtanen", "start": [24.93, 60.16], "shift": ["08:00", "18:00"]},
    {"id": "T2", "name": "Pekka Korhonen", "start": [24.97, 60.18], "shift": ["08:00", "18:00"]},
]
COURIERS = [
    {
        "id": "C1",
        "name": "Aino Laine",
        "depot": "W1",
        "capacity": {"volume": 10},
        "shift": ["08:00", "17:00"],
    },
    {
        "id": "C2",
        "name": "Juha Nieminen",
        "depot": "W1",
        "capacity": {"volume": 10},
        "shift": ["08:00", "17:00"],
    },
]
_SPOTS = [[24.90, 60.16], [24.92, 60.18], [24.95, 60.19], [24.98, 60.17], [24.96, 60.16], [24.93, 60.20]]
REPAIRS = [
    {
        "id": f"R{i}",
        "kind": "repair",
        "location": _SPOTS[i],
        "duration": 1800,
        "windows": [[a, b]],
        "customer": f"Customer R{i}",
    }
    for i, (a, b) in enumerate(
        [
            ("08:00", "12:00"),
            ("08:00", "12:00"),
            ("10:00", "14:00"),
            ("12:00", "16:00"),
            ("12:00", "17:00"),
            ("14:00", "18:00"),
        ]
    )
]
DELIVERIES = [
    {
        "id": f"D{i}",
        "kind": "delivery",
        "location": _SPOTS[(i + 2) % 6],
        "windows": [[a, b]],
        "items": {"volume": 2},
        "from": "W1",
    }
    for i, (a, b) in enumerate(
        [("08:00", "10:00"), ("09:00", "11:00"), ("11:00", "15:00"), ("13:00", "16:00")]
    )
]
JOBS = REPAIRS + DELIVERIES
CUSTOMER = ("deliver", "install", "swap", "collect", "visit")
_ids = itertools.count()


def day_request() -> dict[str, Any]:
    """The stored day as one v1 request (what the stored-plan run solves)."""
    return {
        "date": DAY,
        "timezone": "Europe/Helsinki",
        "depots": DEPOTS,
        "technicians": TECHNICIANS,
        "couriers": COURIERS,
        "jobs": JOBS,
    }


def publish_day(client: Any) -> dict[str, Any]:
    """Store the day, plan it in the background, check and publish the plan; the run."""
    for d in DEPOTS:
        ok(client.post("/v1/depots", json=d, headers=AUTH), 201)
    for t in TECHNICIANS:
        ok(client.post("/v1/technicians", json=t, headers=AUTH), 201)
    for c in COURIERS:
        ok(client.post("/v1/couriers", json=c, headers=AUTH), 201)
    for j in JOBS:
        ok(client.post("/v1/jobs", json={**j, "date": DAY}, headers=AUTH), 201)
    options = {"preset": "fast", "time_limit_s": 2, "solution_limit": 100}
    accepted = ok(client.post("/v1/plans", json={"date": DAY, "options": options}, headers=AUTH), 202)
    run = wait_run(client, accepted["id"], AUTH)
    assert run["status"] == "succeeded", run
    check_run(client, run["id"])
    assert run["plan"]["unassigned"] == [], run["plan"]["unassigned"]
    ok(client.post(f"/v1/plans/{run['id']}/publish", headers=AUTH))
    return run


def check_run(client: Any, run_id: str) -> dict[str, Any]:
    """A stored run's plan passes the validator against the run's own request; the plan."""
    request = ok(client.get(f"/v1/plans/{run_id}/request", headers=AUTH))
    plan = ok(client.get(f"/v1/plans/{run_id}", headers=AUTH))["plan"]
    assert_valid_plan(request, plan)
    return plan


def keys_for(client: Any) -> dict[str, dict[str, str]]:
    """A bound key for every resource."""
    out = {}
    for role, rows in (("technician", TECHNICIANS), ("courier", COURIERS)):
        for r in rows:
            body = {"role": role, "resource": r["id"]}
            out[r["id"]] = auth(ok(client.post("/v1/keys", json=body, headers=AUTH), 201)["key"])
    return out


def route(client: Any, resource: str, key: dict[str, str]) -> list[dict[str, Any]]:
    return ok(client.get(f"/v1/resources/{resource}/route", params={"date": DAY}, headers=key))["stops"]


def at(clock: str | dt.datetime) -> str:
    if isinstance(clock, dt.datetime):
        return clock.astimezone(TZ).isoformat()
    return dt.datetime.combine(
        dt.date.fromisoformat(DAY), dt.time.fromisoformat(clock), tzinfo=TZ
    ).isoformat()


def t(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def stop_events(resource: str, stops: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The events a resource's app sends for its customer stops when the day goes as planned."""
    out = []
    prev_end = None
    for s in stops:
        if s["type"] in CUSTOMER and s.get("job"):
            leave = t(prev_end) if prev_end else t(s["arrival"]) - dt.timedelta(minutes=5)
            for kind, when in (
                ("en_route", leave),
                ("arrived", t(s["arrival"])),
                ("started", t(s["start"])),
                ("completed", t(s["end"])),
            ):
                out.append(event(kind, s["job"], when, resource, s["location"]))
        if s["type"] not in ("start", "end"):
            prev_end = s["end"]
    return out


def event(kind: str, job: str | None, when: dt.datetime, resource: str, position=None, **extra: Any) -> dict:
    body: dict[str, Any] = {"id": f"ev-{next(_ids)}-{kind}", "kind": kind, "at": at(when), **extra}
    if job is not None:
        body["job"] = job
    if position is not None and kind == "position":
        body["position"] = list(position)
    body["_resource"] = resource
    return body


def send(client: Any, keys: dict[str, dict[str, str]], ev: dict[str, Any], status: int | None = None) -> Any:
    body = {k: v for k, v in ev.items() if not k.startswith("_")}
    r = client.post("/v1/events", json=body, headers=keys[ev["_resource"]])
    if status is not None:
        assert r.status_code == status, r.text
    return r


def sse(client: Any, path: str, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    """A finite server-sent-event stream (``once``) read to its end, as (event, data) dicts."""
    with client.stream("GET", path, params={"once": 1, **params}, headers=headers) as r:
        assert r.status_code == 200, r.read()
        assert r.headers["content-type"].startswith("text/event-stream")
        text = "".join(r.iter_text())
    frames = []
    for block in text.split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines() if line and not line.startswith(":"))
        if "data" in lines:
            frames.append({"event": lines.get("event"), **json.loads(lines["data"])})
    return frames
