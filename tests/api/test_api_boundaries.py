"""The service's trust boundaries (issue 13): travel settings the server owns, keys with a
life, authentication before the body is read, the bootstrap key. Real app, real databases."""

from __future__ import annotations

import datetime as dt
import socket
import time

import anyio
import pytest
from apitools import DATE, FAST, auth, ok, store_day, whole_request
from conftest import AUTH, BOOTSTRAP
from onestop.api import Settings
from pydantic import ValidationError
from sqlalchemy import text


@pytest.fixture
def listener():
    """A loopback socket that must see no connection."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    sock.setblocking(False)
    yield sock
    sock.close()


def _no_connection(sock: socket.socket, wait_s: float = 0.5) -> None:
    time.sleep(wait_s)
    with pytest.raises(BlockingIOError):
        conn, _ = sock.accept()
        conn.close()


def _locs(r) -> list[str]:
    return [e["loc"] for e in r.json().get("errors", [])]


def test_unlisted_osrm_url_is_422_and_never_contacted(make_client, listener):
    """A whole request and a stored day's options naming an unlisted OSRM server: 422 naming
    the field, no run queued, and the server never connects to it."""
    client = make_client()  # embedded worker on: a queued run would connect at once
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    body = whole_request(**FAST, travel={"provider": "osrm", "url": url})
    r = client.post("/v1/plans", json=body, headers=AUTH)
    assert r.status_code == 422, r.text
    assert _locs(r) == ["options.travel.url"]
    store_day(client, AUTH)
    stored = {"date": DATE, "options": {**FAST, "travel": {"provider": "osrm", "url": url + "/"}}}
    r = client.post("/v1/plans", json=stored, headers=AUTH)
    assert r.status_code == 422, r.text
    assert _locs(r) == ["options.travel.url"]
    assert ok(client.get("/v1/plans", headers=AUTH))["total"] == 0
    _no_connection(listener)


def test_listed_osrm_url_has_bounded_options(make_client, listener):
    """A listed server is accepted, but not with a timeout above the bound or a profile that
    would walk the server's URL path."""
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    client = make_client(travel_osrm_urls=[url], travel_max_timeout_s=10, embedded_worker=False)
    base = {"provider": "osrm", "url": url}
    r = client.post("/v1/plans", json=whole_request(**FAST, travel={**base, "timeout_s": 3600}), headers=AUTH)
    assert r.status_code == 422 and _locs(r) == ["options.travel.timeout_s"], r.text
    r = client.post("/v1/plans", json=whole_request(**FAST, travel={**base, "profile": "../x"}), headers=AUTH)
    assert r.status_code == 422 and _locs(r) == ["options.travel.profile"], r.text
    r = client.post("/v1/plans", json=whole_request(**FAST, travel={**base, "parallel": 1000}), headers=AUTH)
    assert r.status_code == 422 and _locs(r) == ["options.travel.parallel"], r.text
    run = ok(client.post("/v1/plans", json=whole_request(**FAST, travel=base), headers=AUTH), 202)
    stored = ok(client.get(f"/v1/plans/{run['id']}/request", headers=AUTH))
    assert stored["options"]["travel"]["timeout_s"] == 10  # the server's bound, not the provider's 30
    _no_connection(listener, 0)  # no worker here: only the accepted body, nothing fetched


def test_extract_path_is_422_whether_or_not_it_exists(make_client, tmp_path):
    """An extract path on the server's disk is refused by name: the answer does not depend on
    the file existing, and the file is not opened."""
    client = make_client()
    present = tmp_path / "present.osm.pbf"
    present.write_bytes(b"not really a pbf")
    before = present.stat()
    answers = []
    for path in (present, tmp_path / "absent.osm.pbf"):
        body = whole_request(**FAST, travel={"provider": "osm", "extract": str(path)})
        r = client.post("/v1/plans", json=body, headers=AUTH)
        assert r.status_code == 422, r.text
        assert _locs(r) == ["options.travel.extract"]
        answers.append({k: v for k, v in r.json().items() if k != "instance"})
    assert answers[0] == answers[1]
    assert str(present) not in str(answers[0])
    after = present.stat()
    assert (after.st_atime_ns, after.st_mtime_ns) == (before.st_atime_ns, before.st_mtime_ns)
    r = client.post("/v1/plans", json=whole_request(**FAST, travel={"provider": "osrm"}), headers=AUTH)
    assert r.status_code == 422 and _locs(r) == ["options.travel.url"]
    # the listed extract is accepted
    body = whole_request(**FAST, travel={"provider": "osm", "extract": "bundled:helsinki"})
    ok(client.post("/v1/plans", json=body, headers=AUTH), 202)
    # a provider the operator turned off
    client2 = make_client(travel_providers=["haversine"])
    r = client2.post("/v1/plans", json=body, headers=AUTH)
    assert r.status_code == 422 and _locs(r) == ["options.travel.provider"]


