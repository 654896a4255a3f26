"""Appointment booking: quotes against the live plan, booking one, urgent answers."""

from __future__ import annotations

from dispatch_helpers import solve_checked
from onestop.dispatch.booking import book, earliest, quote
from onestop.dispatch.validator import validate_plan
from test_replan import living_day, resource_of

NEW = {
    "id": "n1",
    "kind": "repair",
    "location": [24.955, 60.18],
    "duration": 1800,
    "brand": "LG",
    "skills": ["washer"],
}


def test_quote_gives_feasible_windows_with_costs():
    """Today's windows after `at` and the next days' come back, the feasible ones with a cost and a resource."""
    req = living_day()
    plan = solve_checked(req)
    slots = quote(req, plan, NEW, days=2, at="09:30")
    today = [s for s in slots if s.date == req["date"]]
    assert today and all(s.window[0] >= f"{req['date']}T10:00" for s in today)
    feasible = [s for s in slots if s.feasible]
    assert feasible and all(s.resource in ("t1", "t2") and s.extra_cost_s >= 0 for s in feasible)
    assert any(s.date != req["date"] for s in feasible)


def test_book_inserts_only_the_job():
    """Booking a quoted window adds the job to a valid plan and leaves every other assignment alone."""
    req = living_day()
    plan = solve_checked(req)
    slot = next(s for s in quote(req, plan, NEW, days=1) if s.feasible)
    req2, plan2 = book(req, plan, NEW, slot.window)
    assert validate_plan(req2, plan2) == []
    before, after = resource_of(plan), resource_of(plan2)
    assert after.pop("n1") == slot.resource
    assert after == before
    order = {
        r["resource"]: [s["job"] for s in r["stops"] if s["job"] and s["job"] != "n1"]
        for r in plan2["routes"]
    }
    assert order == {r["resource"]: [s["job"] for s in r["stops"] if s["job"]] for r in plan["routes"]}


def test_impossible_urgent_job_gets_earliest_later_day():
    """An urgent two-hour repair asked for at 15:00 has no room today: the answer names the earliest slot."""
    req = living_day()
    plan = solve_checked(req)
    urgent = dict(NEW, duration=5400, priority="urgent")
    answer = earliest(req, plan, urgent, at="15:00")
    assert answer.slot is not None and not answer.today
    assert answer.message.startswith("none today, earliest is 2026-11-25 08:00")
