"""Bad input answers 4xx in the problem-details shape, naming the field; never 500."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from apitools import COURIERS, DATE, DEPOTS, JOBS, ok, whole_request
from conftest import AUTH, BACKENDS, settings_for
from fastapi.testclient import TestClient
from onestop.api import create_app


@pytest.fixture(scope="module", params=BACKENDS)
def api(request: pytest.FixtureRequest, databases) -> Iterator[TestClient]:
    """One app per backend with the day's depots and job J1 stored."""
    url = databases.new(request.param)
    with TestClient(create_app(settings_for(url)), raise_server_exceptions=False) as client:
        for d in whole_request()["depots"]:
            ok(client.post("/v1/depots", json=d, headers=AUTH), 201)
        ok(client.post("/v1/jobs", json={**JOBS[0], "date": DATE}, headers=AUTH), 201)
        yield client


def _problem(response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status and body["title"] and body["type"].startswith("urn:onestop:problem:")
    assert "Traceback" not in response.text
    return body


def _job(**changes):
    body = {"kind": "pickup", "location": [24.9, 60.2], "date": DATE, "to": "S1"}
    body.update(changes)
    return body


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        (_job(kind="teleport"), "kind"),  # not a job kind
        (_job(location=[24.9]), "location[1]"),  # one coordinate: no latitude
        (_job(location=[200, 60]), "location"),  # longitude out of range
        (_job(windows=[["09:00", "25:00"]]), "windows[0][1]"),  # not a time of day
        (_job(windows=[["11:00", "09:00"]]), "windows[0]"),  # end before start
        (_job(windows=[["09:00", "10:00"], ["x", "12:00"]]), "windows[1][0]"),  # second window bad
        (_job(items={"volume": -1}), "items.volume"),  # negative amount
        (_job(items={"volume": "1.5"}), "items.volume"),  # an amount as text
        (_job(duration="300"), "duration"),  # a string, not seconds
        (_job(colour="red"), "colour"),  # unknown field
        (_job(date="2026-02-30"), "date"),  # no such day
        (_job(to="NOWHERE"), "to"),  # unknown depot
        (_job(after="NOJOB"), "after"),  # unknown job
        (_job(id="SELF", after="SELF"), "after"),  # after itself
        (_job(kind="repair", to=None), "duration"),  # technician kinds need a duration
        (_job(notes="x" * 5000), "notes"),  # too long for the wire format
        (_job(priority=None, zone=""), "zone"),  # empty zone
    ],
)
def test_bad_job_names_the_field(api, body, loc):
    """Each bad job body answers 422 with an error at the offending field."""
    body = {k: v for k, v in body.items() if v is not None}
    problem = _problem(api.post("/v1/jobs", json=body, headers=AUTH), 422)
    assert loc in [e["loc"] for e in problem["errors"]], problem


def test_after_cycle_is_refused(api):
    """A job whose `after` chain loops back to itself is refused at the field."""
    ok(api.post("/v1/jobs", json=_job(id="A1"), headers=AUTH), 201)
    ok(api.post("/v1/jobs", json=_job(id="A2", after="A1"), headers=AUTH), 201)
    problem = _problem(api.put("/v1/jobs/A1", json=_job(id="A1", after="A2"), headers=AUTH), 422)
    assert problem["errors"][0]["loc"] == "after" and "cycle" in problem["errors"][0]["message"]


@pytest.mark.parametrize(
    ("mutate", "loc"),
    [
        (
            lambda r: r["jobs"][2].update(after="J2") or r["jobs"][1].update(after="J3"),
            "jobs[1].after",
        ),  # cycle
        (lambda r: r["couriers"][0].update(depot="NOPE"), "couriers[0].depot"),  # unknown depot
        (lambda r: r["jobs"][1]["windows"][0].__setitem__(1, "noon"), "jobs[1].windows[0][1]"),  # bad time
        (lambda r: r.update(timezone="Mars/Olympus"), "timezone"),  # unknown zone
        (lambda r: r["jobs"].append(dict(r["jobs"][0])), "jobs[3].id"),  # duplicate id
        (lambda r: r["options"].update(preset="slow"), "options.preset"),  # unknown preset
        (lambda r: r["technicians"][0].update(shift=["17:00", "08:00"]), "technicians[0].shift"),  # reversed
    ],
)
def test_bad_whole_request_names_the_field(api, mutate, loc):
    """A bad v1 request posted to /v1/plans answers 422 at once with the field path; nothing is queued."""
    request = whole_request()
    mutate(request)
    problem = _problem(api.post("/v1/plans", json=request, headers=AUTH), 422)
    assert loc in [e["loc"] for e in problem["errors"]], problem


