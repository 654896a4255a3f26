"""Shared builders for dispatch tests: a small city day and a solve-and-check helper."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def base_request(**changes: Any) -> dict[str, Any]:
    """A tiny valid day: one warehouse, one service centre, one technician, one courier."""
    req: dict[str, Any] = {
        "date": "2026-11-24",
        "timezone": "Europe/Helsinki",
        "depots": [
            {"id": "W", "kind": "warehouse", "location": [24.95, 60.20], "service_s": 120},
            {"id": "S", "kind": "service_center", "location": [24.98, 60.19], "service_s": 60},
            {"id": "R", "kind": "recycling", "location": [24.99, 60.20]},
        ],
        "technicians": [
            {
                "id": "t1",
                "brands": ["LG"],
                "skills": ["washer"],
                "start": [24.93, 60.17],
                "shift": ["08:00", "16:00"],
                "breaks": [{"window": ["11:30", "13:30"], "duration": 1800}],
            }
        ],
        "couriers": [
            {
                "id": "c1",
                "depot": "W",
                "capacity": {"volume": 10, "weight": 300},
                "shift": ["08:00", "16:00"],
                "breaks": [{"window": ["11:00", "13:00"], "duration": 1800}],
            }
        ],
        "jobs": [],
        "options": {"preset": "fast", "time_limit_s": 2},
    }
    req.update(copy.deepcopy(changes))
    return req


def load_example(name: str) -> dict[str, Any]:
    return json.loads((EXAMPLES / f"{name}.json").read_text())


def solve_checked(request: dict[str, Any], **kw: Any) -> dict[str, Any]:
    """Plan a request with a short, repeatable search and assert the plan validates."""
    from onestop.dispatch.planner import plan_day
    from onestop.dispatch.validator import validate_plan

    kw.setdefault("solution_limit", 200)
    plan = plan_day(request, **kw).plan
    violations = validate_plan(request, plan)
    assert violations == [], "\n".join(map(str, violations))
    listed = [u["job"] for u in plan["unassigned"]]
    planned = {s["job"] for r in plan["routes"] for s in r["stops"] if s["job"]}
    assert sorted(set(listed)) == sorted(listed)
    assert planned.isdisjoint(listed)
    assert planned | set(listed) == {j["id"] for j in request["jobs"]}
    return plan


def stops_of(plan: dict[str, Any], job: str) -> list[tuple[str, str, dict[str, Any]]]:
    """(resource, stop type, stop) for each stop of a job, in route order."""
    return [(r["resource"], s["type"], s) for r in plan["routes"] for s in r["stops"] if s["job"] == job]
