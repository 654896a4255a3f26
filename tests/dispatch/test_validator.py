"""The independent plan validator: valid plans pass, each hard rule broken once is found alone."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from onestop.dispatch import validator as V
from onestop.dispatch.model import parse_request
from onestop.dispatch.planner import plan_day
from onestop.dispatch.validate_cmd import run
from onestop.dispatch.validator import Violation, validate_plan
from onestop.geodata import haversine_leg

Plan = dict[str, Any]
Request = dict[str, Any]

# --- a small day with every job kind ------------------------------------------------

T1_START = [24.93, 60.16]


def day_request() -> Request:
    """One technician, one courier, every job kind once, and one job nobody can do."""
    return {
        "date": "2024-05-06",
        "timezone": "Europe/Helsinki",
        "depots": [
            {"id": "W1", "kind": "warehouse", "location": [24.94, 60.17], "service_s": 120},
            {"id": "S1", "kind": "service_center", "location": [24.96, 60.18], "service_s": 60},
            {"id": "R1", "kind": "recycling", "location": [24.97, 60.19], "service_s": 30},
        ],
        "technicians": [
            {
                "id": "T1",
                "brands": ["Acme"],
                "skills": ["ac"],
                "start": T1_START,
                "shift": ["08:00", "17:00"],
                "breaks": [{"window": ["11:00", "13:00"], "duration": 1800}],
                "max_jobs": 6,
            }
        ],
        "couriers": [
            {
                "id": "C1",
                "depot": "W1",
                "capacity": {"volume": 12, "units": 4},
                "shift": ["08:00", "17:00"],
                "breaks": [{"window": ["12:00", "13:00"], "duration": 1800}],
            }
        ],
        "jobs": [
            {
                "id": "d1",
                "kind": "delivery",
                "location": [24.95, 60.175],
                "windows": [["09:00", "11:00"]],
                "items": {"volume": 3, "units": 1},
            },
            {
                "id": "p1",
                "kind": "pickup",
                "location": [24.97, 60.165],
                "windows": [["10:00", "14:00"]],
                "items": {"volume": 2, "units": 1},
            },
            {
                "id": "h1",
                "kind": "haul_away",
                "location": [24.98, 60.175],
                "windows": [["09:00", "16:00"]],
                "items": {"volume": 2},
            },
            {
                "id": "x1",
                "kind": "exchange",
                "location": [24.92, 60.18],
                "windows": [["13:00", "16:00"]],
                "items": {"volume": 4, "units": 1},
            },
            {
                "id": "r1",
                "kind": "repair",
                "location": [24.95, 60.16],
                "duration": 3600,
                "brand": "Acme",
                "skills": ["ac"],
                "windows": [["09:00", "12:00"]],
            },
            {
                "id": "n1",
                "kind": "inspection",
                "location": [24.935, 60.165],
                "duration": 900,
                "windows": [["08:00", "17:00"]],
            },
            {
                "id": "di1",
                "kind": "delivery_installation",
                "location": [24.93, 60.175],
                "duration": 1800,
                "brand": "Acme",
                "skills": ["ac"],
                "windows": [["10:00", "16:00"]],
                "items": {"volume": 2},
            },
            {
                "id": "i1",
                "kind": "installation",
                "after": "d1",
                "location": [24.95, 60.175],
                "duration": 1200,
                "brand": "Acme",
                "windows": [["09:00", "16:00"]],
            },
            {"id": "u1", "kind": "repair", "location": [24.95, 60.17], "duration": 600, "brand": "Nobody"},
        ],
        "options": {"preset": "fast"},
    }


@pytest.fixture(scope="module")
def solved() -> tuple[Request, Plan]:
    """The day solved once: every job but u1 planned, the delivery_installation split."""
    req = day_request()
    plan = plan_day(req, preset="fast", solution_limit=30).plan
    assert validate_plan(req, plan) == []
    planned = {s["job"] for r in plan["routes"] for s in r["stops"] if s["type"] in V.CUSTOMER_STOPS}
    assert planned == {j["id"] for j in req["jobs"]} - {"u1"}
    assert [u["job"] for u in plan["unassigned"]] == ["u1"]
    return req, plan


# --- helpers to find and edit stops -----------------------------------------------------


def route(plan: Plan, resource: str) -> dict[str, Any]:
    return next(r for r in plan["routes"] if r["resource"] == resource)


def find(plan: Plan, type_: str, job: str | None = None) -> tuple[dict[str, Any], int, dict[str, Any]]:
    """(route, index, stop) of the first stop of this type (and job)."""
    for r in plan["routes"]:
        for k, s in enumerate(r["stops"]):
            if s["type"] == type_ and (job is None or s["job"] == job):
                return r, k, s
    raise AssertionError(f"no {type_} stop for {job}")


def secs(req: Request, iso: str) -> int:
    return parse_request(req).timebase.seconds_of(datetime.fromisoformat(iso))


def iso(req: Request, seconds: int) -> str:
    return parse_request(req).timebase.iso(seconds)


def shift_stop(req: Request, stop: dict[str, Any], **delta_s: int) -> None:
    """Move a stop's arrival / start / end by the given seconds."""
    for key, d in delta_s.items():
        stop[key] = iso(req, secs(req, stop[key]) + d)


