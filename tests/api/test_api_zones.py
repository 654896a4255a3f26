"""Service zones: stored polygons limit a stored day's plan."""

from __future__ import annotations

from apitools import DATE, FAST, ok, store_day, wait_run
from conftest import AUTH

NORTH = {
    "id": "north",
    "name": "Helsinki centre",
    "geometry": {
        "type": "Polygon",
        "coordinates": [[[24.85, 60.15], [25.0, 60.15], [25.0, 60.2], [24.85, 60.2], [24.85, 60.15]]],
    },
}


def test_zone_crud_and_bad_geometry(client):
    """Zones are created, read, listed and deleted; a bad polygon is a 422 at `geometry`."""
    ok(client.post("/v1/zones", json=NORTH, headers=AUTH), 201)
    assert ok(client.get("/v1/zones/north", headers=AUTH))["name"] == "Helsinki centre"
    assert ok(client.get("/v1/zones", headers=AUTH))["total"] == 1
    bad = {"id": "x", "geometry": {"type": "Point", "coordinates": [24.9, 60.1]}}
    r = client.post("/v1/zones", json=bad, headers=AUTH)
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == "geometry"
    assert client.delete("/v1/zones/north", headers=AUTH).status_code == 204
    assert client.get("/v1/zones/north", headers=AUTH).status_code == 404


def test_stored_plan_uses_zones(client):
    """A job outside every stored zone is left unassigned as outside the service area."""
    ok(client.post("/v1/zones", json=NORTH, headers=AUTH), 201)
    store_day(client, AUTH, zone="north")
    far = {"id": "FAR", "kind": "pickup", "location": [25.6, 60.6], "date": DATE, "zone": "north", "to": "S1"}
    ok(client.post("/v1/jobs", json=far, headers=AUTH), 201)
    run_id = ok(
        client.post("/v1/plans", json={"date": DATE, "zone": "north", "options": FAST}, headers=AUTH), 202
    )
    run = wait_run(client, run_id["id"], AUTH)
    assert run["status"] == "succeeded" and run["zone"] == "north"
    assert [(u["job"], u["reason"]) for u in run["plan"]["unassigned"]] == [("FAR", "outside_service_area")]
    assert client.delete("/v1/zones/north", headers=AUTH).status_code == 409  # still used
