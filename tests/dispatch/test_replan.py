"""Re-planning a day in progress: sick technicians, new, cancelled and loaded work."""

from __future__ import annotations

import copy
from typing import Any

from dispatch_helpers import base_request, solve_checked
from onestop.dispatch.replan import replan
from onestop.dispatch.validator import validate_plan


def living_day() -> dict[str, Any]:
    """Two LG technicians, one courier, repairs spread over the day and two deliveries."""
    req = base_request()
    t2 = copy.deepcopy(req["technicians"][0])
    t2.update(id="t2", start=[24.96, 60.18])
    req["technicians"].append(t2)
    req["jobs"] = [
        {
            "id": f"r{i}",
            "kind": "repair",
            "location": [24.93 + 0.006 * i, 60.17 + 0.003 * (i % 3)],
            "windows": [[w, f"{int(w[:2]) + 2:02d}:00"]],
            "duration": 2400,
            "brand": "LG",
            "skills": ["washer"],
        }
        for i, w in enumerate(["08:00", "08:00", "10:00", "10:00", "12:00", "14:00", "14:00"])
    ] + [
        {
            "id": "d1",
            "kind": "delivery",
            "location": [24.97, 60.19],
            "windows": [["10:00", "14:00"]],
            "items": {"volume": 2},
        },
        {
            "id": "d2",
            "kind": "delivery",
            "location": [24.94, 60.21],
            "windows": [["12:00", "16:00"]],
            "items": {"volume": 3},
        },
    ]
    return req


def resource_of(plan: dict[str, Any]) -> dict[str, str]:
    """Job → the resource of its customer stop."""
    return {
        s["job"]: r["resource"]
        for r in plan["routes"]
        for s in r["stops"]
        if s["job"] and s["type"] in ("deliver", "visit", "install", "swap", "collect")
    }


def checked(out) -> None:
    assert out.violations == []
    assert validate_plan(out.request, out.plan) == []


def test_sick_technician_jobs_move_and_promises_hold():
    """A technician gone at 11:30: their remaining jobs move, windows stay, finished work stays history."""
    req = living_day()
    plan = solve_checked(req)
    before = resource_of(plan)
    sick = max(("t1", "t2"), key=lambda t: sum(1 for r in before.values() if r == t))
    out = replan(req, plan, at="11:30", unavailable=[sick], time_limit_s=2)
    checked(out)
    done = set(out.completed)
    assert done, "some work was finished by 11:30"
    new_ids = {j["id"] for j in out.request["jobs"]}
    assert done.isdisjoint(new_ids)
    history = {s["job"] for h in out.plan["history"] for s in h["stops"] if s["job"]}
    assert done <= history
    after = resource_of(out.plan)
    assert sick not in {r["resource"] for r in out.plan["routes"]}
    moved = {j for j, r in before.items() if r == sick and j in after}
    assert set(out.changed) == moved
    assert all(after[j] == before[j] for j in after if j in before and j not in moved)
    assert out.kept == sum(1 for j in after if j in before and after[j] == before[j])
    originals = {j["id"]: j for j in req["jobs"]}
    for j in out.request["jobs"]:
        if j["id"] not in {s["job"] for r in out.plan["routes"] for s in r["stops"] if s["job"]}:
            continue
        if j.get("priority") != "urgent":  # a started stop's window is the fact; the rest are promises
            assert j["windows"] == originals[j["id"]]["windows"]


def test_new_urgent_job_is_inserted():
    """A new urgent repair arriving at 11:00 gets planned, everyone else stays where they were."""
    req = living_day()
    plan = solve_checked(req)
    urgent = {
        "id": "u1",
        "kind": "repair",
        "location": [24.95, 60.185],
        "windows": [["12:00", "16:00"]],
        "duration": 1800,
        "brand": "LG",
        "skills": ["washer"],
        "priority": "urgent",
    }
    out = replan(req, plan, at="11:00", new_jobs=[urgent], time_limit_s=2)
    checked(out)
    assert "u1" in resource_of(out.plan)
    assert out.changed == []


def test_cancelled_jobs_vanish():
    """Cancelled jobs are gone from the new request and plan, and listed as cancelled."""
    req = living_day()
    plan = solve_checked(req)
    out = replan(req, plan, at="09:00", cancelled=["r5", "d2"], time_limit_s=2)
    checked(out)
    assert {"r5", "d2"}.isdisjoint(j["id"] for j in out.request["jobs"])
    assert {"r5", "d2"}.isdisjoint(resource_of(out.plan))
    assert out.plan["replan"]["cancelled"] == ["d2", "r5"]


def test_loaded_items_stay_on_the_van():
    """A delivery whose load is done stays with its courier and loads from the van where it is."""
    req = living_day()
    plan = solve_checked(req)
    route = next(r for r in plan["routes"] if r["resource"] == "c1")
    loads = [s for s in route["stops"] if s["type"] == "load"]
    delivers = [s for s in route["stops"] if s["type"] == "deliver"]
    at = loads[-1]["end"][11:19]
    progress = {}
    out = replan(req, plan, at=at, progress=progress, positions={"c1": [24.955, 60.2]}, time_limit_s=2)
    checked(out)
    jobs = {j["id"]: j for j in out.request["jobs"]}
    for s in delivers:
        assert jobs[s["job"]]["from"] == "c1@now"
        assert resource_of(out.plan)[s["job"]] == "c1"
    start = next(r for r in out.plan["routes"] if r["resource"] == "c1")["stops"][0]
    assert start["location"] == [24.955, 60.2]