def set_times(req: Request, stop: dict[str, Any], seconds: int) -> None:
    for key in ("arrival", "start", "end"):
        stop[key] = iso(req, seconds)


def job_of(req: Request, job_id: str) -> dict[str, Any]:
    return next(j for j in req["jobs"] if j["id"] == job_id)


def rules(vs: list[Violation]) -> list[str]:
    return [v.rule for v in vs]


# --- the valid cases -----------------------------------------------------------------


def test_solved_day_is_valid(solved):
    """A solved day with every job kind keeps every hard rule."""
    req, plan = solved
    assert validate_plan(req, plan) == []


def test_json_text_and_parsed_request_are_accepted(solved):
    """The request may be JSON text or a DispatchProblem, the plan JSON text."""
    req, plan = solved
    assert validate_plan(json.dumps(req), json.dumps(plan)) == []
    assert validate_plan(parse_request(req), plan) == []


def test_times_with_another_utc_offset_compare_as_instants(solved):
    """The same plan written in UTC (Z and +00:00) is still valid."""
    req, plan = solved
    plan = copy.deepcopy(plan)
    for r in plan["routes"]:
        for k, s in enumerate(r["stops"]):
            for key in ("arrival", "start", "end"):
                utc = datetime.fromisoformat(s[key]).astimezone(UTC)
                s[key] = utc.isoformat() if k % 2 else utc.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert validate_plan(req, plan) == []


def test_one_crew_delivery_installation_is_valid():
    """A courier authorised for the brand delivers and installs alone, back to back, validly."""
    req = day_request()
    req["technicians"] = []
    req["couriers"][0] |= {"brands": ["Acme"], "skills": ["ac"]}
    req["jobs"] = [j for j in req["jobs"] if j["id"] in ("d1", "di1")]
    plan = plan_day(req, preset="fast", solution_limit=10).plan
    assert validate_plan(req, plan) == []
    r, k, deliver = find(plan, "deliver", "di1")
    assert r["stops"][k + 1]["type"] == "install"


def test_promise_job_with_matrix_travel_is_valid():
    """A 211-promise job planned with user-given travel matrices validates."""
    req = day_request()
    req["jobs"] = [j for j in req["jobs"] if j["id"] in ("d1", "r1")]
    job_of(req, "d1").pop("windows")
    job_of(req, "d1")["promise"] = {"kind": "211", "ordered_at": "2024-05-05T20:00:00+03:00"}
    places = [[24.94, 60.17], [24.96, 60.18], [24.97, 60.19], T1_START, [24.95, 60.175], [24.95, 60.16]]
    pairs = [[haversine_leg(a, b) for b in places] for a in places]
    req["options"]["travel"] = {
        "provider": "matrix",
        "locations": places,
        "durations_s": [[2 * t for t, _ in row] for row in pairs],
        "distances_m": [[d for _, d in row] for row in pairs],
    }
    plan = plan_day(req, preset="fast", solution_limit=10).plan
    assert validate_plan(req, plan) == []
    # the same plan under the default haversine times reports its legs as wrong
    req["options"].pop("travel")
    assert set(rules(validate_plan(req, plan))) == {V.TRAVEL}


# --- each rule broken once, on the solved day --------------------------------------------


def _idle_route(req: Request, plan: Plan) -> None:
    """Add a second, empty-but-valid route for T1 (start, its break, end at its start place)."""
    at = secs(req, "2024-05-06T08:00:00+03:00")

    def stop(type_: str, t0: int, t1: int, **extra: Any) -> dict[str, Any]:
        return {
            "type": type_,
            "job": None,
            "location": T1_START,
            "arrival": iso(req, t0),
            "start": iso(req, t0),
            "end": iso(req, t1),
            "travel_s": 0,
            "distance_m": 0,
            "load": {},
            **extra,
        }

    brk = at + 3 * 3600
    plan["routes"].append(
        {
            "resource": "T1",
            "resource_kind": "technician",
            "stops": [
                stop("start", at, at),
                stop("break", brk, brk + 1800, break_index=0),
                stop("end", brk + 1800, brk + 1800),
            ],
        }
    )


