"""The authorization table, walked exhaustively: every route the app serves (a route without an
entry fails), every role (dispatcher for all zones, dispatcher of zone north, courier, technician,
customer tracking token), and for a route naming an object: in-zone and out-of-zone, own and
other resource, own and other job. On SQLite and PostgreSQL. What may be seen is written out by
hand below from the day's facts, so the test checks the table against them, not against itself."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from apitools import DATE, FAST, auth, ok, store_day, wait_run, whole_request
from conftest import AUTH, BACKENDS, settings_for
from fastapi.testclient import TestClient
from onestop.api import create_app
from onestop.api.access import ALL_ZONES, TABLE, app_routes
from onestop.api.keys import create as create_key

SQUARE = {
    "type": "Polygon",
    "coordinates": [[[24.0, 60.0], [25.5, 60.0], [25.5, 60.5], [24.0, 60.5], [24.0, 60.0]]],
}
FAR = {
    "type": "Polygon",
    "coordinates": [[[22.0, 60.4], [22.4, 60.4], [22.4, 60.6], [22.0, 60.6], [22.0, 60.4]]],
}


@pytest.fixture(scope="module", params=BACKENDS)
def world(request: pytest.FixtureRequest, databases: Any) -> Iterator[dict[str, Any]]:
    """Zone north: the stored day, planned and published by zone (C1 delivers J1 and J2, T1 does J3);
    zone south: a depot, a courier, a technician and a job; a zone-less run from a whole request."""
    url = databases.new(request.param)
    with TestClient(create_app(settings_for(url)), raise_server_exceptions=False) as client:
        ok(client.post("/v1/zones", json={"id": "north", "geometry": SQUARE}, headers=AUTH), 201)
        ok(client.post("/v1/zones", json={"id": "south", "geometry": FAR}, headers=AUTH), 201)
        store_day(client, AUTH, zone="north")
        body = {"date": DATE, "zone": "north", "options": FAST}
        north_run = wait_run(client, ok(client.post("/v1/plans", json=body, headers=AUTH), 202)["id"], AUTH)
        assert north_run["status"] == "succeeded", north_run
        ok(client.post(f"/v1/plans/{north_run['id']}/publish", headers=AUTH))
        south = {"zone": "south"}
        north_depot = {"id": "WN", "kind": "warehouse", "location": [24.9, 60.2], "zone": "north"}
        ok(client.post("/v1/depots", json=north_depot, headers=AUTH), 201)
        ok(
            client.post(
                "/v1/depots",
                json={"id": "WS", "kind": "warehouse", "location": [22.2, 60.5], **south},
                headers=AUTH,
            ),
            201,
        )
        courier = {"id": "CS", "depot": "WS", "capacity": {"volume": 5}, "shift": ["08:00", "17:00"], **south}
        ok(client.post("/v1/couriers", json=courier, headers=AUTH), 201)
        tech = {"id": "TS", "start": [22.2, 60.5], "shift": ["08:00", "17:00"], **south}
        ok(client.post("/v1/technicians", json=tech, headers=AUTH), 201)
        job = {"id": "S9", "kind": "pickup", "location": [22.2, 60.45], "date": DATE, "to": "S1", **south}
        ok(client.post("/v1/jobs", json=job, headers=AUTH), 201)
        zoneless = ok(client.post("/v1/plans", json=whole_request(**FAST), headers=AUTH), 202)["id"]
        keys = {
            "all": AUTH,
            "north": auth(create_key("dispatcher", zone="north", database_url=url)),
            "courier": auth(create_key("courier", resource="C1", database_url=url)),
            "technician": auth(create_key("technician", resource="T1", database_url=url)),
            "customer": auth(create_key("customer", resource="J1", database_url=url)),
        }
        jobs = {j["id"]: j for j in ok(client.get("/v1/jobs", headers=AUTH))["items"]}
        assert jobs["J1"]["resource"] == "C1" and jobs["J3"]["resource"] == "T1", jobs
        yield {
            "client": client,
            "keys": keys,
            "north_run": north_run["id"],
            "zoneless_run": zoneless,
            "jobs": jobs,
        }


ROLE_OF = {
    "all": "dispatcher",
    "north": "dispatcher",
    "courier": "courier",
    "technician": "technician",
    "customer": "customer",
}


def _objects(world: dict[str, Any]) -> dict[str, list[str]]:
    """For each path parameter: an own / in-zone object and other / out-of-zone ones."""
    c1_jobs = [j for j, row in world["jobs"].items() if row["resource"] == "C1"]
    return {
        "job_id": sorted({"J1", "J3", "S9", *c1_jobs}),
        "ident@depots": ["W1", "WN", "WS"],  # W1 belongs to no zone
        "ident@technicians": ["T1", "TS"],
        "ident@couriers": ["C1", "C2", "CS"],
        "zone_id": ["north", "south"],
        "run_id": [world["north_run"], world["zoneless_run"]],
        "resource_id": ["C1", "C2", "T1", "CS"],
        "key_id": ["no-such-key"],
    }


def _visible(world: dict[str, Any]) -> dict[str, set[str]]:
    """What each key may see, from the day's facts."""
    c1_jobs = {j for j, row in world["jobs"].items() if row["resource"] == "C1"}
    t1_jobs = {j for j, row in world["jobs"].items() if row["resource"] == "T1"}
    north = {"J1", "J3", *c1_jobs, "WN", "T1", "C1", "C2", "north", world["north_run"]}
    everything = north | {"W1", "S1", "S9", "WS", "TS", "CS", "south", world["zoneless_run"]}
    return {
        "all": everything,
        "north": north,
        "courier": {"C1", *c1_jobs},
        "technician": {"T1", *t1_jobs},
        "customer": {"J1"},
    }


