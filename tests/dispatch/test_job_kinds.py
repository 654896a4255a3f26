"""Each job kind plans with its own stops and rules, and every plan validates."""

from __future__ import annotations

from datetime import datetime

import pytest
from dispatch_helpers import base_request, load_example, solve_checked, stops_of


def _t(stop: dict, key: str) -> datetime:
    return datetime.fromisoformat(stop[key])


@pytest.mark.parametrize(
    "name",
    [
        "delivery",
        "installation",
        "delivery_installation",
        "haul_away",
        "exchange",
        "pickup",
        "repair",
        "inspection",
        "mixed_day",
    ],
)
def test_examples_plan_and_validate(name):
    """Every hand-written example plans into a valid plan."""
    req = load_example(name)
    plan = solve_checked(req, time_limit_s=3)
    assert plan["routes"], "something should be planned"


def test_exchange_loads_swaps_unloads_on_one_courier():
    """An exchange loads the new unit at the warehouse, swaps at the customer, unloads the old one."""
    req = base_request(
        jobs=[
            {
                "id": "x1",
                "kind": "exchange",
                "location": [24.94, 60.18],
                "windows": [["10:00", "12:00"]],
                "items": {"volume": 3},
                "returned_items": {"volume": 4},
                "from": "W",
                "to": "S",
            }
        ]
    )
    plan = solve_checked(req)
    stops = stops_of(plan, "x1")
    assert [t for _, t, _ in stops] == ["load", "swap", "unload"]
    assert {r for r, _, _ in stops} == {"c1"}
    load, swap, unload = (s for _, _, s in stops)
    assert load["location"] == [24.95, 60.20] and unload["location"] == [24.98, 60.19]
    assert load["load"]["volume"] - swap["load"]["volume"] == -1  # 3 out, 4 in
    assert unload["load"]["volume"] == swap["load"]["volume"] - 4


def test_split_delivery_installation_installs_after_delivery():
    """Without a one-crew courier, a courier delivers and the technician installs after it ends."""
    req = base_request(
        jobs=[
            {
                "id": "di",
                "kind": "delivery_installation",
                "location": [24.94, 60.18],
                "windows": [["09:00", "15:00"]],
                "duration": 3600,
                "brand": "LG",
                "skills": ["washer"],
                "items": {"volume": 2},
            }
        ]
    )
    plan = solve_checked(req)
    stops = stops_of(plan, "di")
    deliver = next(s for r, t, s in stops if t == "deliver" and r == "c1")
    install = next(s for r, t, s in stops if t == "install" and r == "t1")
    assert _t(install, "start") >= _t(deliver, "end")
    assert (_t(deliver, "end") - _t(deliver, "start")).total_seconds() == 300  # handover_s


def test_one_crew_delivery_installation_is_one_visit():
    """A courier whose brands and skills cover the job delivers and installs in one visit."""
    req = base_request(technicians=[])
    req["couriers"][0].update(brands=["LG"], skills=["washer"])
    req["jobs"] = [
        {
            "id": "di",
            "kind": "delivery_installation",
            "location": [24.94, 60.18],
            "windows": [["09:00", "15:00"]],
            "duration": 3600,
            "handover_s": 600,
            "brand": "LG",
            "skills": ["washer"],
            "items": {"volume": 2},
        }
    ]
    plan = solve_checked(req)
    stops = stops_of(plan, "di")
    assert [t for _, t, _ in stops] == ["load", "deliver", "install"]
    assert {r for r, _, _ in stops} == {"c1"}
    deliver, install = stops[1][2], stops[2][2]
    assert deliver["end"] == install["start"]
    assert (_t(install, "end") - _t(deliver, "start")).total_seconds() == 600 + 3600


def test_haul_away_respects_capacity():
    """Haul-aways that together exceed the van make it unload in between (or leave one out)."""
    jobs = [
        {
            "id": f"h{i}",
            "kind": "haul_away",
            "location": [24.93 + 0.01 * i, 60.17],
            "windows": [["08:00", "16:00"]],
            "items": {"volume": 6},
            "to": "R",
        }
        for i in range(3)
    ]
    plan = solve_checked(base_request(jobs=jobs))
    for r in plan["routes"]:
        assert all(s["load"].get("volume", 0) <= 10 for s in r["stops"])
    assert plan["kpis"]["jobs_planned"] == 3