def _arrive_too_early(req: Request, plan: Plan) -> None:
    r, k, s = find(plan, "collect", "p1")
    assert s["travel_s"] > 0
    s["arrival"] = r["stops"][k - 1]["end"]


def _remove_install_half(req: Request, plan: Plan) -> None:
    """Drop di1's install and repair the next leg, so only the half-planned job is wrong."""
    r, k, _ = find(plan, "install", "di1")
    del r["stops"][k]
    prev, nxt = r["stops"][k - 1], r["stops"][k]
    nxt["travel_s"], nxt["distance_m"] = haversine_leg(tuple(prev["location"]), tuple(nxt["location"]))
    assert secs(req, prev["end"]) + nxt["travel_s"] <= secs(req, nxt["arrival"])


def _over_capacity(req: Request, plan: Plan) -> None:
    peak = max(s["load"]["volume"] for s in route(plan, "C1")["stops"])
    req["couriers"][0]["capacity"]["volume"] = peak - 1


def _fewer_jobs(req: Request, plan: Plan) -> None:
    jobs = {s["job"] for s in route(plan, "T1")["stops"] if s["type"] in V.CUSTOMER_STOPS}
    req["technicians"][0]["max_jobs"] = len(jobs) - 1


Mutation = Callable[[Request, Plan], None]