def _param(path: str) -> str | None:
    for name in ("job_id", "zone_id", "run_id", "resource_id", "key_id"):
        if "{" + name + "}" in path:
            return name
    if "{ident}" in path:
        return "ident@" + path.split("/")[2]
    return None


def test_every_route_has_an_entry(world):
    """Every route the app serves is in the table, and the table names no route that is gone."""
    served = app_routes(world["client"].app)
    missing = [r for r in served if r not in TABLE]
    assert not missing, f"routes without an authorization entry: {missing}"
    assert not [k for k in TABLE if k not in served]


def test_the_table_is_enforced_for_every_route_role_and_object(world):
    client, keys = world["client"], world["keys"]
    objects, visible = _objects(world), _visible(world)
    checked = 0
    deleted: set[str] = set()  # allowed DELETEs really delete: they run last, and are remembered
    for method, path in sorted(app_routes(client.app), key=lambda r: r[0] == "DELETE"):
        rule = TABLE[(method, path)]
        if rule.public:
            assert client.request(method, path).status_code < 400, path
            continue
        param = _param(path)
        idents = objects[param] if param else [None]
        for who, headers in keys.items():
            binding = rule.roles.get(ROLE_OF[who])
            for ident in idents:
                url = path.replace("{" + param.split("@")[0] + "}", ident) if param else path
                # an invalid body for every write: an allowed caller gets 422, nothing changes
                kwargs: dict[str, Any] = {"headers": headers, "params": {"date": DATE, "once": 1}}
                if method in ("POST", "PUT"):
                    # (POST /v1/plans reads a body of unknown fields as a whole request, which
                    # belongs to no zone: a stored-day body with a bad date is its invalid body)
                    bad = {"date": "not-a-date"} if path == "/v1/plans" else {"__not_a_field__": 1}
                    kwargs["json"] = bad
                r = client.request(method, url, **kwargs)
                where = f"{who} {method} {url}: {r.status_code} {r.text[:200]}"
                assert r.status_code != 401, where
                if binding is None or (binding == ALL_ZONES and who == "north"):
                    assert r.status_code == 403, where
                elif rule.target is not None and param != "key_id" and ident not in visible[who]:
                    assert r.status_code == 404 and r.json()["type"].endswith("not-found"), where
                elif ident in deleted:
                    assert r.status_code == 404, where
                else:
                    if method == "DELETE" and r.status_code == 204 and ident is not None:
                        deleted.add(ident)
                    assert r.status_code not in (401, 403), where
                    assert not (r.status_code == 404 and r.json()["type"].endswith("not-found")) or (
                        param == "key_id"
                    ), where
                checked += 1
    assert checked > 300


def test_zone_key_stays_in_its_zone_for_quotes_bookings_publishes_reads(world):
    """Zone north has a plan of its own; a north key never reaches the zone-less run or zone south."""
    client, north = world["client"], world["keys"]["north"]
    job = {"id": "Q1", "kind": "repair", "location": [24.95, 60.18], "duration": 900}
    mine = ok(client.post("/v1/appointments/quote", json={"job": job, "date": DATE}, headers=north))
    assert mine["plan_run"] == world["north_run"]
    named = client.post(
        "/v1/appointments/quote", json={"job": job, "date": DATE, "zone": "north"}, headers=north
    )
    assert ok(named)["plan_run"] == world["north_run"]
    for body in ({"job": job, "date": DATE, "zone": "south"},):
        assert client.post("/v1/appointments/quote", json=body, headers=north).status_code == 403
        window = [f"{DATE}T10:00:00+02:00", f"{DATE}T12:00:00+02:00"]
        booking = {"job": job, "window": window, "date": DATE, "zone": "south"}
        assert client.post("/v1/appointments", json=booking, headers=north).status_code == 403
    zoneless = world["zoneless_run"]
    assert client.get(f"/v1/plans/{zoneless}", headers=north).status_code == 404
    assert client.post(f"/v1/plans/{zoneless}/publish", headers=north).status_code == 404
    assert client.get("/v1/jobs/S9", headers=north).status_code == 404
    assert client.get("/v1/couriers/CS", headers=north).status_code == 404


def test_zone_without_its_own_plan_is_never_answered_from_the_all_zones_plan(client):
    """The published plan is zone-less; a zone key naming its own zone gets 404 and books nothing,
    and the all-zones plan stays as it was."""
    store_day(client, AUTH, zone="north")
    run = wait_run(
        client,
        ok(client.post("/v1/plans", json={"date": DATE, "options": FAST}, headers=AUTH), 202)["id"],
        AUTH,
    )
    ok(client.post(f"/v1/plans/{run['id']}/publish", headers=AUTH))
    key = auth(
        ok(client.post("/v1/keys", json={"role": "dispatcher", "zone": "north"}, headers=AUTH), 201)["key"]
    )
    job = {"id": "Q2", "kind": "repair", "location": [24.95, 60.18], "duration": 900}
    quoted = client.post(
        "/v1/appointments/quote", json={"job": job, "date": DATE, "zone": "north"}, headers=key
    )
    assert quoted.status_code == 404 and "zone 'north'" in quoted.json()["detail"], quoted.text
    window = [f"{DATE}T10:00:00+02:00", f"{DATE}T12:00:00+02:00"]
    booked = client.post(
        "/v1/appointments", json={"job": job, "window": window, "date": DATE, "zone": "north"}, headers=key
    )
    assert booked.status_code == 404, booked.text
    assert client.get("/v1/jobs/Q2", headers=AUTH).status_code == 404
    runs = ok(client.get("/v1/plans", params={"date": DATE}, headers=AUTH))["items"]
    assert [r["id"] for r in runs if r["published"]] == [run["id"]]
    assert client.post(f"/v1/plans/{run['id']}/publish", headers=key).status_code == 404
