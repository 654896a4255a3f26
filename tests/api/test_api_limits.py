"""Per-key limits: a key past its open streams, events or quotes gets 429 with Retry-After,
while other keys are served as usual."""

from __future__ import annotations

import threading

from apitools import ok, wait_for
from conftest import AUTH
from onestop.api.limits import RateLimiter


def _other_key(client) -> dict[str, str]:
    made = ok(client.post("/v1/keys", json={"role": "dispatcher"}, headers=AUTH), 201)
    return {"Authorization": f"Bearer {made['key']}"}


def _assert_429(r) -> None:
    assert r.status_code == 429, r.text
    assert int(r.headers["retry-after"]) >= 1
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["type"] == "urn:onestop:problem:too-many-requests"


def test_open_streams_per_key(make_client):
    """With two streams open a key's third is refused; another key's is served; once the two
    end, the key may open streams again."""
    client = make_client(stream_limit_per_key=2)
    other = _other_key(client)
    ended: list[int] = []

    def listen() -> None:
        # in-process the server never sees its client go: these streams end by their own timeout
        with client.stream("GET", "/v1/stream", params={"timeout": 6, "poll": 1}, headers=AUTH) as r:
            for _ in r.iter_lines():
                pass
            ended.append(r.status_code)

    threads = [threading.Thread(target=listen, daemon=True) for _ in range(2)]
    for t in threads:
        t.start()
    slots = wait_for(lambda: getattr(client.app.state, "stream_slots", None), what="the first stream")
    wait_for(lambda: slots.open_count("bootstrap") == 2, what="two open streams")
    _assert_429(client.get("/v1/stream", params={"once": 1}, headers=AUTH))
    assert client.get("/v1/stream", params={"once": 1}, headers=other).status_code == 200
    for t in threads:
        t.join(timeout=60)
    assert ended == [200, 200]
    wait_for(lambda: slots.open_count("bootstrap") == 0, what="the slots back")
    assert client.get("/v1/stream", params={"once": 1}, headers=AUTH).status_code == 200


def test_events_and_quotes_per_key(make_client):
    """Past its events (quotes) a minute a key gets 429 before its body is even looked at;
    another key's requests are still handled by the route."""
    client = make_client(events_per_minute_per_key=3, quotes_per_minute_per_key=2)
    other = _other_key(client)
    for _ in range(3):
        assert client.post("/v1/events", json={}, headers=AUTH).status_code == 422
    _assert_429(client.post("/v1/events", json={}, headers=AUTH))
    assert client.post("/v1/events", json={}, headers=other).status_code == 422
    for _ in range(2):
        assert client.post("/v1/appointments/quote", json={}, headers=AUTH).status_code == 422
    _assert_429(client.post("/v1/appointments/quote", json={}, headers=AUTH))
    assert client.post("/v1/appointments/quote", json={}, headers=other).status_code == 422


def test_rate_limiter_refills_evenly(monkeypatch):
    """``per_minute`` at once, then one more each 60/per_minute seconds (no sleeping: a fake clock)."""
    now = [1000.0]
    monkeypatch.setattr("onestop.api.limits.time.monotonic", lambda: now[0])
    limiter = RateLimiter(60)
    assert all(limiter.take("k") == 0 for _ in range(60))
    wait = limiter.take("k")
    assert 0.99 <= wait <= 1.01
    assert limiter.take("other") == 0
    now[0] += 1.0
    assert limiter.take("k") == 0 and limiter.take("k") > 0
