"""The living day through HTTP: events, timelines, live ETAs, streams, a re-plan and an urgent booking."""

from __future__ import annotations

import datetime as dt
import json
import random
import threading
import time

from apitools import auth, ok, wait_for
from conftest import AUTH, settings_for
from livetools import (
    CUSTOMER,
    DAY,
    JOBS,
    at,
    check_run,
    event,
    keys_for,
    publish_day,
    route,
    send,
    sse,
    stop_events,
    t,
)
from onestop.api.db import make_engine, migrate, session_factory
from onestop.api.worker import Worker

RANK = {"scheduled": 0, "en_route": 1, "arrived": 2, "started": 3, "completed": 4, "failed": 4}


def _clock(day_time: str) -> dt.datetime:
    return t(at(day_time))


def _jobs_of(stops):
    return [s["job"] for s in stops if s["type"] in CUSTOMER and s.get("job")]


def test_a_whole_day(client):
    """Plan, publish, play every resource's events in time order, a late courier, a sick technician
    re-planned, an urgent job booked and done; every plan validates and every timeline is complete."""
    run = publish_day(client)
    keys = keys_for(client)
    routes = {r: route(client, r, keys[r]) for r in keys}
    tokens = {
        j["id"]: auth(ok(client.post(f"/v1/jobs/{j['id']}/tracking-token", headers=AUTH), 201)["key"])
        for j in JOBS
    }

    # the late courier: the one whose first delivery closes first; it never leaves the warehouse
    couriers = [c for c in ("C1", "C2") if _jobs_of(routes[c])]
    late_c = min(
        couriers, key=lambda c: next(s["windows"] for s in JOBS if s["id"] == _jobs_of(routes[c])[0])
    )
    first_late = _jobs_of(routes[late_c])[0]
    closes = t(at(next(j for j in JOBS if j["id"] == first_late)["windows"][0][1]))

    # the sick technician: the one with more work after 10:30
    cut = _clock("10:30")
    techs = [r for r in ("T1", "T2") if _jobs_of(routes[r])]
    sick = max(techs, key=lambda r: sum(1 for s in routes[r] if s.get("job") and t(s["start"]) >= cut))

    morning = []
    for r, stops in routes.items():
        if r == late_c:
            continue
        morning += [e for e in stop_events(r, stops) if t(e["at"]) < cut]
    morning.sort(key=lambda e: e["at"])
    saw_message = None
    for e in morning:
        send(client, keys, e, 201)
        if e["kind"] == "en_route" and saw_message is None:
            tl = ok(client.get(f"/v1/jobs/{e['job']}/timeline", headers=tokens[e["job"]]))
            saw_message = tl["message"]
            assert tl["state"] == "en_route" and tl["eta"] is not None
            role = "Technician" if e["_resource"].startswith("T") else "Courier"
            assert saw_message.startswith(f"{role} on the way, arriving "), saw_message
            assert tl["resource"]["first_name"] in ("Maija", "Pekka", "Aino", "Juha")

    # the late courier pings from the warehouse after its first window closed: flagged
    ping = event("position", None, closes + dt.timedelta(minutes=5), late_c, [24.94, 60.17])
    pinged = send(client, keys, ping, 201).json()
    assert first_late in pinged["late"], pinged
    planned_start = next(
        s["start"] for s in routes[late_c] if s.get("job") == first_late and s["type"] in CUSTOMER
    )
    eta = next(e for e in pinged["etas"] if e["job"] == first_late)
    assert t(eta["eta"]) > t(planned_start) and eta["late_by_s"] > 0
    assert first_late in {x["job"] for x in ok(client.get("/v1/late-stops", headers=AUTH))["items"]}
    alerts = [f for f in sse(client, "/v1/stream", AUTH) if f["event"] == "eta_late"]
    assert first_late in {a["job"] for a in alerts}
    tl = ok(client.get(f"/v1/jobs/{first_late}/timeline", headers=tokens[first_late]))
    assert tl["eta"]["late"] is True

    # the sick technician goes home at 10:30: re-plan the rest of the day
    done_before = {e["job"] for e in morning if e["kind"] == "completed"}
    remaining = [j for j in _jobs_of(routes[sick]) if j not in done_before]
    started_at_cut = {e["job"] for e in morning if e["kind"] == "started"} - done_before
    assert remaining
    out = ok(
        client.post(
            f"/v1/plans/{run['id']}/replan",
            json={"at": at("10:30"), "unavailable": [sick], "time_limit_s": 2},
            headers=AUTH,
        ),
        201,
    )
    assert out["violations"] == [] and out["status"] == "succeeded"
    new_request = ok(client.get(f"/v1/plans/{out['id']}/request", headers=AUTH))
    check_run(client, out["id"])
    assert set(out["completed"]) >= done_before
    assert done_before.isdisjoint(j["id"] for j in new_request["jobs"])  # finished work stays history
    assert sick not in {r["resource"] for r in out["plan"]["routes"]}
    moved = set(remaining) - started_at_cut
    assert moved <= set(out["changed_jobs"]) and out["changed"] == len(out["changed_jobs"])
    promised = {j["id"]: j["windows"] for j in JOBS}
    for j in new_request["jobs"]:
        if j["id"] in promised and j.get("priority") != "urgent":  # a started stop's window is the fact
            assert [[t(a) if "T" in a else a for a in w] for w in j["windows"]] in (
                [[t(a) if "T" in a else a for a in w] for w in promised[j["id"]]],
                [[t(at(a)) for a in w] for w in promised[j["id"]]],
            )
    assert moved, "the sick technician had work left to move"
    ok(client.post(f"/v1/plans/{out['id']}/publish", headers=AUTH))
    for j in done_before:
        job = ok(client.get(f"/v1/jobs/{j}", headers=AUTH))
        assert job["status"] == "completed" and job["plan_run"] == run["id"]
    other = next(r for r in techs if r != sick) if len(techs) > 1 else None
    for j in moved:
        job = ok(client.get(f"/v1/jobs/{j}", headers=AUTH))
        assert job["resource"] != sick and job["plan_run"] == out["id"]
        if other:
            assert send(client, keys, event("en_route", j, cut, sick), 404).status_code == 404

    # an urgent repair at 11:00: an answer at once, booked, inserted into a new published version
    urgent = {
        "id": "U1",
        "kind": "repair",
        "location": [24.945, 60.175],
        "duration": 1800,
        "priority": "urgent",
    }
    answer = ok(
        client.post("/v1/appointments/quote", json={"job": urgent, "date": DAY, "at": "11:00"}, headers=AUTH)
    )
    assert answer["answer"]["message"] and answer["answer"]["slot"] is not None, answer
    slot = answer["answer"]["slot"]
    quoted = ok(
        client.post(
            "/v1/appointments/quote",
            json={"job": {**urgent, "priority": "standard"}, "date": DAY, "at": "11:00", "days": 2},
            headers=AUTH,
        )
    )
    assert any(s["feasible"] for s in quoted["slots"]) and {s["date"] for s in quoted["slots"]} >= {DAY}
    booked = ok(
        client.post(
            "/v1/appointments", json={"job": urgent, "window": slot["window"], "at": "11:00"}, headers=AUTH
        ),
        201,
    )
    assert booked["inserted"] and booked["status"] == "scheduled" and booked["resource"] == slot["resource"]
    check_run(client, booked["plan_run"])
    # the first version is superseded: re-planning it would drop the booking, so it is refused
    stale = client.post(
        f"/v1/plans/{run['id']}/replan", json={"at": at("11:05"), "time_limit_s": 1}, headers=AUTH
    )
    assert stale.status_code == 409 and booked["plan_run"] in stale.json()["detail"]
    tokens["U1"] = auth(ok(client.post("/v1/jobs/U1/tracking-token", headers=AUTH), 201)["key"])

    # the rest of the day on the live plan, in time order
    routes = {r: route(client, r, keys[r]) for r in keys if r != sick}
    done_now = {e["job"] for e in morning if e["kind"] in ("completed",)}
    reached: dict[str, int] = {}
    for e in morning:
        reached[e["job"]] = max(reached.get(e["job"], 0), RANK[e["kind"]])
    rest = []
    for r, stops in routes.items():
        rest += [e for e in stop_events(r, stops) if RANK[e["kind"]] > reached.get(e["job"], 0)]
    rest.sort(key=lambda e: e["at"])
    for e in rest:
        send(client, keys, e, 201)

    # every job: a complete, ordered timeline ending where its events left it
    planned = {j for r in routes.values() for j in _jobs_of(r)} | done_now
    for job_id, token in tokens.items():
        tl = ok(client.get(f"/v1/jobs/{job_id}/timeline", headers=token))
        steps = tl["steps"]
        times = [t(s["at"]) if isinstance(s["at"], str) else s["at"] for s in steps]
        assert times == sorted(times), steps
        app = [s["state"] for s in steps if s["source"] == "app"]
        assert [RANK[s] for s in app] == sorted(RANK[s] for s in app)
        if job_id in planned:
            assert steps[0]["state"] == "scheduled" and app[-1] == "completed", (job_id, steps)
            assert tl["message"] == "completed" and tl["status"] == "completed" and tl["eta"] is None
        else:
            assert tl["state"] in ("scheduled", "unassigned"), (job_id, tl)
    # the customer's stream holds only its job's changes
    frames = sse(client, "/v1/jobs/U1/stream", tokens["U1"])
    assert (
        frames and {f["job"] for f in frames} == {"U1"} and {f["event"] for f in frames} <= {"status", "eta"}
    )
    assert client.get("/v1/jobs/U1/timeline", headers=tokens[first_late]).status_code == 404
    assert client.get("/v1/stream", params={"once": 1}, headers=tokens["U1"]).status_code == 403