CASES: list[tuple[str, Mutation]] = [
    # a route for a resource the request does not have
    (V.UNKNOWN_RESOURCE, lambda q, p: route(p, "T1").update(resource="ghost")),
    # a second route for the same technician
    (V.UNKNOWN_RESOURCE, _idle_route),
    # a stop whose arrival is after its start
    (
        V.STOP_ORDER,
        lambda q, p: find(p, "visit", "r1")[2].update(
            arrival=iso(q, secs(q, find(p, "visit", "r1")[2]["start"]) + 1)
        ),
    ),
    # the technician's route lost its end stop
    (V.STOP_ORDER, lambda q, p: route(p, "T1")["stops"].pop()),
    # the technician must end somewhere else than where the plan ends
    (V.STOP_ORDER, lambda q, p: q["technicians"][0].update(end=[24.90, 60.20])),
    # the repair is somewhere else than the visit stop
    (V.STOP_ORDER, lambda q, p: job_of(q, "r1").update(location=[24.951, 60.161])),
    # the courier's start stop names a depot somewhere else
    (V.STOP_ORDER, lambda q, p: route(p, "C1")["stops"][0].update(depot="S1")),
    # travel_s one second off the provider's
    (
        V.TRAVEL,
        lambda q, p: find(p, "collect", "p1")[2].update(travel_s=find(p, "collect", "p1")[2]["travel_s"] + 1),
    ),
    # distance_m off the provider's
    (
        V.TRAVEL,
        lambda q, p: find(p, "visit", "r1")[2].update(distance_m=find(p, "visit", "r1")[2]["distance_m"] + 7),
    ),
    # arrives as the previous stop ends, with no time to travel
    (V.TRAVEL, _arrive_too_early),
    # the pickup's window moved after the planned collection
    (V.WINDOW, lambda q, p: job_of(q, "p1").update(windows=[["16:00", "17:00"]])),
    # a 211 promise ordered the day before by 11:00 was due at 23:00 that day
    (
        V.WINDOW,
        lambda q, p: job_of(q, "d1").update(promise={"kind": "211", "ordered_at": "2024-05-05T10:00"}),
    ),
    # the technician leaves before the shift starts
    (V.SHIFT, lambda q, p: set_times(q, route(p, "T1")["stops"][0], secs(q, "2024-05-06T07:59:00+03:00"))),
    # the courier gets back after the shift ends
    (V.SHIFT, lambda q, p: set_times(q, route(p, "C1")["stops"][-1], secs(q, "2024-05-06T17:00:01+03:00"))),
    # a break one minute short
    (V.BREAK, lambda q, p: shift_stop(q, find(p, "break")[2], end=-60)),
    # a second break the plan does not take
    (
        V.BREAK,
        lambda q, p: q["technicians"][0]["breaks"].append({"window": ["16:50", "17:00"], "duration": 300}),
    ),
    # the break's window moved away from where the plan takes it
    (V.BREAK, lambda q, p: q["technicians"][0]["breaks"][0].update(window=["08:00", "09:00"])),
    # the repair needs a skill the technician lacks
    (V.SKILLS, lambda q, p: job_of(q, "r1").update(skills=["ac", "gas"])),
    # the pickup needs a two-person lift the courier lacks
    (V.SKILLS, lambda q, p: job_of(q, "p1").update(skills=["two_person"])),
    # the technician's route claims to be a courier's
    (V.RESOURCE_KIND, lambda q, p: route(p, "T1").update(resource_kind="courier")),
    # one reported load off by one
    (
        V.CAPACITY,
        lambda q, p: find(p, "deliver", "d1")[2]["load"].update(
            volume=find(p, "deliver", "d1")[2]["load"]["volume"] + 1
        ),
    ),
    # the van is one unit of volume smaller than the plan's peak load
    (V.CAPACITY, _over_capacity),
    # the pickup must go to the warehouse, not the service centre
    (V.PAIRING, lambda q, p: job_of(q, "p1").update(to="W1")),
    # the haul-away must go to the service centre, not the recycling centre
    (V.PAIRING, lambda q, p: job_of(q, "h1").update(to="S1")),
    # the delivery must load at the service centre (a wrong `from`)
    (V.PAIRING, lambda q, p: job_of(q, "d1").update(**{"from": "S1"})),
    # the delivery is delivered but never installed
    (V.DELIVERY_INSTALLATION, _remove_install_half),
    # the installation now follows the job nobody can do
    (V.AFTER, lambda q, p: job_of(q, "i1").update(after="u1")),
    # the installation follows a job the request does not have
    (V.AFTER, lambda q, p: job_of(q, "i1").update(after="zz")),
    # the technician takes one job fewer than planned
    (V.MAX_JOBS, _fewer_jobs),
    # a planned job also listed unassigned
    (
        V.COMPLETENESS,
        lambda q, p: p["unassigned"].append({"job": "d1", "reason": "not_scheduled", "detail": ""}),
    ),
    # the unassigned job dropped from the list
    (V.COMPLETENESS, lambda q, p: p["unassigned"].clear()),
    # the unassigned job listed twice
    (V.COMPLETENESS, lambda q, p: p["unassigned"].append(dict(p["unassigned"][0]))),
    # a reason outside the closed list
    (V.COMPLETENESS, lambda q, p: p["unassigned"][0].update(reason="lost")),
    # an unassigned job the request does not have
    (V.COMPLETENESS, lambda q, p: p["unassigned"].append({"job": "zz", "reason": "not_scheduled"})),
    # the repair visit one minute short
    (V.DURATIONS, lambda q, p: shift_stop(q, find(p, "visit", "r1")[2], end=-60)),
    # the service centre takes longer per unload than the plan allows
    (V.DURATIONS, lambda q, p: q["depots"][1].update(service_s=90)),
    # the split delivery's handover is longer than the courier's stop
    (V.DURATIONS, lambda q, p: job_of(q, "di1").update(handover_s=600)),
]


@pytest.mark.parametrize(("rule", "mutate"), CASES, ids=[f"{r}-{i}" for i, (r, _) in enumerate(CASES)])
def test_each_rule_broken_once_is_found_alone(solved, rule: str, mutate: Mutation):
    """A valid plan (or its request) changed in one place breaks exactly that one rule."""
    req, plan = copy.deepcopy(solved[0]), copy.deepcopy(solved[1])
    mutate(req, plan)
    found = validate_plan(req, plan)
    assert found, "the change went unnoticed"
    assert set(rules(found)) == {rule}, [str(v) for v in found]


def test_every_rule_has_a_case():
    """Each rule constant except format is exercised by a one-change case."""
    covered = {r for r, _ in CASES} | {r for r, _, _ in HAND_CASES} | {V.FORMAT}
    assert covered == set(V.RULES)


# --- hand-laid plans for the timing rules -------------------------------------------------

MINI_W, MINI_S, MINI_C = [24.94, 60.17], [24.96, 60.18], [24.95, 60.175]


