"""The route fetch fast path answers exactly what the full route answers, and only when it may."""

from __future__ import annotations

from apitools import DATE, FAST, auth, ok, store_day, wait_run
from conftest import AUTH
from onestop.api import crud, fastpath


def _published(client) -> dict:
    """Stores the day, solves and publishes it; returns the run and a key for C1 and C2."""
    store_day(client, AUTH)
    run = ok(client.post("/v1/plans", json={"date": DATE, "options": FAST}, headers=AUTH), 202)
    run = wait_run(client, run["id"], AUTH)
    ok(client.post(f"/v1/plans/{run['id']}/publish", headers=AUTH))
    keys = {
        cid: ok(client.post("/v1/keys", json={"role": "courier", "resource": cid}, headers=AUTH), 201)["key"]
        for cid in ("C1", "C2")
    }
    return {"run": run, "keys": keys}


def test_fast_and_full_route_bodies_are_the_same(client, monkeypatch):
    """A courier's repeated fetch (fast path once its key is verified) equals the full route's answer."""
    day = _published(client)
    slow, built = [], []
    route_of, put = crud.route_of, fastpath.BODIES.put
    monkeypatch.setattr(crud, "route_of", lambda **k: slow.append(1) or route_of(**k))
    monkeypatch.setattr(fastpath.BODIES, "put", lambda *a: built.append(1) or put(*a))
    headers = auth(day["keys"]["C1"])
    first, second, third = (
        ok(client.get("/v1/resources/C1/route", params={"date": DATE}, headers=headers)) for _ in range(3)
    )
    # the first verified the key the full way; the second took the fast path and built the
    # body; the third was served from the body cache
    assert slow == [1] and built == [1]
    assert first == second == third
    assert second["plan_run"] == day["run"]["id"] and second["resource_kind"] == "courier"
    dispatcher = ok(client.get("/v1/resources/C1/route", params={"date": DATE}, headers=AUTH))
    assert dispatcher == second


def test_fast_path_defers_on_anything_it_may_not_answer(client):
    """Another courier's route, a day without a plan and an odd date still get the full route's answers."""
    day = _published(client)
    c1 = auth(day["keys"]["C1"])
    ok(client.get("/v1/resources/C1/route", params={"date": DATE}, headers=c1))  # key now verified
    assert client.get("/v1/resources/C2/route", params={"date": DATE}, headers=c1).status_code == 404
    missing = client.get("/v1/resources/C1/route", params={"date": "2026-03-09"}, headers=c1)
    assert missing.status_code == 404 and missing.json()["type"].endswith("no-published-plan")
    assert client.get("/v1/resources/C1/route?date=2026-02-30", headers=c1).status_code == 422
    revoked_id = day["keys"]["C1"].split("_")[1]
    assert client.delete(f"/v1/keys/{revoked_id}", headers=AUTH).status_code == 204
    assert client.get("/v1/resources/C1/route", params={"date": DATE}, headers=c1).status_code == 401


def test_republished_plan_is_served_at_once(client):
    """Publishing another run of the day changes what the next fetch returns (the cache key moves)."""
    day = _published(client)
    c1 = auth(day["keys"]["C1"])
    for _ in range(2):
        assert (
            ok(client.get("/v1/resources/C1/route", params={"date": DATE}, headers=c1))["plan_run"]
            == (day["run"]["id"])
        )
    second = ok(client.post("/v1/plans", json={"date": DATE, "options": FAST}, headers=AUTH), 202)
    second = wait_run(client, second["id"], AUTH)
    ok(client.post(f"/v1/plans/{second['id']}/publish", headers=AUTH))
    route = ok(client.get("/v1/resources/C1/route", params={"date": DATE}, headers=c1))
    assert route["plan_run"] == second["id"]