def test_duplicates_and_late_events_leave_the_same_state(client):
    """The same events delivered shuffled and twice give the in-order outcome; impossible moves are 409."""
    publish_day(client)
    keys = keys_for(client)
    resource = next(r for r in ("T1", "T2", "C1", "C2") if len(_jobs_of(route(client, r, keys[r]))) >= 2)
    stops = route(client, resource, keys[resource])
    events = stop_events(resource, stops)
    failed_job = _jobs_of(stops)[-1]
    events = [e for e in events if not (e["job"] == failed_job and e["kind"] == "completed")]
    arrived = next(e for e in events if e["job"] == failed_job and e["kind"] == "arrived")
    events.append(
        event(
            "failed",
            failed_job,
            t(arrived["at"]) + dt.timedelta(minutes=10),
            resource,
            reason="customer_absent",
        )
    )
    shuffled = events * 2
    random.Random(7).shuffle(shuffled)
    for e in shuffled:
        r = send(client, keys, e)
        assert r.status_code in (200, 201), r.text
    expected = {}
    for e in sorted(events, key=lambda e: (e["at"], RANK[e["kind"]])):
        expected.setdefault(e["job"], []).append(e["kind"])
    for job_id, kinds in expected.items():
        tl = ok(client.get(f"/v1/jobs/{job_id}/timeline", headers=AUTH))
        assert [s["state"] for s in tl["steps"] if s["source"] == "app"] == kinds
        assert tl["state"] == kinds[-1]
        assert (
            ok(client.get(f"/v1/jobs/{job_id}", headers=AUTH))["status"]
            == {
                "completed": "completed",
                "failed": "failed",
            }[kinds[-1]]
        )
    tl = ok(client.get(f"/v1/jobs/{failed_job}/timeline", headers=AUTH))
    assert tl["message"] == "not completed: customer absent"

    done = _jobs_of(stops)[0]
    late = event("en_route", done, t(stops[-1]["end"]) + dt.timedelta(hours=1), resource)
    assert send(client, keys, late, 409).json()["status"] == 409  # nothing follows completed
    reused = {**events[0], "at": at("07:00")}
    assert send(client, keys, reused, 409).status_code == 409  # an event id with other content
    stranger = next(r for r in keys if r != resource and r[0] == resource[0]) if resource[0] == "T" else "T1"
    if stranger != resource:
        assert (
            send(client, keys, event("arrived", done, t(stops[-1]["end"]), stranger), 404).status_code == 404
        )
    token = auth(ok(client.post(f"/v1/jobs/{done}/tracking-token", headers=AUTH), 201)["key"])
    assert (
        client.post(
            "/v1/events", json={"id": "x", "kind": "en_route", "job": done, "at": at("09:00")}, headers=token
        ).status_code
        == 403
    )
    bad = client.post(
        "/v1/events",
        json={"id": "y", "kind": "failed", "job": done, "at": at("09:00")},
        headers=keys[resource],
    )
    assert bad.status_code == 422  # a failed event needs its reason


