"""The upper bound on jobs a day can hold: never below a valid plan, tight where people run short."""

from __future__ import annotations

import pytest
from onestop.dispatch.expand import expand
from onestop.dispatch.generate import generate_day
from onestop.dispatch.model import parse_request
from onestop.dispatch.planner import plan_day
from onestop.dispatch.validator import validate_plan
from onestop.geodata import Haversine

from benchmarks.bound import bound_day, job_bound

SPOTS = [[24.930, 60.170], [24.945, 60.175], [24.960, 60.168], [24.938, 60.182]]


def _day(n_jobs: int, *, window=("10:00", "12:00"), duration=3600, max_jobs=None) -> dict:
    tech = {
        "id": "t1",
        "brands": ["LG"],
        "skills": ["washer"],
        "start": [24.95, 60.17],
        "shift": ["08:00", "16:00"],
        "breaks": [{"window": ["12:00", "14:00"], "duration": 1800}],
    }
    if max_jobs is not None:
        tech["max_jobs"] = max_jobs
    jobs = [
        {
            "id": f"r{i}",
            "kind": "repair",
            "location": SPOTS[i % len(SPOTS)],
            "windows": [list(window)],
            "duration": duration,
            "brand": "LG",
            "skills": ["washer"],
        }
        for i in range(n_jobs)
    ]
    return {
        "date": "2026-11-24",
        "timezone": "Europe/Helsinki",
        "depots": [{"id": "W", "kind": "warehouse", "location": [24.95, 60.20]}],
        "technicians": [tech],
        "couriers": [],
        "jobs": jobs,
        "options": {"preset": "fast", "time_limit_s": 2, "seed": 0},
    }


def _bound_and_plan(request: dict) -> tuple[int, int]:
    outcome = plan_day(request, solution_limit=200)
    assert validate_plan(outcome.problem, outcome.plan) == []
    return job_bound(outcome.expansion, time_limit_s=10).upper, outcome.plan["kpis"]["jobs_planned"]


def test_one_window_holds_one_hour_visit_per_two_hours_less_driving():
    """Three 1-hour visits at three places, each to start in one 2-hour window: one person
    starts at most two of them in it (the second starts after the first's hour and a drive)."""
    upper, planned = _bound_and_plan(_day(3))
    assert upper == 2
    assert planned == 2


def test_max_jobs_caps_the_bound():
    """Short visits all day, but max_jobs 2: no plan holds more than 2."""
    upper, planned = _bound_and_plan(_day(4, window=("08:00", "16:00"), duration=600, max_jobs=2))
    assert upper == 2
    assert planned == 2


def test_nothing_binds_every_job_counts():
    """Two short visits in a wide window: the bound is every job."""
    upper, planned = _bound_and_plan(_day(2, window=("08:00", "16:00"), duration=900))
    assert upper == 2 == planned


@pytest.mark.parametrize("seed", [0, 1])
def test_bound_is_never_below_a_valid_plan(seed):
    """On generated days with overbooked evenings the bound stays at or above what a valid plan holds."""
    request = generate_day(60, seed, booking="free", time_limit_s=3)
    upper, planned = _bound_and_plan(request)
    problem = parse_request(request)
    feasible = len(problem.jobs) - len(expand(problem, Haversine().matrices).unassigned)
    assert planned <= upper <= feasible


def test_free_booking_overbooks_beyond_any_plan():
    """Seed 0's 60-job day with windows as asked: 57 jobs are possible alone, at most 54 together."""
    request = generate_day(60, 0, booking="free")
    problem = parse_request(request)
    exp = expand(problem, Haversine().matrices)
    b = job_bound(exp, time_limit_s=20)
    assert b.jobs == 57
    assert b.upper <= 54


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_booked_days_can_hold_nearly_every_job(seed):
    """Booked against the rosters (the default), a 60-job day can hold at least 98 % of its jobs."""
    b = bound_day(60, seed, time_limit_s=20)
    assert b.status == "OPTIMAL"
    assert b.upper >= 0.98 * b.jobs