def test_settings_lists_from_environment(monkeypatch):
    monkeypatch.setenv("ONESTOP_TRAVEL_OSRM_URLS", "http://a:5000/, http://b:5000")
    monkeypatch.setenv("ONESTOP_TRAVEL_OSM_EXTRACTS", '["bundled:helsinki", "/srv/uusimaa.osm.pbf"]')
    s = Settings()
    assert s.travel_osrm_urls == ["http://a:5000", "http://b:5000"]
    assert s.travel_osm_extracts == ["bundled:helsinki", "/srv/uusimaa.osm.pbf"]


def _job(ident: str, zone: str | None = None) -> dict:
    job = {"id": ident, "kind": "repair", "location": [24.91, 60.17], "duration": 600, "date": DATE}
    return {**job, "zone": zone} if zone else job


def test_expired_and_revoked_keys_are_401(client):
    soon = (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1.5)).isoformat()
    key = ok(client.post("/v1/keys", json={"role": "dispatcher", "expires_at": soon}, headers=AUTH), 201)
    assert client.get("/v1/jobs", headers=auth(key["key"])).status_code == 200
    time.sleep(1.6)
    assert client.get("/v1/jobs", headers=auth(key["key"])).status_code == 401  # also past the cache
    past = (dt.datetime.now(dt.UTC) - dt.timedelta(days=1)).isoformat()
    r = client.post("/v1/keys", json={"role": "dispatcher", "expires_at": past}, headers=AUTH)
    assert r.status_code == 422 and _locs(r) == ["expires_at"]

    other = ok(client.post("/v1/keys", json={"role": "dispatcher"}, headers=AUTH), 201)
    assert other["expires_at"] is None
    assert client.get("/v1/jobs", headers=auth(other["key"])).status_code == 200
    assert client.delete(f"/v1/keys/{other['id']}", headers=AUTH).status_code == 204
    assert client.get("/v1/jobs", headers=auth(other["key"])).status_code == 401
    listed = {k["id"]: k for k in ok(client.get("/v1/keys", headers=AUTH))["items"]}
    assert listed[other["id"]]["active"] is False and listed[key["id"]]["active"] is False
    assert "hash" not in listed[other["id"]] and "key" not in listed[other["id"]]


def test_tracking_token_dies_with_its_job(client):
    """Deleting a job revokes its tokens, and a job made again under the same id is another row:
    the old token cannot read it, even when the row vanished without the API's delete."""
    ok(client.post("/v1/jobs", json=_job("J9"), headers=AUTH), 201)
    token = ok(client.post("/v1/jobs/J9/tracking-token", headers=AUTH), 201)
    expires = dt.datetime.fromisoformat(token["expires_at"])
    assert expires > dt.datetime.now(dt.UTC) + dt.timedelta(days=2)  # a few days, not forever
    assert client.get("/v1/jobs/J9/status", headers=auth(token["key"])).status_code == 200
    assert client.delete("/v1/jobs/J9", headers=AUTH).status_code == 204
    ok(client.post("/v1/jobs", json=_job("J9"), headers=AUTH), 201)
    assert client.get("/v1/jobs/J9/status", headers=auth(token["key"])).status_code == 401
    assert ok(client.get("/v1/keys", params={"job": "J9"}, headers=AUTH))["items"][0]["revoked_at"]

    # the row goes behind the API's back (no revocation): the binding to the row still holds
    fresh = ok(client.post("/v1/jobs/J9/tracking-token", headers=AUTH), 201)
    assert client.get("/v1/jobs/J9/status", headers=auth(fresh["key"])).status_code == 200
    with client.app.state.engine.begin() as conn:
        conn.execute(text("DELETE FROM jobs WHERE id = 'J9'"))
    ok(client.post("/v1/jobs", json=_job("J9"), headers=AUTH), 201)
    time.sleep(5.1)  # the per-process key cache (AUTH_CACHE_S) forgets the verified token
    assert client.get("/v1/jobs/J9/status", headers=auth(fresh["key"])).status_code == 401


