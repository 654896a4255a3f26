"""Access control: who may see and touch what, on one published day shared by the module."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from apitools import DATE, FAST, auth, ok, store_day, wait_run
from conftest import AUTH, BACKENDS, settings_for
from fastapi.testclient import TestClient
from onestop.api import create_app
from onestop.api.keys import create as create_key


@pytest.fixture(scope="module", params=BACKENDS)
def world(request: pytest.FixtureRequest, databases) -> Iterator[dict[str, Any]]:
    """One planned and published day in zone "north", and keys for every role."""
    url = databases.new(request.param)
    with TestClient(create_app(settings_for(url)), raise_server_exceptions=False) as client:
        store_day(client, AUTH, zone="north")
        run = wait_run(
            client,
            ok(client.post("/v1/plans", json={"date": DATE, "options": FAST}, headers=AUTH), 202)["id"],
            AUTH,
        )
        assert run["status"] == "succeeded", run
        ok(client.post(f"/v1/plans/{run['id']}/publish", headers=AUTH))
        # a job in another zone, unplanned
        ok(
            client.post(
                "/v1/jobs",
                json={
                    "id": "S9",
                    "kind": "pickup",
                    "location": [24.9, 60.2],
                    "date": DATE,
                    "zone": "south",
                    "to": "S1",
                },
                headers=AUTH,
            ),
            201,
        )
        keys = {
            "c1": create_key("courier", resource="C1", database_url=url),
            "c2": create_key("courier", resource="C2", database_url=url),
            "t1": create_key("technician", resource="T1", database_url=url),
            "north": create_key("dispatcher", zone="north", database_url=url),
            "south": create_key("dispatcher", zone="south", database_url=url),
            "j1": create_key("customer", resource="J1", database_url=url),
        }
        yield {"client": client, "keys": {k: auth(v) for k, v in keys.items()}, "run": run}


def test_missing_or_wrong_key_is_401(world):
    """No key, a malformed header, an unknown key and a wrong secret are all refused with 401."""
    client = world["client"]
    real = world["keys"]["c1"]["Authorization"]
    for headers in (
        {},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer "},
        {"Authorization": "Bearer os_nosuchkey_secret"},
        {"Authorization": real[:-3] + "xyz"},
    ):
        r = client.get("/v1/resources/C1/route", params={"date": DATE}, headers=headers)
        assert r.status_code == 401, (headers, r.text)
        assert r.headers["content-type"] == "application/problem+json"
        assert r.headers["www-authenticate"] == "Bearer"


def test_courier_sees_only_its_own_route_and_jobs(world):
    """A courier reads its route and its jobs, never another courier's route or a job not on it."""
    client, keys = world["client"], world["keys"]
    mine = ok(client.get("/v1/resources/C1/route", params={"date": DATE}, headers=keys["c1"]))
    assert {s["job"] for s in mine["stops"] if s["job"]} == {"J1", "J2"}
    # what a key may not see answers like what does not exist: 404, never a 403 that confirms it
    assert client.get("/v1/resources/C2/route", params={"date": DATE}, headers=keys["c1"]).status_code == 404
    assert client.get("/v1/resources/T1/route", params={"date": DATE}, headers=keys["c1"]).status_code == 404
    assert ok(client.get("/v1/jobs/J1", headers=keys["c1"]))["resource"] == "C1"
    assert client.get("/v1/jobs/J3", headers=keys["c1"]).status_code == 404
    assert client.get("/v1/jobs/J1", headers=keys["c2"]).status_code == 404
    listed = ok(client.get("/v1/jobs", headers=keys["c1"]))
    assert {j["id"] for j in listed["items"]} == {"J1", "J2"}
    # an unused courier has an empty day, not someone else's
    assert ok(client.get("/v1/resources/C2/route", params={"date": DATE}, headers=keys["c2"]))["stops"] == []


