"""A delivery_installation split between a courier and a technician: each crew reports its own half."""

from __future__ import annotations

import datetime as dt

from apitools import auth, ok, wait_run
from conftest import AUTH
from livetools import DAY, DEPOTS, event, route, send, t

TECH = {
    "id": "T1",
    "name": "Maija Virtanen",
    "start": [24.93, 60.16],
    "shift": ["08:00", "18:00"],
    "brands": ["LG"],
    "skills": ["washer"],
}
COURIER = {
    "id": "C1",
    "name": "Aino Laine",
    "depot": "W1",
    "capacity": {"volume": 10},
    "shift": ["08:00", "17:00"],
}
JOB = {
    "id": "DI1",
    "kind": "delivery_installation",
    "location": [24.95, 60.19],
    "windows": [["09:00", "15:00"]],
    "duration": 3600,
    "brand": "LG",
    "skills": ["washer"],
    "items": {"volume": 2},
    "from": "W1",
}


def _publish(client) -> dict[str, dict[str, str]]:
    for d in DEPOTS:
        ok(client.post("/v1/depots", json=d, headers=AUTH), 201)
    ok(client.post("/v1/technicians", json=TECH, headers=AUTH), 201)
    ok(client.post("/v1/couriers", json=COURIER, headers=AUTH), 201)
    ok(client.post("/v1/jobs", json={**JOB, "date": DAY}, headers=AUTH), 201)
    options = {"preset": "fast", "time_limit_s": 2, "solution_limit": 100}
    accepted = ok(client.post("/v1/plans", json={"date": DAY, "options": options}, headers=AUTH), 202)
    run = wait_run(client, accepted["id"], AUTH)
    assert run["status"] == "succeeded" and run["plan"]["unassigned"] == [], run
    ok(client.post(f"/v1/plans/{run['id']}/publish", headers=AUTH))
    keys = {}
    for role, rid in (("technician", "T1"), ("courier", "C1")):
        body = {"role": role, "resource": rid}
        keys[rid] = auth(ok(client.post("/v1/keys", json=body, headers=AUTH), 201)["key"])
    return keys


def _half(client, keys, resource: str, stop_type: str) -> list[dict]:
    stop = next(
        s for s in route(client, resource, keys[resource]) if s.get("job") == "DI1" and s["type"] == stop_type
    )
    return [
        event("en_route", "DI1", t(stop["arrival"]) - dt.timedelta(minutes=10), resource),
        event("arrived", "DI1", t(stop["arrival"]), resource),
        event("started", "DI1", t(stop["start"]), resource),
        event("completed", "DI1", t(stop["end"]), resource),
    ]


def test_split_delivery_installation_events_per_crew(client):
    keys = _publish(client)
    token = auth(ok(client.post("/v1/jobs/DI1/tracking-token", headers=AUTH), 201)["key"])
    deliver, install = _half(client, keys, "C1", "deliver"), _half(client, keys, "T1", "install")
    # the technician sets off once the courier has delivered
    install[0]["at"] = max(install[0]["at"], deliver[-1]["at"], key=t)

    # the courier's half: the job's status follows it, then "delivered"
    for e in deliver:
        out = send(client, keys, e, 201).json()
        assert out["state"] == e["kind"]
    assert send(client, keys, deliver[-1], 200).json()["duplicate"] is True  # a repeat is taken once
    assert out["status"] == "delivered"
    tl = ok(client.get("/v1/jobs/DI1/timeline", headers=token))
    assert tl["state"] == "delivered" and tl["status"] == "delivered"
    assert tl["message"].startswith("delivered") and tl["resource"]["id"] == "T1"
    assert ok(client.get("/v1/jobs/DI1", headers=AUTH))["status"] == "delivered"
    # the courier cannot go on after its completion; a stranger may not report
    late = event("started", "DI1", t(deliver[-1]["at"]) + dt.timedelta(minutes=1), "C1")
    assert send(client, keys, late, 409).status_code == 409

    # the technician's half, in its own state machine (no 409 after the courier completed)
    first = send(client, keys, install[0], 201).json()
    assert first["state"] == "en_route" and first["status"] == "on_the_way"
    tl = ok(client.get("/v1/jobs/DI1/timeline", headers=token))
    assert tl["message"].startswith("Technician on the way"), tl["message"]
    assert tl["resource"]["first_name"] == "Maija"
    # out of order within the half: completed before started is taken and ordered by time
    send(client, keys, install[3], 201)
    assert ok(client.get("/v1/jobs/DI1", headers=AUTH))["status"] == "completed"
    send(client, keys, install[2], 201)
    send(client, keys, install[1], 201)
    before = event("en_route", "DI1", t(install[3]["at"]) + dt.timedelta(minutes=5), "T1")
    assert send(client, keys, before, 409).status_code == 409

    tl = ok(client.get("/v1/jobs/DI1/timeline", headers=token))
    assert tl["state"] == "completed" and tl["status"] == "completed" and tl["message"] == "completed"
    app = [(s["stop"], s["state"]) for s in tl["steps"] if s["source"] == "app"]
    assert app == [
        ("deliver", "en_route"),
        ("deliver", "arrived"),
        ("deliver", "started"),
        ("deliver", "delivered"),
        ("install", "en_route"),
        ("install", "arrived"),
        ("install", "started"),
        ("install", "completed"),
    ], tl["steps"]
    times = [t(s["at"]) if isinstance(s["at"], str) else s["at"] for s in tl["steps"]]
    assert times == sorted(times)
    assert {s["resource"] for s in tl["steps"] if s["source"] == "app"} == {"C1", "T1"}


def test_split_job_fails_if_a_half_fails(client):
    keys = _publish(client)
    deliver = _half(client, keys, "C1", "deliver")
    send(client, keys, deliver[0], 201)
    failed = event("failed", "DI1", t(deliver[1]["at"]), "C1", reason="customer_absent")
    assert send(client, keys, failed, 201).json()["status"] == "failed"
    tl = ok(client.get("/v1/jobs/DI1/timeline", headers=AUTH))
    assert tl["state"] == "failed" and tl["message"] == "not completed: customer absent"