def test_status_reports_follow_the_event_state_machine(client):
    """The app's older ``POST /v1/jobs/{id}/status`` goes through the same state machine as events:
    forward moves pass, a step back or anything after completion is 409, another crew's job is 403."""
    publish_day(client)
    keys = keys_for(client)
    who, job = next(
        (r, _jobs_of(route(client, r, keys[r]))[0]) for r in keys if _jobs_of(route(client, r, keys[r]))
    )
    other = next(j["id"] for j in JOBS if j["id"] not in _jobs_of(route(client, who, keys[who])))

    def report(status, job_id=job, key=None):
        return client.post(f"/v1/jobs/{job_id}/status", json={"status": status}, headers=key or keys[who])

    assert ok(report("on_the_way"))["status"] == "on_the_way"
    assert ok(report("arrived"))["status"] == "arrived"
    assert report("on_the_way").status_code == 409  # back to "on the way" after arriving
    assert ok(report("completed"))["status"] == "completed"
    assert report("failed").status_code == 409
    assert report("on_the_way", job_id=other).status_code == 404
    # the progress events stored by those reports are the ones POST /v1/events replays
    late = event("arrived", job, _clock("19:00"), who)
    assert send(client, keys, late, status=409).status_code == 409
    history = ok(client.get(f"/v1/jobs/{job}/status", headers=AUTH))["history"]
    assert [h["status"] for h in history][-3:] == ["on_the_way", "arrived", "completed"]


