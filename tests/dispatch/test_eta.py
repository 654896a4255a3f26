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
