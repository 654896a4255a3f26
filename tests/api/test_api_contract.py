"""The contract as users write it, over HTTP: decimal amounts, courier starts, bad amounts named."""

from __future__ import annotations

from apitools import DATE, DEPOTS, FAST, assert_valid_plan, ok, wait_run, whole_request
from conftest import AUTH


def test_decimal_amounts_and_courier_start_through_a_whole_request(client):
    """m³ and kg with decimals are planned and come back in the same units; a courier's start is kept."""
    request = whole_request()
    request["couriers"] = [
        {
            "id": "C1",
            "depot": "W1",
            "start": [24.93, 60.175],
            "capacity": {"volume_m3": 1.5, "weight_kg": 250.5},
            "shift": ["08:00", "17:00"],
        }
    ]
    for job in request["jobs"]:
        if "items" in job:
            job["items"] = {"volume_m3": 0.35, "weight_kg": 42.5}
    accepted = ok(client.post("/v1/plans", json=request, headers=AUTH), 202)
    run = wait_run(client, accepted["id"], AUTH)
    assert run["status"] == "succeeded", run
    plan = run["plan"]
    assert_valid_plan(request, plan)
    route = next(r for r in plan["routes"] if r["resource"] == "C1")
    assert route["stops"][0]["location"] == [24.93, 60.175]
    loads = [s["load"] for s in route["stops"]]
    assert {"volume_m3": 0.35, "weight_kg": 42.5} in loads


def test_stored_courier_and_job_keep_their_decimals(client):
    """A courier and a job stored with decimal amounts read back as written."""
    for d in DEPOTS:
        ok(client.post("/v1/depots", json=d, headers=AUTH), 201)
    courier = {"id": "C9", "depot": "W1", "start": [24.93, 60.17], "capacity": {"volume_m3": 1.25},
               "shift": ["08:00", "17:00"]}
    ok(client.post("/v1/couriers", json=courier, headers=AUTH), 201)
    got = ok(client.get("/v1/couriers/C9", headers=AUTH))
    assert got["capacity"] == {"volume_m3": 1.25} and got["start"] == [24.93, 60.17]
    job = {"id": "J9", "kind": "pickup", "location": [24.92, 60.18], "items": {"volume_m3": 0.125},
           "to": "S1", "date": DATE}
    ok(client.post("/v1/jobs", json=job, headers=AUTH), 201)
    assert ok(client.get("/v1/jobs/J9", headers=AUTH))["items"] == {"volume_m3": 0.125}


def test_bad_amount_is_422_naming_the_field(client):
    request = whole_request(**FAST)
    request["jobs"][0]["items"] = {"volume": -0.5}
    r = client.post("/v1/plans", json=request, headers=AUTH)
    assert r.status_code == 422, r.text
    locs = [e["loc"] for e in r.json()["errors"]]
    assert any("jobs" in str(loc) and "volume" in str(loc) for loc in locs), locs
