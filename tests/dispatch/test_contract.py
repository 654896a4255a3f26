"""The v1 contract as users write it: decimal amounts, windows that bound the start, courier starts."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from dispatch_helpers import base_request, solve_checked, stops_of
from onestop.dispatch.cli import main
from onestop.dispatch.validator import validate_plan


def _deliveries(n: int, amount: float, capacity: float) -> dict:
    req = base_request(
        jobs=[
            {
                "id": f"d{i}",
                "kind": "delivery",
                "location": [24.94 + 0.01 * i, 60.18],
                "windows": [["09:00", "15:00"]],
                "items": {"volume_m3": amount, "weight_kg": 42.5},
            }
            for i in range(n)
        ]
    )
    req["couriers"][0]["capacity"] = {"volume_m3": capacity, "weight_kg": 500.0}
    return req


def test_decimal_amounts_are_planned_and_reported_in_the_users_units():
    """A capacity of 1.5 m³ holds three 0.5 m³ items in one trip; loads come back in m³ and kg."""
    req = _deliveries(3, 0.5, 1.5)
    plan = solve_checked(req)
    stops = plan["routes"][0]["stops"] if plan["routes"] else []
    loads = [s["load"] for s in stops]
    assert {"volume_m3": 1.5, "weight_kg": 127.5} in loads
    assert all(isinstance(v, int | float) for load in loads for v in load.values())
    delivered = [s for s in stops if s["type"] == "deliver"]
    assert len(delivered) == 3
    assert "warnings" not in plan


def test_a_fourth_half_unit_over_a_capacity_of_one_and_a_half_is_refused():
    """Four 0.5 m³ items on board at once break a 1.5 m³ capacity, named in the user's units."""
    roomy = _deliveries(4, 0.5, 2.0)
    plan = solve_checked(roomy)
    assert max(s["load"]["volume_m3"] for s in plan["routes"][0]["stops"]) == 2.0  # one trip
    tight = _deliveries(4, 0.5, 1.5)
    found = validate_plan(tight, plan)
    assert any(v.rule == "capacity" and "volume_m3 2 above capacity 1.5" in v.message for v in found), found
    replanned = solve_checked(tight)  # the solver goes back to the warehouse instead
    assert not replanned["unassigned"]
    assert max(s["load"]["volume_m3"] for s in replanned["routes"][0]["stops"]) <= 1.5


def test_capacity_check_in_decimals_is_exact():
    """0.1 + 0.2 fits 0.3 exactly (no float error); 0.1 + 0.2 + 0.001 does not."""
    req = base_request(
        jobs=[
            {"id": "a", "kind": "delivery", "location": [24.94, 60.18], "items": {"v": 0.1}},
            {"id": "b", "kind": "delivery", "location": [24.95, 60.18], "items": {"v": 0.2}},
        ]
    )
    req["couriers"][0]["capacity"] = {"v": 0.3}
    plan = solve_checked(req)
    assert not plan["unassigned"]
    peak = max(s["load"]["v"] for r in plan["routes"] for s in r["stops"])
    assert peak <= 0.3
    tight = copy.deepcopy(req)
    tight["couriers"][0]["capacity"] = {"v": 0.299}
    plan2 = solve_checked(tight)
    peak2 = max((s["load"]["v"] for r in plan2["routes"] for s in r["stops"]), default=0)
    assert peak2 <= 0.299


def test_amounts_with_more_decimals_than_the_solver_counts_say_so():
    """0.0004 m³ is planned as 0.001 (rounded up) and the plan says so, naming the field."""
    req = _deliveries(1, 0.0004, 1.5)
    plan = solve_checked(req)
    assert any("jobs[0].items.volume_m3" in w and "rounded up" in w for w in plan["warnings"])


def test_job_too_big_in_decimals_is_over_capacity():
    req = _deliveries(1, 1.5001, 1.5)
    plan = solve_checked(req)
    assert [(u["job"], u["reason"]) for u in plan["unassigned"]] == [("d0", "over_capacity")]


@pytest.mark.parametrize(
    ("value", "needle"),
    [(-0.5, "greater than or equal to 0"), ("0.5", "valid number"), (True, "valid number"), (2e9, "less than")],
)
def test_bad_amounts_name_the_field(tmp_path: Path, capsys, value, needle):
    req = _deliveries(1, 0.5, 1.5)
    req["jobs"][0]["items"]["volume_m3"] = value
    path = tmp_path / "req.json"
    path.write_text(json.dumps(req))
    assert main(["solve", str(path), "-o", str(tmp_path / "plan.json"), "--time-limit", "1"]) == 2
    err = capsys.readouterr().err
    assert "jobs[0].items.volume_m3" in err and needle in err
    assert "Traceback" not in err