def test_haul_away_larger_than_any_van_is_over_capacity():
    """Items bigger than every van are unassigned as over_capacity, the rest still planned."""
    jobs = [
        {"id": "big", "kind": "haul_away", "location": [24.93, 60.17], "items": {"volume": 11}},
        {"id": "ok", "kind": "pickup", "location": [24.94, 60.17], "items": {"volume": 1}},
    ]
    plan = solve_checked(base_request(jobs=jobs))
    assert plan["unassigned"] == [
        {"job": "big", "reason": "over_capacity", "detail": plan["unassigned"][0]["detail"]}
    ]
    assert stops_of(plan, "ok")


def test_brand_and_skills_pick_the_right_technician():
    """A repair goes to the technician authorised for its brand with its skills."""
    req = base_request()
    req["technicians"].append(
        {
            "id": "t2",
            "brands": ["Bosch"],
            "skills": ["washer"],
            "start": [24.93, 60.17],
            "shift": ["08:00", "16:00"],
        }
    )
    req["jobs"] = [
        {
            "id": "r-lg",
            "kind": "repair",
            "location": [24.94, 60.18],
            "duration": 1800,
            "brand": "LG",
            "skills": ["washer"],
        },
        {"id": "r-bosch", "kind": "repair", "location": [24.95, 60.18], "duration": 1800, "brand": "Bosch"},
        {"id": "r-miele", "kind": "repair", "location": [24.95, 60.18], "duration": 1800, "brand": "Miele"},
        {
            "id": "r-tv",
            "kind": "repair",
            "location": [24.95, 60.18],
            "duration": 1800,
            "brand": "LG",
            "skills": ["tv"],
        },
    ]
    plan = solve_checked(req)
    assert stops_of(plan, "r-lg")[0][0] == "t1"
    assert stops_of(plan, "r-bosch")[0][0] == "t2"
    reasons = {u["job"]: u["reason"] for u in plan["unassigned"]}
    assert reasons == {"r-miele": "no_capable_resource", "r-tv": "no_capable_resource"}


def test_breaks_and_shift_hold():
    """Busy routes take their break inside its window and stay inside the shift."""
    jobs = [
        {
            "id": f"v{i}",
            "kind": "inspection",
            "location": [24.93 + 0.003 * i, 60.17],
            "duration": 2400,
            "brand": "LG",
        }
        for i in range(8)
    ]
    plan = solve_checked(base_request(jobs=jobs))
    route = next(r for r in plan["routes"] if r["resource"] == "t1")
    breaks = [s for s in route["stops"] if s["type"] == "break"]
    assert len(breaks) == 1
    b = breaks[0]
    assert b["start"][11:16] >= "11:30" and b["end"][11:16] <= "13:30"
    assert (_t(b, "end") - _t(b, "start")).total_seconds() == 1800
    assert route["stops"][0]["start"][11:16] >= "08:00" and route["stops"][-1]["end"][11:16] <= "16:00"


def test_window_before_every_shift_is_unreachable():
    """A job whose only window closes before anyone starts is window_unreachable."""
    jobs = [
        {
            "id": "early",
            "kind": "repair",
            "location": [24.94, 60.18],
            "windows": [["05:00", "06:00"]],
            "duration": 1800,
            "brand": "LG",
        },
        {
            "id": "fine",
            "kind": "repair",
            "location": [24.94, 60.18],
            "windows": [["09:00", "11:00"]],
            "duration": 1800,
            "brand": "LG",
        },
    ]
    plan = solve_checked(base_request(jobs=jobs))
    assert [(u["job"], u["reason"]) for u in plan["unassigned"]] == [("early", "window_unreachable")]


def test_job_longer_than_any_shift_is_shift_too_short():
    """A job that takes longer than every capable shift is shift_too_short."""
    jobs = [
        {"id": "long", "kind": "repair", "location": [24.94, 60.18], "duration": 10 * 3600, "brand": "LG"}
    ]
    plan = solve_checked(base_request(jobs=jobs))
    assert [(u["job"], u["reason"]) for u in plan["unassigned"]] == [("long", "shift_too_short")]