def test_resource_keys_die_with_the_resource(client):
    courier = {"id": "C9", "depot": "W1", "capacity": {"volume": 5}, "shift": ["08:00", "17:00"]}
    ok(client.post("/v1/depots", json={"id": "W1", "kind": "warehouse", "location": [24.94, 60.17]}, headers=AUTH), 201)
    ok(client.post("/v1/couriers", json=courier, headers=AUTH), 201)
    key = ok(client.post("/v1/keys", json={"role": "courier", "resource": "C9"}, headers=AUTH), 201)
    route = f"/v1/resources/C9/route?date={DATE}"
    assert client.get(route, headers=auth(key["key"])).status_code != 401
    assert client.delete("/v1/couriers/C9", headers=AUTH).status_code == 204
    ok(client.post("/v1/couriers", json=courier, headers=AUTH), 201)
    assert client.get(route, headers=auth(key["key"])).status_code == 401


def test_zone_dispatcher_lists_and_revokes_only_its_zone(client):
    ok(client.post("/v1/jobs", json=_job("JN", "north"), headers=AUTH), 201)
    ok(client.post("/v1/jobs", json=_job("JS", "south"), headers=AUTH), 201)
    north = ok(client.post("/v1/keys", json={"role": "dispatcher", "zone": "north"}, headers=AUTH), 201)
    n_token = ok(client.post("/v1/jobs/JN/tracking-token", headers=auth(north["key"])), 201)
    s_token = ok(client.post("/v1/jobs/JS/tracking-token", headers=AUTH), 201)
    assert client.post("/v1/jobs/JS/tracking-token", headers=auth(north["key"])).status_code == 404  # another zone's job is unknown

    seen = ok(client.get("/v1/keys", headers=auth(north["key"])))
    assert [k["id"] for k in seen["items"]] == [n_token["id"]] and seen["total"] == 1
    everything = {k["id"] for k in ok(client.get("/v1/keys", headers=AUTH))["items"]}
    assert {n_token["id"], s_token["id"], north["id"], "bootstrap"} <= everything

    assert client.delete(f"/v1/keys/{s_token['id']}", headers=auth(north["key"])).status_code == 404
    assert client.delete("/v1/keys/bootstrap", headers=auth(north["key"])).status_code == 404
    assert client.get("/v1/jobs/JS/status", headers=auth(s_token["key"])).status_code == 200
    assert client.delete(f"/v1/keys/{n_token['id']}", headers=auth(north["key"])).status_code == 204
    assert client.get("/v1/jobs/JN/status", headers=auth(n_token["key"])).status_code == 401
    # minting other keys stays with all-zones dispatchers
    r = client.post("/v1/keys", json={"role": "dispatcher", "zone": "north"}, headers=auth(north["key"]))
    assert r.status_code == 403


def test_unauthenticated_body_is_never_read(client):
    """401 for a 5 MB body without a key (not 422, not 413), and the body is not received."""
    big = b'{"date": "' + b"x" * (5 * 1024 * 1024) + b'"}'
    headers = {"content-type": "application/json"}
    r = client.post("/v1/plans", content=big, headers=headers)
    assert r.status_code == 401, r.text[:200]
    assert r.headers["content-type"].startswith("application/problem+json")
    r = client.post("/v1/plans", content=big, headers={**headers, "Authorization": "Bearer os_nope_nope"})
    assert r.status_code == 401
    r = client.post("/v1/jobs", content=b"{not json", headers=headers)
    assert r.status_code == 401  # not 400: who asks comes first

    # at the ASGI level: the app answers without calling receive() once
    received = []

    async def receive():
        received.append(1)
        return {"type": "http.request", "body": big, "more_body": False}

    sent = []

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/v1/plans",
        "raw_path": b"/v1/plans",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(big)).encode())],
        "client": ("127.0.0.1", 1),
        "server": ("testserver", 80),
    }
    anyio.run(client.app, scope, receive, send)
    assert sent[0]["status"] == 401 and received == []

    # an authenticated oversized body is 413 from its Content-Length, never 422
    huge = b" " * (client.app.state.settings.max_body_bytes + 1)
    r = client.post("/v1/plans", content=huge, headers={**headers, **AUTH})
    assert r.status_code == 413
    assert client.get("/healthz").status_code == 200  # open paths stay open


def test_bootstrap_key_length_and_removal(make_client):
    with pytest.raises(ValidationError, match="at least 32 characters"):
        Settings(bootstrap_key="too-short")
    client = make_client()
    assert client.get("/v1/jobs", headers=AUTH).status_code == 200
    client = make_client(bootstrap_key=None)  # a restart without ONESTOP_BOOTSTRAP_KEY
    assert client.get("/v1/jobs", headers={"Authorization": f"Bearer {BOOTSTRAP}"}).status_code == 401