def test_decimal_request_through_the_cli(tmp_path: Path, capsys):
    """`onestop solve` then `onestop validate` on a request with decimal amounts."""
    req = _deliveries(3, 0.35, 1.2)
    path, out = tmp_path / "req.json", tmp_path / "plan.json"
    path.write_text(json.dumps(req))
    assert main(["solve", str(path), "-o", str(out), "--time-limit", "1"]) == 0
    plan = json.loads(out.read_text())
    assert validate_plan(req, plan) == []
    assert any(s["load"].get("volume_m3") == 0.7 for r in plan["routes"] for s in r["stops"])
    capsys.readouterr()
    assert main(["validate", str(path), str(out)]) == 0
    assert "plan is valid" in capsys.readouterr().out


def test_visit_may_start_at_its_windows_last_minute_and_run_past_it():
    """A window bounds the start: a 60-minute repair starting at 09:30 in 09:00–09:30 is on time."""
    req = base_request(
        jobs=[
            {
                "id": "r",
                "kind": "repair",
                "location": [24.93, 60.17],
                "windows": [["09:00", "09:30"]],
                "duration": 3600,
                "brand": "LG",
            }
        ]
    )
    req["technicians"][0]["shift"] = ["09:30", "16:00"]  # starts at the job's door at 09:30
    plan = solve_checked(req)
    (_, _, visit), = stops_of(plan, "r")
    assert visit["start"][11:16] == "09:30" and visit["end"][11:16] == "10:30"
    assert plan["kpis"]["on_time_share"] == 1.0
    late = copy.deepcopy(plan)
    for s in late["routes"][0]["stops"]:
        if s["job"] == "r":
            s["arrival"] = s["start"] = s["start"].replace("09:30:00", "09:31:00")
            s["end"] = s["end"].replace("10:30:00", "10:31:00")
    assert any(v.rule == "window" for v in validate_plan(req, late))


def test_visit_must_still_end_inside_the_shift():
    """Running past the window is fine, past the shift is not: the job is left out with a reason."""
    req = base_request(
        jobs=[
            {
                "id": "r",
                "kind": "repair",
                "location": [24.93, 60.17],
                "windows": [["15:30", "15:50"]],
                "duration": 3600,
                "brand": "LG",
            }
        ]
    )
    plan = solve_checked(req)
    assert [u["job"] for u in plan["unassigned"]] == ["r"]
    assert plan["unassigned"][0]["reason"] == "window_unreachable"


def test_courier_start_and_end_as_the_user_gives_them():
    """A courier starting at home (a location) and ending at a named depot: the route honours both."""
    req = _deliveries(2, 0.5, 1.5)
    home = [24.91, 60.16]
    req["couriers"][0]["start"] = home
    req["couriers"][0]["end"] = "S"
    plan = solve_checked(req)
    stops = plan["routes"][0]["stops"]
    assert stops[0]["type"] == "start" and stops[0]["location"] == home
    assert stops[-1]["type"] == "end" and stops[-1]["location"] == [24.98, 60.19]
    wrong = copy.deepcopy(plan)
    wrong["routes"][0]["stops"][0]["location"] = [24.95, 60.20]  # the depot, not where they start
    assert any(v.rule == "route_shape" or "start" in v.message for v in validate_plan(req, wrong))


def test_courier_start_naming_an_unknown_depot_is_bad_input(tmp_path: Path, capsys):
    req = _deliveries(1, 0.5, 1.5)
    req["couriers"][0]["start"] = "nowhere"
    path = tmp_path / "req.json"
    path.write_text(json.dumps(req))
    assert main(["solve", str(path), "-o", str(tmp_path / "p.json")]) == 2
    assert "couriers[0].start" in capsys.readouterr().err


def test_integer_requests_give_integer_loads():
    """Old integer requests keep integer loads in the plan."""
    req = base_request(
        jobs=[{"id": "d", "kind": "delivery", "location": [24.94, 60.18], "items": {"volume": 3, "weight": 40}}]
    )
    plan = solve_checked(req)
    loads = [v for r in plan["routes"] for s in r["stops"] for v in s["load"].values()]
    assert loads and all(type(v) is int for v in loads)