def test_unknown_job_reference_is_invalid_reference():
    """A job naming an unknown depot or predecessor is unassigned with invalid_reference."""
    jobs = [
        {"id": "a", "kind": "delivery", "location": [24.94, 60.18], "from": "nowhere"},
        {
            "id": "b",
            "kind": "installation",
            "location": [24.94, 60.18],
            "duration": 600,
            "brand": "LG",
            "after": "ghost",
        },
        {"id": "c", "kind": "pickup", "location": [24.94, 60.18]},
    ]
    plan = solve_checked(base_request(jobs=jobs))
    assert [(u["job"], u["reason"]) for u in plan["unassigned"]] == [
        ("a", "invalid_reference"),
        ("b", "invalid_reference"),
    ]


def test_installation_after_delivery_across_routes():
    """An installation linked `after` a delivery starts once the delivery has ended."""
    jobs = [
        {
            "id": "d",
            "kind": "delivery",
            "location": [24.94, 60.18],
            "windows": [["10:00", "12:00"]],
            "items": {"volume": 2},
        },
        {
            "id": "i",
            "kind": "installation",
            "location": [24.94, 60.18],
            "duration": 1800,
            "brand": "LG",
            "after": "d",
        },
    ]
    plan = solve_checked(base_request(jobs=jobs))
    deliver = next(s for _, t, s in stops_of(plan, "d") if t == "deliver")
    install = next(s for _, t, s in stops_of(plan, "i") if t == "install")
    assert _t(install, "start") >= _t(deliver, "end")


def test_promise_211_sets_the_deadline():
    """A 211 promise ordered before 11:00 is delivered by 23:00; one ordered the evening before, by 15:00."""
    jobs = [
        {
            "id": "p-eve",
            "kind": "delivery",
            "location": [24.94, 60.18],
            "priority": "promise",
            "promise": {"kind": "211", "ordered_at": "2026-11-23T20:00:00+02:00"},
        },
        {
            "id": "p-morn",
            "kind": "delivery",
            "location": [24.95, 60.18],
            "priority": "promise",
            "promise": {"kind": "211", "ordered_at": "09:30"},
        },
    ]
    req = base_request(jobs=jobs)
    req["couriers"][0]["shift"] = ["08:00", "23:30"]
    plan = solve_checked(req)
    eve = next(s for _, t, s in stops_of(plan, "p-eve") if t == "deliver")
    morn = next(s for _, t, s in stops_of(plan, "p-morn") if t == "deliver")
    assert eve["end"][11:16] <= "15:00"
    assert morn["start"][11:16] >= "09:30" and morn["end"][11:16] <= "23:00"


def test_urgent_job_wins_when_only_one_fits():
    """When only one of two jobs fits, the urgent one is planned."""
    jobs = [
        {
            "id": "std",
            "kind": "repair",
            "location": [24.94, 60.18],
            "windows": [["09:00", "09:10"]],
            "duration": 3000,
            "brand": "LG",
        },
        {
            "id": "urg",
            "kind": "repair",
            "location": [24.95, 60.18],
            "windows": [["09:00", "09:10"]],
            "duration": 3000,
            "brand": "LG",
            "priority": "urgent",
        },
    ]
    plan = solve_checked(base_request(jobs=jobs))
    assert stops_of(plan, "urg")
    assert [(u["job"], u["reason"]) for u in plan["unassigned"]] == [("std", "not_scheduled")]
    # the reason names who could have done it, and when
    assert plan["unassigned"][0]["detail"] == (
        "possible on its own, but its 1 capable technician (t1) had no room for it in 09:00–09:10 "
        "alongside the rest of the day"
    )


def test_max_jobs_limits_a_route():
    """A technician with max_jobs 2 does at most two jobs."""
    req = base_request()
    req["technicians"][0]["max_jobs"] = 2
    req["jobs"] = [
        {
            "id": f"v{i}",
            "kind": "inspection",
            "location": [24.93 + 0.003 * i, 60.17],
            "duration": 600,
            "brand": "LG",
        }
        for i in range(4)
    ]
    plan = solve_checked(req)
    assert plan["kpis"]["jobs_planned"] == 2
    assert {u["reason"] for u in plan["unassigned"]} == {"not_scheduled"}
