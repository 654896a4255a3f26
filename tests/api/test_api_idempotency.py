"""Idempotency-Key on job creation: a retried request never makes a second job."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from apitools import DATE, DEPOTS, ok
from conftest import AUTH

JOB = {"kind": "pickup", "location": [24.92, 60.18], "date": DATE, "to": "S1", "items": {"volume": 1}}


def _depots(client):
    for d in DEPOTS:
        ok(client.post("/v1/depots", json=d, headers=AUTH), 201)


def test_same_key_twice_makes_one_job(client):
    """The second request with the same key and body gets the first answer and no new job."""
    _depots(client)
    headers = {**AUTH, "Idempotency-Key": "order-1234-pickup"}
    first = client.post("/v1/jobs", json=JOB, headers=headers)
    second = client.post("/v1/jobs", json=JOB, headers=headers)
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second.headers.get("idempotent-replayed") == "true"
    assert ok(client.get("/v1/jobs", headers=AUTH))["total"] == 1
    # another key is another job
    ok(client.post("/v1/jobs", json=JOB, headers={**AUTH, "Idempotency-Key": "order-9999"}), 201)
    assert ok(client.get("/v1/jobs", headers=AUTH))["total"] == 2


def test_same_key_other_body_is_refused(client):
    """Reusing a key with a different body is a 422 problem, and makes no job."""
    _depots(client)
    headers = {**AUTH, "Idempotency-Key": "k-1"}
    ok(client.post("/v1/jobs", json=JOB, headers=headers), 201)
    r = client.post("/v1/jobs", json={**JOB, "items": {"volume": 2}}, headers=headers)
    assert r.status_code == 422 and r.json()["type"].endswith("idempotency-key-reused")
    assert ok(client.get("/v1/jobs", headers=AUTH))["total"] == 1


def test_concurrent_retries_make_one_job(client):
    """Eight simultaneous requests with one key still make exactly one job, all answered alike."""
    _depots(client)
    headers = {**AUTH, "Idempotency-Key": "burst"}
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: client.post("/v1/jobs", json=JOB, headers=headers), range(8)))
    assert {a.status_code for a in answers} == {201}, [a.text for a in answers]
    assert len({a.json()["id"] for a in answers}) == 1
    assert ok(client.get("/v1/jobs", headers=AUTH))["total"] == 1


def test_keys_expire_after_their_time_to_live(make_client):
    """After ``idempotency_ttl_s`` a retry with the same key is a new request (here: a new job,
    and a different body is no longer refused). The records are aged in the database instead of
    sleeping past a one-second TTL, which a busy machine could overrun between two requests."""
    import datetime as dt

    from onestop.api.models import IdempotencyRecord
    from sqlalchemy import update

    client = make_client(idempotency_ttl_s=3600.0)

    def expire_records() -> None:
        with client.app.state.sessions.begin() as s:
            old = dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)
            s.execute(update(IdempotencyRecord).values(created_at=old))

    _depots(client)
    headers = {**AUTH, "Idempotency-Key": "order-77"}
    first = ok(client.post("/v1/jobs", json=JOB, headers=headers), 201)
    assert client.post("/v1/jobs", json=JOB, headers=headers).headers.get("idempotent-replayed") == "true"
    expire_records()
    again = client.post("/v1/jobs", json=JOB, headers=headers)
    assert again.status_code == 201 and again.headers.get("idempotent-replayed") is None
    assert again.json()["id"] != first["id"]
    assert ok(client.get("/v1/jobs", headers=AUTH))["total"] == 2
    # within the new record's life the key replays the new answer, not the first
    assert client.post("/v1/jobs", json=JOB, headers=headers).json()["id"] == again.json()["id"]
    expire_records()
    changed = client.post("/v1/jobs", json={**JOB, "items": {"volume": 2}}, headers=headers)
    assert changed.status_code == 201
