"""``python -m benchmarks v1``: conversion to v1 requests, round trips through the validator,
an end-to-end suite run, and random instances written in the public text formats."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from onestop.dispatch.model import parse_request
from onestop.dispatch.validator import validate_plan

from benchmarks import v1

ROOT = v1.default_instances_dir()
C101 = ROOT / "solomon" / "C101.txt"
EXPLICIT = ROOT / "vrpspd" / "dethloff" / "CON3-1.vrpspd"
EXACT_2D = ROOT / "vrpspd" / "salhi" / "CMT01H.vrpspd"


def _parse(request: dict) -> object:
    """The CLI's own path: JSON bytes into parse_request."""
    return parse_request(json.dumps(request).encode())


def test_c101_request_passes_the_v1_schema() -> None:
    inst = v1.read(C101, "solomon")
    req = v1.to_request(inst, 2)
    problem = _parse(req)
    assert len(req["jobs"]) == 100 and len(req["couriers"]) == 25
    assert {j["kind"] for j in req["jobs"]} == {"delivery"}
    first = next(j for j in req["jobs"] if j["id"] == "c1")  # 45 68 10 912 967 90, all ×10
    assert first["windows"] == [["02:32:00", "02:41:10"]] and first["duration"] == 900
    assert first["items"] == {"units": 10}
    assert req["couriers"][0]["shift"] == ["00:00:00", "03:26:00"]  # depot due 1236 ×10 s
    assert req["options"]["objective"] == "distance"
    assert problem is not None


@pytest.mark.parametrize("path", [EXPLICIT, EXACT_2D], ids=["explicit", "exact_2d"])
def test_vrpspd_request_passes_the_v1_schema(path: Path) -> None:
    inst = v1.read(path, "vrpspd")
    req = v1.to_request(inst, 2)
    _parse(req)
    assert {d["kind"] for d in req["depots"]} == {"warehouse", "service_center"}
    kinds = {j["kind"] for j in req["jobs"]}
    if path == EXPLICIT:
        assert kinds == {"exchange"}  # every Dethloff customer receives and returns
    else:
        assert kinds == {"delivery", "pickup"}  # CMT01H: half deliveries, half pickups
    assert all("windows" not in j for j in req["jobs"])  # the files' windows are trivial


def _solomon_distance(path: Path, routes: list[list[int]]) -> float:
    """DIMACS distance from the file's own coordinates, read without vrplib."""
    rows = [ln.split() for ln in path.read_text().splitlines()]
    xy = {int(r[0]): (float(r[1]), float(r[2])) for r in rows if len(r) == 7 and r[0].isdigit()}
    total = 0
    for route in routes:
        seq = [0, *route, 0]
        total += sum(int(10 * math.dist(xy[a], xy[b])) for a, b in zip(seq, seq[1:], strict=False))
    return total / 10


def _lkh_distance(path: Path, routes: list[list[int]]) -> int:
    """EXACT_2D distance (round(1000·d)) from the file's coordinates, read without vrplib."""
    lines = path.read_text().splitlines()
    i = lines.index(next(ln for ln in lines if ln.startswith("NODE_COORD_SECTION")))
    xy = {}
    for ln in lines[i + 1 :]:
        parts = ln.split()
        if not parts or not parts[0].isdigit():
            break
        xy[int(parts[0]) - 1] = (float(parts[1]), float(parts[2]))
    total = 0
    for route in routes:
        seq = [0, *route, 0]
        total += sum(round(1000 * math.dist(xy[a], xy[b])) for a, b in zip(seq, seq[1:], strict=False))
    return total


@pytest.mark.parametrize(("path", "suite"), [(C101, "solomon"), (EXACT_2D, "vrpspd")], ids=["C101", "CMT01H"])
def test_pyvrp_tour_round_trip_validates_with_its_own_distance(path: Path, suite: str) -> None:
    """A tour PyVRP finds, written as a v1 plan: valid, and its distance is the instance's own."""
    inst = v1.read(path, suite)
    routes = v1.solve_pyvrp(inst, 1.0, 0)
    dist, bad = v1.check_routes(inst, routes)
    assert not bad
    plan = v1.plan_from_routes(inst, routes)
    request = json.dumps(v1.to_request(inst, 1)).encode()
    violations = validate_plan(parse_request(request), plan)
    assert violations == [], [str(v) for v in violations[:3]]
    plan_dist = sum(s["distance_m"] for r in plan["routes"] for s in r["stops"])
    assert plan_dist == dist
    if suite == "solomon":
        assert plan_dist / 10 == pytest.approx(_solomon_distance(path, routes), abs=1e-9)
    else:
        assert plan_dist == _lkh_distance(path, routes)


