"""The field-day suite end to end on a small day: solved, validated, bounded, beside the baseline."""

from __future__ import annotations

import csv

from benchmarks import fieldday


def test_small_day_row_and_table(tmp_path):
    """One 40-job day: a valid plan, a bound no lower than it, a valid baseline; CSV and table."""
    row = fieldday.run_size(40, seed=1, time_limit_s=3, bound_s=10)
    assert row["error"] == ""
    assert row["valid"] == "yes" and row["baseline_valid"] == "yes"
    assert row["booking"] == "slots"
    assert int(row["planned"]) <= int(row["bound"]) <= int(row["feasible"])
    assert int(row["baseline_planned"]) <= int(row["bound"])
    out = fieldday.write_csv([row, {**row, "seed": 2}], tmp_path / "f.csv")
    with out.open() as f:
        assert len(list(csv.DictReader(f))) == 2
    table = fieldday.markdown([row, {**row, "seed": 2}])
    assert "upper bound" in table and "pooled" in table


def _cross_route(request: dict) -> set[str]:
    """Jobs linked `after` another, and delivery_installations a technician could share or no
    courier can do alone: counted from the raw request, apart from benchmarks.fieldpeers."""

    def covers(r: dict, j: dict) -> bool:
        brand_ok = j.get("brand") is None or j["brand"] in r.get("brands", [])
        return brand_ok and set(j.get("skills", [])) <= set(r.get("skills", []))

    out = set()
    for j in request["jobs"]:
        if j.get("after"):
            out.add(j["id"])
        elif j["kind"] == "delivery_installation":
            tech = any(covers(t, j) for t in request["technicians"])
            crew = any(covers(c, j) for c in request["couriers"])
            if tech or not crew:
                out.add(j["id"])
    return out


def test_vroom_peer_on_a_small_day():
    """A 25-job day with --peers vroom: real VROOM, its converted plan passes the validator,
    the removed count is the day's cross-route jobs, and the reduced day is solved by both."""
    from onestop.dispatch.generate import generate_day
    from onestop.dispatch.model import parse_request
    from onestop.dispatch.validator import validate_plan

    from benchmarks import fieldpeers

    request = generate_day(25, 0)
    cross = _cross_route(request)
    assert cross, "the day should hold cross-route work"
    row = fieldday.run_size(25, seed=0, time_limit_s=2, baseline=False, peers=("vroom",))
    assert row["error"] == "" and row["valid"] == "yes"
    assert row["vroom_removed"] == len(cross)
    assert row["vroom_valid"] == "yes" and row["both_onestop_valid"] == "yes"
    assert 0 < row["vroom_planned"] <= row["vroom_given"] <= 25 - len(cross)
    assert row["both_onestop_planned"] <= 25 - len(cross)
    table = fieldday.markdown([row])
    assert "removed for VROOM" in table and "both: VROOM planned" in table

    # the converted plan, checked here again against the reduced request only
    reduced = fieldpeers.reduced_request(request, sorted(cross))
    assert {j["id"] for j in reduced["jobs"]}.isdisjoint(cross)
    day = fieldpeers.solve_vroom(parse_request(reduced), 2)
    assert validate_plan(reduced, day.plan) == []
    stops = [s for r in day.plan["routes"] for s in r["stops"]]
    assert len({s["job"] for s in stops if s["job"]}) == day.planned > 0
    assert any(s["type"] == "break" for s in stops)
    assert len(day.plan["unassigned"]) == len(reduced["jobs"]) - day.planned


def test_time_limits_and_peers_are_checked():
    """Unknown limit modes or peers are bad input (exit 2), before anything is solved."""
    assert fieldday.main(["--sizes", "20", "--time-limits", "long"]) == 2
    assert fieldday.main(["--sizes", "20", "--peers", "ortools"]) == 2