def test_courier_cannot_dispatch(world):
    """Courier and technician keys cannot create, plan, publish or read plan runs."""
    client, keys = world["client"], world["keys"]
    for who in ("c1", "t1"):
        h = keys[who]
        job = {"kind": "pickup", "location": [24.9, 60.2], "date": DATE, "zone": "north"}
        assert client.post("/v1/jobs", json=job, headers=h).status_code == 403
        assert client.post("/v1/plans", json={"date": DATE}, headers=h).status_code == 403
        assert client.get(f"/v1/plans/{world['run']['id']}", headers=h).status_code == 403
        assert client.post(f"/v1/plans/{world['run']['id']}/publish", headers=h).status_code == 403
        assert client.get("/v1/couriers", headers=h).status_code == 403
        assert client.delete("/v1/jobs/J3", headers=h).status_code == 403
    tech = ok(client.get("/v1/resources/T1/route", params={"date": DATE}, headers=keys["t1"]))
    assert [s["job"] for s in tech["stops"] if s["job"]] == ["J3"]


def test_customer_token_sees_only_its_job(world):
    """A customer token reads its job's status and nothing else."""
    client, h = world["client"], world["keys"]["j1"]
    status = ok(client.get("/v1/jobs/J1/status", headers=h))
    assert status["id"] == "J1" and status["status"] == "scheduled" and status["planned_start"]
    assert status["resource_kind"] == "courier"
    for path in ("/v1/jobs/J2/status", "/v1/jobs/NOPE/status"):
        assert client.get(path, headers=h).status_code == 404, path  # another job, or none: the same
    for path in (
        "/v1/jobs/J1",
        "/v1/jobs",
        "/v1/resources/C1/route?date=" + DATE,
        "/v1/depots",
    ):
        assert client.get(path, headers=h).status_code == 403, path
    assert client.post("/v1/jobs/J1/status", json={"status": "completed"}, headers=h).status_code == 403


def test_zone_dispatcher_stays_in_its_zone(world):
    """A dispatcher limited to a zone works there; another zone's rows are 404, other zones named 403."""
    client, keys = world["client"], world["keys"]
    north, south = keys["north"], keys["south"]
    assert ok(client.get("/v1/jobs/J1", headers=north))["zone"] == "north"
    assert client.get("/v1/jobs/J1", headers=south).status_code == 404
    assert client.get("/v1/jobs/S9", headers=north).status_code == 404
    assert ok(client.get("/v1/jobs/S9", headers=south))["zone"] == "south"
    assert {j["id"] for j in ok(client.get("/v1/jobs", headers=south))["items"]} == {"S9"}
    assert client.get("/v1/jobs", params={"zone": "north"}, headers=south).status_code == 403
    assert client.get("/v1/resources/C1/route", params={"date": DATE}, headers=south).status_code == 404
    assert ok(client.get("/v1/resources/C1/route", params={"date": DATE}, headers=north))["resource"] == "C1"
    # writes: only in its own zone; a job without a zone lands in the dispatcher's zone
    other = {"kind": "pickup", "location": [24.9, 60.2], "date": DATE, "zone": "north", "to": "S1"}
    assert client.post("/v1/jobs", json=other, headers=south).status_code == 403
    made = ok(client.post("/v1/jobs", json={**other, "zone": None}, headers=south), 201)
    assert made["zone"] == "south"
    assert client.delete(f"/v1/jobs/{made['id']}", headers=north).status_code == 404
    assert client.delete(f"/v1/jobs/{made['id']}", headers=south).status_code == 204
    # plan runs: a zone's own, never another's or a zone-less one
    assert client.get(f"/v1/plans/{world['run']['id']}", headers=south).status_code == 404
    assert client.post("/v1/plans", json={"date": DATE, "zone": "north"}, headers=south).status_code == 403
    assert client.post("/v1/keys", json={"role": "dispatcher"}, headers=north).status_code == 403


def test_revoked_key_is_refused(world):
    """A revoked key answers 401 from then on."""
    client = world["client"]
    made = ok(client.post("/v1/keys", json={"role": "courier", "resource": "C1"}, headers=AUTH), 201)
    ok(client.get("/v1/resources/C1/route", params={"date": DATE}, headers=auth(made["key"])))
    assert client.delete(f"/v1/keys/{made['id']}", headers=AUTH).status_code == 204
    assert (
        client.get("/v1/resources/C1/route", params={"date": DATE}, headers=auth(made["key"])).status_code
        == 401
    )