def mini_request() -> Request:
    """A courier able to install, a technician, and jobs at one customer address."""
    return {
        "date": "2024-05-06",
        "timezone": "Europe/Helsinki",
        "depots": [
            {"id": "W", "kind": "warehouse", "location": MINI_W, "service_s": 60},
            {"id": "S", "kind": "service_center", "location": MINI_S, "service_s": 60},
        ],
        "technicians": [
            {"id": "T", "brands": ["Acme"], "start": MINI_W, "shift": ["08:00", "18:00"]},
            {"id": "T2", "brands": ["Acme"], "start": MINI_W, "shift": ["08:00", "18:00"]},
        ],
        "couriers": [
            {
                "id": "C",
                "depot": "W",
                "capacity": {"volume": 5},
                "brands": ["Acme"],
                "shift": ["08:00", "18:00"],
            },
            {"id": "C2", "depot": "W", "capacity": {"volume": 5}, "shift": ["08:00", "18:00"]},
        ],
        "jobs": [
            {
                "id": "di",
                "kind": "delivery_installation",
                "location": MINI_C,
                "duration": 600,
                "brand": "Acme",
                "items": {"volume": 2},
            },
            {"id": "doc", "kind": "delivery", "location": MINI_C, "duration": 120},
            {
                "id": "ins",
                "kind": "installation",
                "location": MINI_C,
                "duration": 600,
                "brand": "Acme",
                "after": "doc",
            },
            {"id": "rp", "kind": "repair", "location": MINI_C, "duration": 600, "brand": "Acme"},
        ],
    }


def lay(req: Request, resource: str, kind: str, place: list[float], spec: list[tuple]) -> dict[str, Any]:
    """A route laid out back to back from 08:00: spec items are (type, job, place, seconds,
    not_before "HH:MM" or None, volume change)."""
    tb = parse_request(req).timebase
    t = tb.seconds("08:00")
    volume = 0
    here = place
    stops = []
    items = [("start", None, place, 0, None, 0), *spec, ("end", None, place, 0, None, 0)]
    for type_, job, where, dur, not_before, dv in items:
        travel, dist = haversine_leg(tuple(here), tuple(where)) if here != where else (0, 0)
        arrival = t + travel
        start = max(arrival, tb.seconds(not_before)) if not_before else arrival
        volume += dv
        stops.append(
            {
                "type": type_,
                "job": job,
                "location": where,
                "arrival": tb.iso(arrival),
                "start": tb.iso(start),
                "end": tb.iso(start + dur),
                "travel_s": travel,
                "distance_m": dist,
                "load": {"volume": volume} if kind == "courier" else {},
            }
        )
        t, here = start + dur, where
    return {"resource": resource, "resource_kind": kind, "stops": stops}


def mini_plan(req: Request, routes: list[dict[str, Any]], unassigned: tuple[str, ...] = ()) -> Plan:
    return {"routes": routes, "unassigned": [{"job": j, "reason": "not_scheduled"} for j in unassigned]}


def split_plan(req: Request) -> Plan:
    """di split (C delivers by ~08:10, T installs at 09:00); doc, then T2 does ins at 10:00, rp at 11:00."""
    c = lay(
        req,
        "C",
        "courier",
        MINI_W,
        [
            ("load", "di", MINI_W, 60, None, 2),
            ("load", "doc", MINI_W, 60, None, 0),
            ("deliver", "di", MINI_C, 300, None, -2),
            ("deliver", "doc", MINI_C, 120, None, 0),
        ],
    )
    t = lay(req, "T", "technician", MINI_W, [("install", "di", MINI_C, 600, "09:00", 0)])
    t2 = lay(
        req,
        "T2",
        "technician",
        MINI_W,
        [("install", "ins", MINI_C, 600, "10:00", 0), ("visit", "rp", MINI_C, 600, "11:00", 0)],
    )
    return mini_plan(req, [c, t, t2])


def alone_plan(req: Request) -> Plan:
    """di by one crew: deliver then install back to back, then a pause before going home."""
    c = lay(
        req,
        "C",
        "courier",
        MINI_W,
        [
            ("load", "di", MINI_W, 60, None, 2),
            ("deliver", "di", MINI_C, 300, None, -2),
            ("install", "di", MINI_C, 600, None, 0),
        ],
    )
    c["stops"][-1] = lay(req, "C", "courier", MINI_W, [("deliver", "di", MINI_C, 0, "12:00", 0)])["stops"][-1]
    c["stops"][-1]["load"] = {"volume": 0}
    return mini_plan(req, [c], ("doc", "ins", "rp"))


def test_hand_laid_plans_are_valid():
    """The hand-laid split and one-crew plans keep every rule."""
    req = mini_request()
    assert validate_plan(req, split_plan(req)) == []
    assert validate_plan(req, alone_plan(req)) == []