@pytest.mark.parametrize(
    ("content", "ctype", "status"),
    [
        (b'{"kind": "pickup",', "application/json", 400),  # truncated JSON
        (b"\xff\xfe{}", "application/json", 400),  # invalid UTF-8
        (b'{"kind": "pickup", "location": [NaN, 60], "date": "2026-03-02"}', "application/json", 400),  # NaN
        (b'{"location": [Infinity, 1]}', "application/json", 400),  # Infinity
        (b"[" * 100_000 + b"]" * 100_000, "application/json", 400),  # absurd nesting
        (b'{"a": ' + b"[" * 40 + b"1" + b"]" * 40 + b"}", "application/json", 422),  # deeper than 32 levels
        (b"kind=pickup", "application/x-www-form-urlencoded", 415),  # a form
        (b"<job/>", "text/xml", 415),  # not JSON at all
        (b"[1, 2, 3]", "application/json", 422),  # JSON, but not an object
        (b'"just a string"', "application/json", 422),  # JSON scalar
        (
            json.dumps({"kind": "pickup", "notes": "x" * 200_000}).encode(),
            "application/json",
            422,
        ),  # huge string
        (b"{" + b'"k": 1,' * 2_000_000 + b'"z": 0}', "application/json", 413),  # over the size limit
    ],
)
def test_malformed_bodies_are_4xx(api, content, ctype, status):
    """Bodies that are not usable JSON objects get a clear 4xx problem, never a 500."""
    for path in ("/v1/jobs", "/v1/plans", "/v1/depots"):
        r = api.post(path, content=content, headers={**AUTH, "content-type": ctype})
        problem = _problem(r, status)
        assert problem.get("detail"), problem


def test_bad_query_and_path_params(api):
    """Bad query parameters name the parameter; unknown ids and routes are 404 problems."""
    problem = _problem(api.get("/v1/jobs", params={"limit": 0}, headers=AUTH), 422)
    assert problem["errors"][0]["loc"] == "query.limit"
    problem = _problem(api.get("/v1/jobs", params={"date": "yesterday"}, headers=AUTH), 422)
    assert problem["errors"][0]["loc"] == "query.date"
    # an unknown resource is 404 before its parameters are read; a known one names the parameter
    _problem(api.get("/v1/resources/CQ/route", headers=AUTH), 404)
    assert api.post("/v1/depots", json={**DEPOTS[0], "id": "WQ"}, headers=AUTH).status_code == 201
    courier = {**COURIERS[0], "id": "CQ", "depot": "WQ"}
    assert api.post("/v1/couriers", json=courier, headers=AUTH).status_code == 201
    problem = _problem(api.get("/v1/resources/CQ/route", headers=AUTH), 422)
    assert problem["errors"][0]["loc"] == "query.date"
    _problem(api.get("/v1/jobs/does-not-exist", headers=AUTH), 404)
    _problem(api.get("/v1/plans/does-not-exist", headers=AUTH), 404)
    _problem(api.get("/v1/nothing-here", headers=AUTH), 404)
    _problem(api.patch("/v1/jobs", headers=AUTH), 405)


def test_conflicts_are_409(api):
    """Creating an existing id, or deleting a depot in use, is a 409 problem."""
    _problem(api.post("/v1/depots", json=whole_request()["depots"][0], headers=AUTH), 409)
    _problem(api.post("/v1/jobs", json={**JOBS[0], "date": DATE}, headers=AUTH), 409)
    _problem(api.delete("/v1/depots/W1", headers=AUTH), 409)


def test_openapi_is_served(api):
    """The OpenAPI document lists the v1 paths and the two plan-run body shapes."""
    doc = ok(api.get("/openapi.json"))
    for path in ("/v1/jobs", "/v1/plans", "/v1/plans/{run_id}/publish", "/v1/resources/{resource_id}/route"):
        assert path in doc["paths"]
    assert {"PlanRequestIn", "StoredPlanIn"} <= set(doc["components"]["schemas"])
    assert api.get("/docs").status_code == 200
