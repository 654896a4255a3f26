"""Generated field days: valid v1 requests, deterministic, every job kind, some impossible jobs."""

from __future__ import annotations

from collections import Counter

import pytest
from onestop.dispatch.expand import expand
from onestop.dispatch.generate import AREAS, KIND_SHARES, default_time_limit, generate_day
from onestop.dispatch.model import parse_request
from onestop.dispatch.schema import PlanRequestIn
from onestop.geodata import Haversine


@pytest.mark.parametrize(("jobs", "seed"), [(30, 0), (60, 1), (200, 7), (600, 3)])
def test_days_validate_against_schema_and_parse(jobs, seed):
    """A generated day passes the wire schema and builds a domain problem."""
    req = generate_day(jobs, seed)
    PlanRequestIn.model_validate(req)
    problem = parse_request(req)
    assert len(problem.jobs) == jobs
    assert problem.timebase.zone.key == "Europe/Helsinki"


def test_same_seed_same_day_other_seed_other_day():
    """The day is a pure function of its arguments."""
    assert generate_day(120, 5) == generate_day(120, 5)
    assert generate_day(120, 5) != generate_day(120, 6)


@pytest.mark.parametrize("jobs", [40, 60, 400])
def test_every_job_kind_and_depot_kind(jobs):
    """All eight job kinds and the three depot kinds appear."""
    req = generate_day(jobs, 2)
    assert set(Counter(j["kind"] for j in req["jobs"])) == set(KIND_SHARES)
    assert {d["kind"] for d in req["depots"]} == {"warehouse", "service_center", "recycling"}
    assert any(j.get("after") for j in req["jobs"])
    assert any(j.get("priority") == "urgent" for j in req["jobs"])
    assert any(j.get("promise", {}).get("kind") == "211" for j in req["jobs"])
    assert any(len(j.get("windows", [])) == 2 for j in req["jobs"])


def _prechecked(req):
    return expand(parse_request(req), Haversine().matrices).unassigned


def test_impossible_jobs_default_and_override():
    """About 2 % (at least 3) jobs nobody can do, each answered before routing with its reason."""
    un = _prechecked(generate_day(60, 0))
    assert len(un) == 3
    assert {u.reason for u in un} == {"no_capable_resource", "over_capacity", "window_unreachable"}
    assert len(_prechecked(generate_day(1000, 0))) == 20
    assert _prechecked(generate_day(60, 0, impossible=0)) == ()
    assert len(_prechecked(generate_day(60, 0, impossible=6))) == 6


def test_resources_scale_with_jobs():
    """Roughly one technician per 5-6 visits and one courier per 10-12 jobs."""
    small, big = generate_day(60, 0), generate_day(2000, 0)
    n_big = len(big["technicians"]) + len(big["couriers"])
    assert 280 <= n_big <= 360
    assert len(small["technicians"]) >= 2 and len(small["couriers"]) >= 2
    assert all(t["max_jobs"] == 6 for t in big["technicians"])
    assert all(c["max_jobs"] == 12 for c in big["couriers"])


def test_points_inside_area_and_options():
    """Every place lies in the area's box; options carry a time limit scaled with size."""
    for city, area in AREAS.items():
        req = generate_day(80, 0, city=city)
        lon0, lat0, lon1, lat1 = area.bbox
        pts = [d["location"] for d in req["depots"]] + [j["location"] for j in req["jobs"]]
        pts += [t["start"] for t in req["technicians"]]
        assert all(lon0 <= x <= lon1 and lat0 <= y <= lat1 for x, y in pts)
    assert generate_day(60)["options"]["time_limit_s"] == 10
    assert default_time_limit(600) == 30 and default_time_limit(2000) == 120
    assert generate_day(60, time_limit_s=3)["options"]["time_limit_s"] == 3
    travel = {"provider": "osm", "extract": "bundled:helsinki"}
    assert generate_day(60, travel=travel)["options"]["travel"] == travel
    with pytest.raises(ValueError):
        generate_day(60, city="atlantis")


def test_booking_desk_keeps_the_mix_and_offers_only_slots():
    """Booked against the rosters, a day keeps its size, ids and job kinds; every window is a
    2-hour slot between 08:00 and 20:00 (or an urgent 4-hour one), and some customers got
    another slot than they asked for."""
    for jobs, seed in ((60, 0), (200, 1)):
        asked, booked = generate_day(jobs, seed, booking="free"), generate_day(jobs, seed)
        assert [j["id"] for j in booked["jobs"]] == [j["id"] for j in asked["jobs"]]
        assert Counter(j["kind"] for j in booked["jobs"]) == Counter(j["kind"] for j in asked["jobs"])
        assert booked["technicians"] == asked["technicians"] and booked["couriers"] == asked["couriers"]
        moved = [a["id"] for a, b in zip(asked["jobs"], booked["jobs"], strict=True) if a != b]
        assert moved
        impossible = {u.job for u in _prechecked(booked)}
        for job in booked["jobs"]:
            if job["id"] in impossible:
                continue
            for a, b in job.get("windows", []):
                hours = (int(b[:2]) * 60 + int(b[3:])) - (int(a[:2]) * 60 + int(a[3:]))
                assert a[3:] == "00" and a >= "08:00" and b <= "20:00"
                assert hours == 120 or (hours == 240 and job.get("priority") == "urgent")
        PlanRequestIn.model_validate(booked)


def test_booking_desk_respects_linked_installations():
    """An installation linked after a delivery is booked no earlier than the delivery's window ends."""
    req = generate_day(400, 3)
    by_id = {j["id"]: j for j in req["jobs"]}
    linked = [j for j in req["jobs"] if j.get("after")]
    assert linked
    for j in linked:
        assert j["windows"][0][0] >= by_id[j["after"]]["windows"][0][1]


def test_unknown_booking_is_refused():
    with pytest.raises(ValueError, match="booking"):
        generate_day(60, booking="walk-in")
