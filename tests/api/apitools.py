"""Factories and helpers for the API tests: a small Helsinki day, polling with a deadline."""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

DATE = "2026-03-02"
TIMEZONE = "Europe/Helsinki"

DEPOTS = [
    {"id": "W1", "kind": "warehouse", "location": [24.94, 60.17], "name": "Central warehouse"},
    {"id": "S1", "kind": "service_center", "location": [24.96, 60.19], "name": "Service centre"},
]
TECHNICIANS = [
    {
        "id": "T1",
        "brands": ["acme"],
        "skills": ["washer"],
        "start": [24.93, 60.16],
        "shift": ["08:00", "17:00"],
    },
]
COURIERS = [
    {"id": "C1", "depot": "W1", "capacity": {"volume": 10}, "shift": ["08:00", "17:00"]},
    {"id": "C2", "depot": "W1", "capacity": {"volume": 10}, "shift": ["08:00", "17:00"]},
]
JOBS = [
    {
        "id": "J1",
        "kind": "delivery",
        "location": [24.95, 60.18],
        "windows": [["09:00", "11:00"]],
        "items": {"volume": 2},
        "from": "W1",
        "address": "Mannerheimintie 1",
        "customer": "A. Virtanen",
    },
    {
        "id": "J2",
        "kind": "pickup",
        "location": [24.92, 60.18],
        "windows": [["10:00", "12:00"]],
        "items": {"volume": 1},
        "to": "S1",
        "address": "Runeberginkatu 5",
    },
    {
        "id": "J3",
        "kind": "repair",
        "location": [24.91, 60.17],
        "duration": 1800,
        "brand": "acme",
        "skills": ["washer"],
        "address": "Hietalahdentori 2",
    },
]
FAST = {"preset": "fast", "solution_limit": 20}


def whole_request(**options: Any) -> dict[str, Any]:
    """The same day as one v1 request."""
    return {
        "date": DATE,
        "timezone": TIMEZONE,
        "depots": copy.deepcopy(DEPOTS),
        "technicians": copy.deepcopy(TECHNICIANS),
        "couriers": copy.deepcopy(COURIERS),
        "jobs": copy.deepcopy(JOBS),
        "options": options or dict(FAST),
    }


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def store_day(client: TestClient, headers: dict[str, str], *, zone: str | None = None) -> None:
    """Create the day's depots, resources and jobs through the API."""
    extra = {"zone": zone} if zone else {}
    for d in DEPOTS:
        ok(client.post("/v1/depots", json=d, headers=headers), 201)
    for t in TECHNICIANS:
        ok(client.post("/v1/technicians", json={**t, **extra}, headers=headers), 201)
    for c in COURIERS:
        ok(client.post("/v1/couriers", json={**c, **extra}, headers=headers), 201)
    for j in JOBS:
        ok(client.post("/v1/jobs", json={**j, "date": DATE, **extra}, headers=headers), 201)


def wait_for(
    check: Callable[[], Any], *, timeout: float = 30.0, interval: float = 0.1, what: str = ""
) -> Any:
    """Poll ``check`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what or check}; last={last!r}")


def wait_run(
    client: TestClient, run_id: str, headers: dict[str, str], timeout: float = 60.0
) -> dict[str, Any]:
    """Poll a plan run until it is finished; returns its final state."""

    def _done() -> dict[str, Any] | None:
        body = ok(client.get(f"/v1/plans/{run_id}", headers=headers))
        return body if body["status"] in ("succeeded", "failed", "cancelled") else None

    return wait_for(_done, timeout=timeout, what=f"run {run_id}")


def assert_valid_plan(request: dict[str, Any], plan: dict[str, Any]) -> None:
    """Every plan a test sees passes dispatch's independent validator (when it exists)."""
    try:
        from onestop.dispatch.validator import validate_plan
    except ImportError:  # pragma: no cover - the validator arrives in another issue
        return
    assert [str(v) for v in validate_plan(request, plan)] == []