def test_replan_in_the_background(client):
    """``wait: false`` queues the re-plan as a run; the worker solves it, stores the rest-of-day
    request it planned and, asked to publish, publishes it."""
    run = publish_day(client)
    keys = keys_for(client)
    sick = next(r for r in ("T1", "T2") if _jobs_of(route(client, r, keys[r])))
    body = {"at": at("10:30"), "unavailable": [sick], "time_limit_s": 2, "publish": True, "wait": False}
    accepted = ok(client.post(f"/v1/plans/{run['id']}/replan", json=body, headers=AUTH), 202)
    done = wait_for(
        lambda: (
            (r := ok(client.get(f"/v1/plans/{accepted['id']}", headers=AUTH)))["status"] != "queued"
            and r["status"] != "running"
            and r
        ),
        timeout=60,
        what="the queued re-plan",
    )
    assert done["status"] == "succeeded" and done["source"] == "replan", done
    assert done["violations"] in (None, [])
    assert sick not in {r["resource"] for r in done["plan"]["routes"]}
    assert done["published"] is True
    plan = check_run(client, accepted["id"])  # validated against the rest-of-day request it stored
    assert plan["replan"]["at"]
    for r in ("T1", "T2"):
        if r != sick and _jobs_of(route(client, r, keys[r])):
            assert (
                ok(client.get(f"/v1/resources/{r}/route", params={"date": DAY}, headers=keys[r]))["plan_run"]
                == accepted["id"]
            )