def _install_too_early(req: Request, plan: Plan) -> None:
    _, _, deliver = find(plan, "deliver", "di")
    _, _, install = find(plan, "install", "di")
    start = secs(req, deliver["end"]) - 1
    install["start"], install["end"] = iso(req, start), iso(req, start + 600)


def _after_too_early(req: Request, plan: Plan) -> None:
    _, _, deliver = find(plan, "deliver", "doc")
    _, _, install = find(plan, "install", "ins")
    start = secs(req, deliver["end"]) - 1
    assert start >= secs(req, install["arrival"])
    install["start"], install["end"] = iso(req, start), iso(req, start + 600)


def _crew_pauses(req: Request, plan: Plan) -> None:
    _, _, install = find(plan, "install", "di")
    shift_stop(req, install, start=60, end=60)


def _deliver_before_load(req: Request, plan: Plan) -> Plan:
    return mini_plan(
        req,
        [
            lay(
                req,
                "C",
                "courier",
                MINI_W,
                [("deliver", "doc", MINI_C, 120, None, 0), ("load", "doc", MINI_W, 60, None, 0)],
            )
        ],
        ("di", "ins", "rp"),
    )


def _load_and_deliver_on_two_vans(req: Request, plan: Plan) -> Plan:
    return mini_plan(
        req,
        [
            lay(req, "C", "courier", MINI_W, [("load", "doc", MINI_W, 60, None, 0)]),
            lay(req, "C2", "courier", MINI_W, [("deliver", "doc", MINI_C, 120, None, 0)]),
        ],
        ("di", "ins", "rp"),
    )


def _repair_on_a_van(req: Request, plan: Plan) -> Plan:
    return mini_plan(
        req, [lay(req, "C", "courier", MINI_W, [("visit", "rp", MINI_C, 600, None, 0)])], ("di", "doc", "ins")
    )


def _install_on_other_van(req: Request, plan: Plan) -> Plan:
    req["couriers"][1]["brands"] = ["Acme"]
    c = split_plan(req)["routes"][0]
    c2 = lay(req, "C2", "courier", MINI_W, [("install", "di", MINI_C, 600, "09:00", 0)])
    return mini_plan(req, [c, c2], ("ins", "rp"))  # doc stays on C


HandMutation = Callable[[Request, Plan], "Plan | None"]

HAND_CASES: list[tuple[str, Callable[[Request], Plan], HandMutation]] = [
    # the technician installs a second before the courier has handed the unit over
    (V.DELIVERY_INSTALLATION, split_plan, _install_too_early),
    # one crew waits a minute between handover and install
    (V.DELIVERY_INSTALLATION, alone_plan, _crew_pauses),
    # a split install done by a courier that did not deliver
    (V.DELIVERY_INSTALLATION, split_plan, _install_on_other_van),
    # the installation starts a second before its `after` delivery ends
    (V.AFTER, split_plan, _after_too_early),
    # a delivery (nothing to carry) delivered before it is loaded
    (V.PAIRING, split_plan, _deliver_before_load),
    # a delivery loaded on one van and delivered by another
    (V.PAIRING, split_plan, _load_and_deliver_on_two_vans),
    # a repair visit on a courier's route
    (V.RESOURCE_KIND, split_plan, _repair_on_a_van),
]


@pytest.mark.parametrize(
    ("rule", "base", "mutate"), HAND_CASES, ids=[f"{r}-{i}" for i, (r, _, _) in enumerate(HAND_CASES)]
)
def test_timing_rules_broken_once_are_found_alone(rule: str, base, mutate: HandMutation):
    """A hand-laid valid plan changed in one place breaks exactly that one rule."""
    req = mini_request()
    plan = base(req)
    plan = mutate(req, plan) or plan
    found = validate_plan(req, plan)
    assert found, "the change went unnoticed"
    assert set(rules(found)) == {rule}, [str(v) for v in found]


# --- plans of the wrong shape ---------------------------------------------------------------


def _stop0(p: Plan) -> dict[str, Any]:
    return route(p, "C1")["stops"][1]


