"""The whole flow through HTTP: resources and jobs in, a plan run, publish, routes out."""

from __future__ import annotations

from apitools import (
    DATE,
    FAST,
    assert_valid_plan,
    auth,
    ok,
    store_day,
    wait_for,
    wait_run,
    whole_request,
)
from conftest import AUTH


def test_full_flow_plan_publish_and_courier_route(client):
    """Stored jobs are planned in the background, published, and the courier fetches its route."""
    store_day(client, AUTH)
    accepted = ok(client.post("/v1/plans", json={"date": DATE, "options": FAST}, headers=AUTH), 202)
    assert accepted["status"] == "queued"
    run = wait_run(client, accepted["id"], AUTH)
    assert run["status"] == "succeeded", run
    assert run["source"] == "stored" and run["progress"]["fraction"] == 1.0
    plan = run["plan"]
    assert plan["summary"]["planned"] == 3 and plan["unassigned"] == []
    assert_valid_plan(whole_request(), plan)
    assert run.get("violations") in (None, [])

    published = ok(client.post(f"/v1/plans/{run['id']}/publish", headers=AUTH))
    assert published["run"] == run["id"] and published["date"] == DATE

    key = ok(client.post("/v1/keys", json={"role": "courier", "resource": "C1"}, headers=AUTH), 201)["key"]
    route = ok(client.get("/v1/resources/C1/route", params={"date": DATE}, headers=auth(key)))
    assert route["resource"] == "C1" and route["plan_run"] == run["id"]
    on_route = {s["job"] for s in route["stops"] if s["job"]}
    assert on_route == {"J1", "J2"}
    deliver = next(s for s in route["stops"] if s["type"] == "deliver")
    assert deliver["address"] == "Mannerheimintie 1"
    assert deliver["details"]["customer"] == "A. Virtanen" and deliver["details"]["items"] == {"volume": 2}
    assert deliver["start"].startswith(DATE) and deliver["end"] >= deliver["start"]
    load = next(s for s in route["stops"] if s["type"] == "load")
    assert load["address"] == "Central warehouse"

    # the published plan shows on the stored jobs, and protects them from deletion
    jobs = ok(client.get("/v1/jobs", params={"date": DATE, "status": "scheduled"}, headers=AUTH))
    assert {j["id"]: j["resource"] for j in jobs["items"]} == {"J1": "C1", "J2": "C1", "J3": "T1"}
    assert client.delete("/v1/jobs/J1", headers=AUTH).status_code == 409
    assert client.delete("/v1/couriers/C1", headers=AUTH).status_code == 409

    # the courier reports progress; a customer token sees it
    ok(client.post("/v1/jobs/J1/status", json={"status": "on_the_way"}, headers=auth(key)))
    token = ok(client.post("/v1/jobs/J1/tracking-token", headers=AUTH), 201)["key"]
    status = ok(client.get("/v1/jobs/J1/status", headers=auth(token)))
    assert status["status"] == "on_the_way" and status["planned_start"] == deliver["start"]
    assert [h["status"] for h in status["history"]] == ["created", "scheduled", "on_the_way"]


def test_whole_request_body_is_planned(client):
    """A whole v1 request as the body is queued, solved and returns a valid plan."""
    request = whole_request()
    accepted = ok(client.post("/v1/plans", json=request, headers=AUTH), 202)
    run = wait_run(client, accepted["id"], AUTH)
    assert run["status"] == "succeeded" and run["source"] == "request"
    assert_valid_plan(request, run["plan"])
    listed = ok(client.get("/v1/plans", params={"date": DATE}, headers=AUTH))
    assert [r["id"] for r in listed["items"]] == [run["id"]] and listed["items"][0].get("plan") is None


def test_running_run_reports_progress_and_cancels(client):
    """A long run shows running with progress, and DELETE cancels it without waiting for the solve."""
    accepted = ok(
        client.post("/v1/plans", json=whole_request(preset="balanced", time_limit_s=60), headers=AUTH), 202
    )
    run_id = accepted["id"]

    def _solving():
        body = ok(client.get(f"/v1/plans/{run_id}", headers=AUTH))
        return body if body["status"] == "running" and body["progress"]["phase"] == "solving" else None

    running = wait_for(_solving, timeout=30, what="the run to be solving")
    assert running["attempts"] == 1 and 0.0 <= running["progress"]["fraction"] < 1.0
    assert ok(client.delete(f"/v1/plans/{run_id}", headers=AUTH))["cancel_requested"]
    done = wait_run(client, run_id, AUTH, timeout=15)
    assert done["status"] == "cancelled" and done["plan"] is None
    assert client.post(f"/v1/plans/{run_id}/publish", headers=AUTH).status_code == 409
    assert client.delete(f"/v1/plans/{run_id}", headers=AUTH).status_code == 409


