"""Property: any small valid day gives a valid plan that accounts for every job once."""

from __future__ import annotations

from dispatch_helpers import base_request, solve_checked
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

KINDS = ["delivery", "installation", "delivery_installation", "haul_away", "exchange", "pickup", "repair", "inspection"]
TECH_KINDS = {"installation", "delivery_installation", "repair", "inspection"}


@st.composite
def days(draw):
    """Small random requests: 1-8 jobs of any kind, random windows, items, brands and skills."""
    n = draw(st.integers(1, 8))
    jobs = []
    for i in range(n):
        kind = draw(st.sampled_from(KINDS))
        job = {
            "id": f"j{i}",
            "kind": kind,
            "location": [draw(st.floats(24.90, 25.00)), draw(st.floats(60.15, 60.22))],
        }
        if draw(st.booleans()):
            start = draw(st.integers(6, 18))
            length = draw(st.integers(1, 4))
            job["windows"] = [[f"{start:02d}:00", f"{min(24, start + length):02d}:00"]]
        if kind in TECH_KINDS:
            job["duration"] = draw(st.integers(5, 120)) * 60
            job["brand"] = draw(st.sampled_from(["LG", "Bosch"]))
            if draw(st.booleans()):
                job["skills"] = ["washer"]
        if kind not in {"installation", "repair", "inspection"}:
            job["items"] = {"volume": draw(st.integers(0, 12))}
        if kind == "exchange" and draw(st.booleans()):
            job["returned_items"] = {"volume": draw(st.integers(0, 12))}
        if draw(st.integers(0, 5)) == 0:
            job["priority"] = draw(st.sampled_from(["urgent", "promise"]))
        if i > 0 and draw(st.integers(0, 4)) == 0:
            job["after"] = f"j{draw(st.integers(0, i - 1))}"
        jobs.append(job)
    req = base_request(jobs=jobs)
    if draw(st.booleans()):
        req["couriers"].append(
            {"id": "crew", "depot": "W", "capacity": {"volume": 8}, "brands": ["LG"], "skills": ["washer"],
             "shift": ["09:00", "17:00"], "max_jobs": draw(st.integers(1, 6))}
        )
    req["options"] = {"preset": "fast", "time_limit_s": 1}
    return req


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(days())
def test_every_plan_validates_and_accounts_for_every_job(req):
    """Every generated day plans validly; each job is planned or unassigned exactly once."""
    solve_checked(req, solution_limit=20)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(days())
def test_full_search_path_plans_validly(req):
    """With no solution limit (construction, OR-Tools, refill and LNS), every plan still validates."""
    from onestop.dispatch.planner import plan_day
    from onestop.dispatch.validator import validate_plan

    plan = plan_day(req, time_limit_s=1).plan
    assert validate_plan(req, plan) == []
    listed = [u["job"] for u in plan["unassigned"]]
    planned = {s["job"] for r in plan["routes"] for s in r["stops"] if s["job"]}
    assert planned.isdisjoint(listed) and planned | set(listed) == {j["id"] for j in req["jobs"]}
