"""Property: any small valid day gives a valid plan that accounts for every job once.

Days are written as users write them: amounts with decimals, windows to the minute
(bounding the start of the work), couriers starting away from their depot, service zones.
"""

from __future__ import annotations

from dispatch_helpers import base_request, solve_checked
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

KINDS = ["delivery", "installation", "delivery_installation", "haul_away", "exchange", "pickup", "repair", "inspection"]
TECH_KINDS = {"installation", "delivery_installation", "repair", "inspection"}


#: Amounts as users write them: whole numbers, or up to three decimals (0.35 m³, 42.5 kg).
amounts = st.one_of(
    st.integers(0, 12),
    st.integers(0, 12_000).map(lambda x: x / 1000),
    st.integers(0, 120).map(lambda x: x / 10),
)


def _box(name: str, west: float, east: float) -> dict:
    ring = [[west, 60.10], [east, 60.10], [east, 60.30], [west, 60.30], [west, 60.10]]
    return {"type": "Feature", "properties": {"id": name}, "geometry": {"type": "Polygon", "coordinates": [ring]}}


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
            start = draw(st.integers(6 * 60, 18 * 60))
            length = draw(st.integers(0, 4 * 60))
            end = min(24 * 60 - 1, start + length)
            job["windows"] = [[f"{start // 60:02d}:{start % 60:02d}", f"{end // 60:02d}:{end % 60:02d}"]]
        if kind in TECH_KINDS:
            job["duration"] = draw(st.integers(5, 120)) * 60
            job["brand"] = draw(st.sampled_from(["LG", "Bosch"]))
            if draw(st.booleans()):
                job["skills"] = ["washer"]
        if kind not in {"installation", "repair", "inspection"}:
            job["items"] = {"volume": draw(amounts)}
            if draw(st.booleans()):
                job["items"]["weight"] = draw(amounts)
        if kind == "exchange" and draw(st.booleans()):
            job["returned_items"] = {"volume": draw(amounts)}
        if draw(st.integers(0, 5)) == 0:
            job["priority"] = draw(st.sampled_from(["urgent", "promise"]))
        if i > 0 and draw(st.integers(0, 4)) == 0:
            job["after"] = f"j{draw(st.integers(0, i - 1))}"
        jobs.append(job)
    req = base_request(jobs=jobs)
    req["couriers"][0]["capacity"] = {"volume": draw(amounts), "weight": 300.5}
    if draw(st.booleans()):
        req["couriers"][0]["start"] = [draw(st.floats(24.90, 25.00)), draw(st.floats(60.15, 60.22))]
    if draw(st.booleans()):
        # two zones split at a random longitude; each resource works in one, both or any
        cut = draw(st.floats(24.92, 24.98))
        req["zones"] = {
            "type": "FeatureCollection",
            "features": [
                _box("west", 24.80, cut), _box("east", cut, 25.10),
            ],
        }
        for r in req["technicians"] + req["couriers"]:
            pick = draw(st.sampled_from([None, ["west"], ["east"], ["west", "east"]]))
            if pick is not None:
                r["zones"] = pick
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