FORMAT_CASES: list[tuple[str, Callable[[Plan], Any]]] = [
    # not an object at all
    ("plan must be a JSON object", lambda p: [p]),
    # null
    ("plan must be a JSON object", lambda p: None),
    # JSON text that does not parse
    ("not valid JSON", lambda p: json.dumps(p)[:-1]),
    # no routes
    ("routes: missing", lambda p: {k: v for k, v in p.items() if k != "routes"}),
    # routes an object
    ("routes: must be a list", lambda p: p | {"routes": {}}),
    # a route that is a string
    ("routes[0]: must be an object", lambda p: p | {"routes": ["T1"]}),
    # a route without its resource
    ("routes[1].resource", lambda p: route(p, "C1").pop("resource") and p),
    # stops not a list
    ("routes[1].stops", lambda p: route(p, "C1").update(stops="many") or p),
    # an unknown stop type
    ("routes[1].stops[1].type", lambda p: _stop0(p).update(type="teleport") or p),
    # a time that is not a time
    ("routes[1].stops[1].arrival", lambda p: _stop0(p).update(arrival="soon") or p),
    # a time without a UTC offset
    ("routes[1].stops[1].start", lambda p: _stop0(p).update(start="2024-05-06T10:00:00") or p),
    # a location with one coordinate
    ("routes[1].stops[1].location", lambda p: _stop0(p).update(location=[24.9]) or p),
    # a location in [lat, lon] order past the poles
    ("routes[1].stops[1].location", lambda p: _stop0(p).update(location=[60.2, 124.9]) or p),
    # travel_s as text
    ("routes[1].stops[1].travel_s", lambda p: _stop0(p).update(travel_s="12") or p),
    # travel_s as a boolean
    ("routes[1].stops[1].travel_s", lambda p: _stop0(p).update(travel_s=True) or p),
    # a negative distance
    ("routes[1].stops[1].distance_m", lambda p: _stop0(p).update(distance_m=-1) or p),
    # load as a number
    ("routes[1].stops[1].load", lambda p: _stop0(p).update(load=3) or p),
    # load with an amount as text
    ("routes[1].stops[1].load", lambda p: _stop0(p).update(load={"volume": "1.5"}) or p),
    # a load stop without its job
    ("routes[1].stops[1].job", lambda p: _stop0(p).update(job=None) or p),
    # a job on a start stop
    ("routes[1].stops[0].job", lambda p: route(p, "C1")["stops"][0].update(job="d1") or p),
    # unassigned as an object
    ("unassigned: must be a list", lambda p: p | {"unassigned": {}}),
    # an unassigned entry without a reason
    ("unassigned[0].reason", lambda p: p["unassigned"][0].pop("reason") and p),
]


@pytest.mark.parametrize(
    ("path", "mangle"), FORMAT_CASES, ids=[f"format-{i}" for i in range(len(FORMAT_CASES))]
)
def test_malformed_plans_give_format_violations(solved, path: str, mangle):
    """A plan of the wrong shape gives only format violations naming the path, never a traceback."""
    req, plan = solved
    plan = copy.deepcopy(plan)
    assert [r["resource"] for r in plan["routes"]] == ["T1", "C1"]
    found = validate_plan(req, mangle(plan))
    assert found and set(rules(found)) == {V.FORMAT}, [str(v) for v in found]
    assert any(path in v.message for v in found), [str(v) for v in found]


def test_violation_reads_as_one_line():
    """A violation prints its rule, where it is and what is wrong on one line."""
    v = Violation(V.WINDOW, "deliver 11:00:00–11:05:00 is not inside 09:00:00–11:00:00", "C1", 3, "d1")
    assert (
        str(v)
        == "window [route C1, stop 3, job d1]: deliver 11:00:00–11:05:00 is not inside 09:00:00–11:00:00"
    )
    assert str(Violation(V.FORMAT, "routes: missing")) == "format: routes: missing"


def test_unknown_matrix_place_is_a_travel_violation():
    """A stop at a place the matrix provider does not know is reported, not raised."""
    req = mini_request()
    places = [MINI_W, MINI_S, MINI_C]
    req["options"] = {
        "travel": {
            "provider": "matrix",
            "locations": places,
            "durations_s": [[0, 60, 60], [60, 0, 60], [60, 60, 0]],
            "distances_m": [[0, 500, 500], [500, 0, 500], [500, 500, 0]],
        }
    }
    plan = mini_plan(
        req,
        [lay(req, "T", "technician", MINI_W, [("visit", "rp", MINI_C, 600, None, 0)])],
        ("di", "doc", "ins"),
    )
    # the layout used haversine legs; rewrite them as the matrix's 60 s / 500 m
    for s in plan["routes"][0]["stops"][1:]:
        s["travel_s"], s["distance_m"] = 60, 500
    assert validate_plan(req, plan) == []
    req["jobs"][3]["location"] = plan["routes"][0]["stops"][1]["location"] = [24.0, 60.0]
    found = validate_plan(req, plan)
    assert set(rules(found)) == {V.TRAVEL}
    assert "does not know" in found[0].message