def test_restart_keeps_everything(make_client):
    """A new server on the same database sees every stored row, run and the published plan."""
    first = make_client()
    store_day(first, AUTH)
    run = wait_run(
        first,
        ok(first.post("/v1/plans", json={"date": DATE, "options": FAST}, headers=AUTH), 202)["id"],
        AUTH,
    )
    ok(first.post(f"/v1/plans/{run['id']}/publish", headers=AUTH))
    key = ok(first.post("/v1/keys", json={"role": "technician", "resource": "T1"}, headers=AUTH), 201)["key"]
    first.__exit__(None, None, None)

    second = make_client()
    assert ok(second.get("/v1/depots", headers=AUTH))["total"] == 2
    assert ok(second.get("/v1/couriers", headers=AUTH))["total"] == 2
    assert ok(second.get("/v1/jobs", params={"date": DATE}, headers=AUTH))["total"] == 3
    again = ok(second.get(f"/v1/plans/{run['id']}", headers=AUTH))
    assert again["status"] == "succeeded" and again["plan"] == run["plan"] and again["published"]
    route = ok(second.get("/v1/resources/T1/route", params={"date": DATE}, headers=auth(key)))
    assert [s["job"] for s in route["stops"] if s["job"]] == ["J3"]


def test_jobs_list_filters_and_pagination(client):
    """Job lists filter by date, zone, kind and status and page with limit/offset."""
    for d in whole_request()["depots"]:
        ok(client.post("/v1/depots", json=d, headers=AUTH), 201)
    for i in range(7):
        body = {
            "kind": "pickup" if i % 2 else "delivery",
            "location": [24.9, 60.17],
            "date": DATE if i < 5 else "2026-03-03",
            "zone": "north" if i < 3 else "south",
            "items": {"volume": 1},
        }
        ok(client.post("/v1/jobs", json=body, headers=AUTH), 201)
    page = ok(client.get("/v1/jobs", params={"date": DATE, "limit": 2, "offset": 0}, headers=AUTH))
    assert page["total"] == 5 and len(page["items"]) == 2
    rest = ok(client.get("/v1/jobs", params={"date": DATE, "limit": 2, "offset": 4}, headers=AUTH))
    assert len(rest["items"]) == 1
    ids = {j["id"] for j in page["items"]} | {j["id"] for j in rest["items"]}
    assert len(ids) == 3 and all(i.startswith("job_") for i in ids)
    assert ok(client.get("/v1/jobs", params={"zone": "north"}, headers=AUTH))["total"] == 3
    assert ok(client.get("/v1/jobs", params={"kind": "pickup", "zone": "south"}, headers=AUTH))["total"] == 2
    assert ok(client.get("/v1/jobs", params={"status": "new"}, headers=AUTH))["total"] == 7
    one = page["items"][0]["id"]
    assert client.delete(f"/v1/jobs/{one}", headers=AUTH).status_code == 204
    assert client.get(f"/v1/jobs/{one}", headers=AUTH).status_code == 404


def test_publishing_again_replaces_the_active_plan(client):
    """Publishing a second run of the same day replaces the first; routes follow the new one."""
    store_day(client, AUTH)
    runs = []
    for _ in range(2):
        accepted = ok(client.post("/v1/plans", json={"date": DATE, "options": FAST}, headers=AUTH), 202)
        runs.append(wait_run(client, accepted["id"], AUTH))
    assert [r["status"] for r in runs] == ["succeeded", "succeeded"]
    first = ok(client.post(f"/v1/plans/{runs[0]['id']}/publish", headers=AUTH))
    assert first["replaced"] is None
    second = ok(client.post(f"/v1/plans/{runs[1]['id']}/publish", headers=AUTH))
    assert second["replaced"] == runs[0]["id"]
    route = ok(client.get("/v1/resources/C1/route", params={"date": DATE}, headers=AUTH))
    assert route["plan_run"] == runs[1]["id"]
    assert not ok(client.get(f"/v1/plans/{runs[0]['id']}", headers=AUTH))["published"]
    jobs = ok(client.get("/v1/jobs", params={"date": DATE}, headers=AUTH))["items"]
    assert {j["plan_run"] for j in jobs} == {runs[1]["id"]}
    assert (
        client.get("/v1/resources/C1/route", params={"date": "2026-03-09"}, headers=AUTH).status_code == 404
    )