def test_tiny_suite_run_writes_valid_rows(tmp_path: Path) -> None:
    out = tmp_path / "out"
    code = v1.main(
        [
            "--suite",
            "vrpspd",
            "--instances",
            "CMT01H",
            "--time-limit",
            "1",
            "--quiet",
            "--out",
            str(out),
            "--write-requests",
            str(tmp_path / "req"),
        ]
    )
    assert code == 0
    with open(out / "results.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert {r["solver"] for r in rows} == {"onestop", "pyvrp"}
    for r in rows:
        assert r["valid"] == "True", r
        assert int(r["jobs_planned"]) <= int(r["jobs_total"]) == 50
        assert float(r["distance"]) > 0
    assert (out / "summary.md").read_text().count("salhi") == 1
    _parse(json.loads((tmp_path / "req" / "CMT01H.json").read_text()))


# ------------------------------------------------------------------ random instances


def _write_solomon(path: Path, q: int, nodes: list[tuple[int, int, int, int, int, int]]) -> None:
    lines = [
        path.stem,
        "",
        "VEHICLE",
        "NUMBER     CAPACITY",
        f"  {len(nodes)}         {q}",
        "",
        "CUSTOMER",
        "CUST NO.  XCOORD.   YCOORD.    DEMAND   READY TIME  DUE DATE   SERVICE   TIME",
        "",
    ]
    lines += [
        f"{i:5d} {x:5d} {y:5d} {d:5d} {a:5d} {b:5d} {s:5d}" for i, (x, y, d, a, b, s) in enumerate(nodes)
    ]
    path.write_text("\n".join(lines) + "\n")


def _write_lkh(path: Path, q: int, k: int, xy: list[tuple[int, int]], amounts: list[tuple[int, int]]) -> None:
    lines = [
        f"NAME : {path.stem}",
        "TYPE : VRPSPD",
        f"DIMENSION : {len(xy)}",
        f"VEHICLES : {k}",
        f"CAPACITY : {q}",
        "DISTANCE : 999999",
        "SCALE : 1000",
        "EDGE_WEIGHT_TYPE : EXACT_2D",
        "NODE_COORD_SECTION",
    ]
    lines += [f"{i + 1} {x} {y}" for i, (x, y) in enumerate(xy)]
    lines.append("PICKUP_AND_DELIVERY_SECTION")
    lines += [f"{i + 1} 0 0 10000000 0 {p} {d}" for i, (p, d) in enumerate(amounts)]
    lines += ["DEPOT_SECTION", "1", "-1", "EOF"]
    path.write_text("\n".join(lines) + "\n")


coord = st.integers(0, 60)


@st.composite
def vrptw(draw: st.DrawFn) -> tuple[int, list[tuple[int, int, int, int, int, int]]]:
    n = draw(st.integers(2, 7))
    horizon = 400
    nodes = [(draw(coord), draw(coord), 0, 0, horizon, 0)]
    for _ in range(n):
        a = draw(st.integers(0, 300))
        nodes.append(
            (
                draw(coord),
                draw(coord),
                draw(st.integers(0, 30)),
                a,
                a + draw(st.integers(0, 100)),
                draw(st.integers(0, 20)),
            )
        )
    return draw(st.integers(30, 60)), nodes


@st.composite
def vrpspd(draw: st.DrawFn) -> tuple[int, int, list[tuple[int, int]], list[tuple[int, int]]]:
    n = draw(st.integers(2, 7))
    xy = [(draw(coord), draw(coord)) for _ in range(n + 1)]
    amounts = [(0, 0)] + [(draw(st.integers(0, 20)), draw(st.integers(0, 20))) for _ in range(n)]
    return draw(st.integers(20, 50)), draw(st.integers(1, 4)), xy, amounts


SLOW = settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@SLOW
@given(case=vrptw())
def test_random_vrptw_plans_pass_the_validator(tmp_path: Path, case: tuple) -> None:
    q, nodes = case
    path = tmp_path / "rand_vrptw.txt"
    _write_solomon(path, q, nodes)
    row = v1.run_task(v1.Task(str(path), "solomon", "onestop", 1.0, 0))
    assert row["valid"] is True, row


@SLOW
@given(case=vrpspd())
def test_random_vrpspd_plans_pass_the_validator(tmp_path: Path, case: tuple) -> None:
    q, k, xy, amounts = case
    path = tmp_path / "rand.vrpspd"
    _write_lkh(path, q, k, xy, amounts)
    row = v1.run_task(v1.Task(str(path), "vrpspd", "onestop", 1.0, 0))
    assert row["valid"] is True, row