# --- the validate command ------------------------------------------------------------------


@pytest.fixture
def files(solved, tmp_path: Path) -> tuple[Path, Path]:
    req, plan = solved
    rp, pp = tmp_path / "request.json", tmp_path / "plan.json"
    rp.write_text(json.dumps(req))
    pp.write_text(json.dumps(plan))
    return rp, pp


def test_validate_command_passes_a_valid_plan(files, capsys):
    """A valid plan prints one summary line and exits 0."""
    rp, pp = files
    assert run(str(rp), str(pp)) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert out == ["plan is valid: 2 routes, 8 jobs planned, 1 unassigned"]


def test_validate_command_lists_violations(files, capsys):
    """A broken plan prints one line per violation and exits 1."""
    rp, pp = files
    plan = json.loads(pp.read_text())
    plan["unassigned"].clear()
    route(plan, "T1").update(resource_kind="courier")
    pp.write_text(json.dumps(plan))
    assert run(str(rp), str(pp)) == 1
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 2
    assert out[0].startswith("resource_kind [route T1]") and out[1].startswith("completeness [job u1]")


def test_validate_command_reports_a_malformed_plan_as_violations(files, capsys):
    """A plan that is JSON but not a plan is a format violation (exit 1), not an error."""
    rp, pp = files
    pp.write_text("[]")
    assert run(str(rp), str(pp)) == 1
    assert capsys.readouterr().out.startswith("format: plan must be a JSON object")


@pytest.mark.parametrize(
    ("which", "content", "needle"),
    [
        ("plan", None, "cannot read plan"),  # the plan file does not exist
        ("request", None, "cannot read request"),  # the request file does not exist
        ("plan", "{not json", "is not valid JSON"),  # the plan is not JSON
        ("plan", '{"routes": NaN}', "is not valid JSON"),  # NaN is not JSON
        ("request", "{}", "request"),  # the request lacks its date
        ("request", "nope", "not valid JSON"),  # the request is not JSON
    ],
)
def test_validate_command_bad_input_exits_2(files, capsys, which: str, content: str | None, needle: str):
    """A missing or unreadable input file, or an invalid request, is one error line and exit 2."""
    rp, pp = files
    target = rp if which == "request" else pp
    if content is None:
        target.unlink()
    else:
        target.write_text(content)
    assert run(str(rp), str(pp)) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and needle in lines[0], lines
    assert "Traceback" not in captured.err + captured.out


def test_validate_command_bad_travel_options_exit_2(files, capsys):
    """A request whose travel options cannot give a model is bad input (exit 2), naming the field."""
    rp, pp = files
    req = json.loads(rp.read_text())
    req["options"]["travel"] = {"provider": "teleport"}
    rp.write_text(json.dumps(req))
    assert run(str(rp), str(pp)) == 2
    assert "options.travel.provider" in capsys.readouterr().err


# --- breaks are pauses at a place ------------------------------------------------------------


def test_break_taken_while_driving_stays_in_its_window():
    """A break that only fits mid-drive never yields an invalid plan: breaks are pauses at a place.

    OR-Tools may take a break while driving; the planner then falls back to its own
    construction, so one of the two jobs is left out rather than the break misplaced.
    """
    a, b = [24.94, 60.17], [24.94, 60.2276]
    travel, _ = haversine_leg(tuple(a), tuple(b))  # 1199 s

    def hms(s: int) -> str:
        return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"

    p_end = 8 * 3600 + 55 * 60  # P ends 08:55; Q must start 50 min later: travel + the 30 min break
    brk = p_end + 600  # the break can only be 09:05-09:35, 10 min into the drive
    req = {
        "date": "2024-05-06",
        "timezone": "Europe/Helsinki",
        "technicians": [
            {
                "id": "T",
                "start": a,
                "shift": ["08:00", "12:00"],
                "breaks": [{"window": [hms(brk), hms(brk + 1800)], "duration": 1800}],
            }
        ],
        "jobs": [
            {
                "id": "P",
                "kind": "repair",
                "location": a,
                "duration": 600,
                "windows": [[hms(p_end - 600), hms(p_end)]],
            },
            {
                "id": "Q",
                "kind": "repair",
                "location": b,
                "duration": 600,
                "windows": [[hms(p_end + travel + 1800), hms(p_end + travel + 2400)]],
            },
        ],
    }
    plan = plan_day(req, preset="fast", solution_limit=20).plan
    assert validate_plan(req, plan) == []
    assert len(plan["unassigned"]) <= 1
