"""Resource CRUD details and runs that fail with a reason."""

from __future__ import annotations

from apitools import COURIERS, DEPOTS, TECHNICIANS, ok, wait_run, whole_request
from conftest import AUTH


def _depots(client):
    for d in DEPOTS:
        ok(client.post("/v1/depots", json=d, headers=AUTH), 201)


def test_replace_list_and_delete_resources(client):
    """Couriers and technicians are replaced with PUT, listed by zone and deleted when unused."""
    _depots(client)
    ok(client.post("/v1/couriers", json={**COURIERS[0], "zone": "north"}, headers=AUTH), 201)
    ok(client.post("/v1/couriers", json={**COURIERS[1], "zone": "south"}, headers=AUTH), 201)
    changed = {**COURIERS[0], "zone": "north", "capacity": {"volume": 25}, "skills": ["two_person"]}
    out = ok(client.put("/v1/couriers/C1", json=changed, headers=AUTH))
    assert out["capacity"] == {"volume": 25} and out["skills"] == ["two_person"]
    assert ok(client.get("/v1/couriers/C1", headers=AUTH))["capacity"] == {"volume": 25}
    north = ok(client.get("/v1/couriers", params={"zone": "north"}, headers=AUTH))
    assert [c["id"] for c in north["items"]] == ["C1"]
    mismatch = client.put("/v1/couriers/C1", json={**changed, "id": "C2"}, headers=AUTH)
    assert mismatch.status_code == 422 and mismatch.json()["errors"][0]["loc"] == "id"
    bad_depot = client.put("/v1/couriers/C1", json={**changed, "depot": "NOPE"}, headers=AUTH)
    assert bad_depot.status_code == 422 and bad_depot.json()["errors"][0]["loc"] == "depot"
    assert client.delete("/v1/couriers/C2", headers=AUTH).status_code == 204
    assert ok(client.get("/v1/couriers", headers=AUTH))["total"] == 1


def test_technician_and_courier_ids_do_not_clash(client):
    """A technician may not take a courier's id: routes are fetched by resource id."""
    _depots(client)
    ok(client.post("/v1/couriers", json=COURIERS[0], headers=AUTH), 201)
    r = client.post("/v1/technicians", json={**TECHNICIANS[0], "id": "C1"}, headers=AUTH)
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == "id"
    bad_shift = client.post(
        "/v1/technicians", json={**TECHNICIANS[0], "shift": ["08:00", "7pm"]}, headers=AUTH
    )
    assert bad_shift.status_code == 422 and bad_shift.json()["errors"][0]["loc"] == "shift[1]"


def test_run_with_unusable_travel_fails_with_reason(client):
    """A request whose travel options cannot give a model is queued, then fails with a reason.
    (A provider the server does not offer is refused at once: 422, never queued.)"""
    request = whole_request()
    request["options"]["travel"] = {"provider": "carrier-pigeon"}
    assert client.post("/v1/plans", json=request, headers=AUTH).status_code == 422
    request["options"]["travel"] = {"provider": "haversine", "speed_kmh": -1}
    run = wait_run(client, ok(client.post("/v1/plans", json=request, headers=AUTH), 202)["id"], AUTH)
    assert run["status"] == "failed" and run["plan"] is None
    assert run["error"]["reason"] in ("travel", "request") and run["error"]["errors"], run["error"]
    assert client.post(f"/v1/plans/{run['id']}/publish", headers=AUTH).status_code == 409


def test_failed_commit_is_never_answered_as_success(client):
    """When the database refuses the commit, the client gets a 503 problem, not a 201."""
    from sqlalchemy.exc import OperationalError

    real = client.app.state.sessions

    def refusing():
        session = real()

        def commit():
            raise OperationalError("COMMIT", {}, Exception("disk I/O error"))

        session.commit = commit
        return session

    client.app.state.sessions = refusing
    try:
        r = client.post("/v1/depots", json=DEPOTS[0], headers=AUTH)
    finally:
        client.app.state.sessions = real
    assert r.status_code == 503 and r.headers["retry-after"] == "2", r.text
    assert client.get("/v1/depots/W1", headers=AUTH).status_code == 404
