"""Live ETAs: a late courier's stops move and a window miss is flagged."""

from __future__ import annotations

from datetime import datetime

from dispatch_helpers import solve_checked
from onestop.dispatch.eta import etas
from test_replan import living_day


def test_late_courier_etas_move_and_flag_the_miss():
    """A courier still at the warehouse two hours after its first delivery was due is flagged late."""
    req = living_day()
    req["jobs"][-2]["windows"] = [["10:00", "11:00"]]
    plan = solve_checked(req)
    route = next(r for r in plan["routes"] if r["resource"] == "c1")
    first = next(s for s in route["stops"] if s["type"] == "deliver")
    on_time = etas(req, plan, "c1", now=route["stops"][0]["start"][11:19])
    assert not any(e.late for e in on_time)
    late = etas(req, plan, "c1", now="11:30", position=req["depots"][0]["location"])
    eta = next(e for e in late if e.job == first["job"] and e.stop_type == "deliver")
    assert datetime.fromisoformat(eta.eta) > datetime.fromisoformat(first["arrival"])
    assert eta.late and eta.late_by_s > 0


def test_done_jobs_drop_out():
    """Stops of done jobs, and everything before them on the route, get no ETA."""
    req = living_day()
    plan = solve_checked(req)
    route = next(r for r in plan["routes"] if r["resource"] == "c1")
    jobs = [s["job"] for s in route["stops"] if s["type"] == "deliver"]
    out = etas(req, plan, "c1", now="12:00", done={jobs[0]})
    assert jobs[0] not in {e.job for e in out}


def test_plan_eta_and_validator_agree_on_every_stop_time_of_a_day_with_breaks():
    """One timing rule: on a generated day with lunch breaks, an ETA taken as each route leaves
    (nothing late yet) gives every stop the plan's own arrival and start, and the plan validates."""
    from onestop.dispatch.generate import generate_day
    from onestop.dispatch.validator import validate_plan

    req = generate_day(40, seed=3, time_limit_s=3, preset="fast")
    plan = solve_checked(req)
    assert validate_plan(req, plan) == []
    checked = 0
    for route in plan["routes"]:
        if not any(s["type"] == "break" for s in route["stops"]):
            continue
        start = route["stops"][0]
        out = etas(req, plan, route["resource"], now=start["start"], position=start["location"])
        planned = [s for s in route["stops"] if s["type"] not in ("start", "end", "break")]
        assert len(out) == len(planned)
        for e, s in zip(out, planned, strict=True):
            assert (e.job, e.stop_type) == (s["job"], s["type"])
            assert datetime.fromisoformat(e.eta) == datetime.fromisoformat(s["arrival"]), (route["resource"], s)
            assert datetime.fromisoformat(e.start) == datetime.fromisoformat(s["start"]), (route["resource"], s)
            assert not e.late
            checked += 1
    assert checked > 10