def test_queued_replan_is_not_published_over_a_newer_plan(make_client, db_url):
    """A re-plan queued with publish, then another plan published before a worker gets to it:
    the queued one is solved and stored, but the newer plan stays the day's plan."""
    client = make_client(embedded_worker=False)
    engine = make_engine(db_url)
    migrate(engine)
    worker = Worker(session_factory(engine), settings_for(db_url))
    thread = threading.Thread(target=worker.run_forever, daemon=True)
    thread.start()
    try:
        run = publish_day(client)
    finally:
        worker.stop()
        thread.join(timeout=30)
    try:
        queued = ok(
            client.post(
                f"/v1/plans/{run['id']}/replan",
                json={"at": at("10:30"), "time_limit_s": 1, "publish": True, "wait": False},
                headers=AUTH,
            ),
            202,
        )
        newer = ok(
            client.post(
                f"/v1/plans/{run['id']}/replan",
                json={"at": at("10:45"), "time_limit_s": 1, "publish": True},
                headers=AUTH,
            ),
            201,
        )
        assert newer["published"] is True
        assert Worker(session_factory(engine), settings_for(db_url)).run_once()
    finally:
        engine.dispose()
    late = ok(client.get(f"/v1/plans/{queued['id']}", headers=AUTH))
    assert late["status"] == "succeeded" and late["published"] is False
    check_run(client, queued["id"])
    keys = keys_for(client)
    assert (
        ok(client.get("/v1/resources/C1/route", params={"date": DAY}, headers=keys["C1"]))["plan_run"]
        == newer["id"]
    )


def test_live_streams_are_fed_by_the_shared_read(client):
    """Open (not ``once``) streams that would read only every 30 s, and would close after 20 s,
    get a change long before either: the process's one read of the feed brings it. A customer's
    stream carries its own job's change, the dispatcher's stream everything."""
    run = publish_day(client)
    keys = keys_for(client)
    who = next(r for r in keys if _jobs_of(route(client, r, keys[r])))
    job = _jobs_of(route(client, who, keys[who]))[0]
    token = auth(ok(client.post(f"/v1/jobs/{job}/tracking-token", headers=AUTH), 201)["key"])
    got: dict[str, list[tuple[str, float]]] = {"dispatcher": [], "customer": []}
    listening = threading.Semaphore(0)

    def listen(name, path, headers):
        with client.stream("GET", path, params={"timeout": 20, "poll": 30}, headers=headers) as r:
            assert r.status_code == 200
            for line in r.iter_lines():
                if line.startswith(": onestop"):  # the stream has its starting point: listening
                    listening.release()
                if line.startswith("data: "):
                    got[name].append((json.loads(line[6:])["kind"], time.monotonic()))
                    return

    threads = [
        threading.Thread(target=listen, args=("dispatcher", "/v1/stream", AUTH)),
        threading.Thread(target=listen, args=("customer", f"/v1/jobs/{job}/stream", token)),
    ]
    for th in threads:
        th.start()
    for _ in threads:  # both streams are open and waiting (a condition, not a sleep)
        assert listening.acquire(timeout=60)
    sent = time.monotonic()
    send(client, keys, event("en_route", job, _clock("08:00"), who), 201)
    for th in threads:
        th.join(timeout=30)
    assert got["dispatcher"] and [k for k, _ in got["customer"]] == ["status"]
    # woken, not read at the end of the stream's 20 s or after its 30 s poll
    assert all(at - sent < 10 for name in got for _, at in got[name])
    assert client.app.state.change_hub.reads > 0
    assert run["id"]
