"""Plans with other travel providers and with service zones validate and behave."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from dispatch_helpers import base_request, solve_checked, stops_of
from onestop.dispatch.cli import main

SOLOMON = Path(__file__).resolve().parents[2].parent / "shared" / "instances" / "solomon" / "C101.txt"


def _square(lon0: float, lat0: float, lon1: float, lat1: float) -> list:
    return [[[lon0, lat0], [lon1, lat0], [lon1, lat1], [lon0, lat1], [lon0, lat0]]]


ZONES = {
    "type": "FeatureCollection",
    "features": [
        {"type": "Feature", "properties": {"id": "west"}, "geometry": {"type": "Polygon", "coordinates": _square(24.90, 60.15, 24.945, 60.22)}},
        {"type": "Feature", "properties": {"id": "east"}, "geometry": {"type": "Polygon", "coordinates": _square(24.945, 60.15, 25.00, 60.22)}},
    ],
}


def test_job_outside_every_zone_is_outside_service_area():
    """A job in no zone is unassigned as outside_service_area; the others are planned."""
    jobs = [
        {"id": "in", "kind": "repair", "location": [24.93, 60.18], "duration": 600, "brand": "LG"},
        {"id": "out", "kind": "repair", "location": [24.70, 60.30], "duration": 600, "brand": "LG"},
    ]
    plan = solve_checked(base_request(jobs=jobs, zones=ZONES))
    assert [(u["job"], u["reason"]) for u in plan["unassigned"]] == [("out", "outside_service_area")]
    assert stops_of(plan, "in")


def test_resource_limited_to_its_zones():
    """A technician limited to the west zone never gets an east job."""
    req = base_request(zones=ZONES)
    req["technicians"][0]["zones"] = ["west"]
    req["technicians"].append(dict(req["technicians"][0], id="t-east", zones=["east"]))
    req["jobs"] = [
        {"id": f"r{i}", "kind": "repair", "location": [24.91 + 0.02 * i, 60.18], "duration": 600, "brand": "LG"}
        for i in range(4)
    ]
    plan = solve_checked(req)
    for job in ("r0", "r1"):
        assert stops_of(plan, job)[0][0] == "t1"
    for job in ("r2", "r3"):
        assert stops_of(plan, job)[0][0] == "t-east"


def test_unknown_zone_reference_is_bad_input():
    """A resource naming a zone the request does not define is refused naming the field."""
    from onestop.dispatch.errors import RequestError
    from onestop.dispatch.planner import plan_day

    req = base_request(zones=ZONES)
    req["technicians"][0]["zones"] = ["north"]
    with pytest.raises(RequestError) as info:
        plan_day(req)
    assert info.value.errors[0].loc == "technicians[0].zones"


def test_malformed_zone_file_is_bad_input():
    """A zones object that is not polygons is refused naming `zones`."""
    from onestop.dispatch.errors import RequestError
    from onestop.dispatch.planner import plan_day

    bad = {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"id": "x"}, "geometry": {"type": "Point", "coordinates": [1, 2]}}]}
    with pytest.raises(RequestError) as info:
        plan_day(base_request(zones=bad))
    assert info.value.errors[0].loc == "zones"


def _solomon_request(path: Path, customers: int) -> dict:
    """A Solomon instance written as a v1 request with the `matrix` provider."""
    rows = [ln.split() for ln in path.read_text().splitlines() if ln.strip()]
    cap = int(rows[3][1])
    data = [list(map(int, r)) for r in rows if r[0].isdigit() and len(r) == 7][: customers + 1]
    # a fake lon/lat per node, just to name locations; the matrix holds the plane distances
    locs = [[round(10 + r[1] / 1000, 6), round(50 + r[2] / 1000, 6)] for r in data]
    n = len(data)
    dist = [[math.floor(10 * math.dist(data[i][1:3], data[j][1:3])) for j in range(n)] for i in range(n)]

    def hhmm(t: int) -> str:
        return f"{t // 3600:02d}:{t // 60 % 60:02d}:{t % 60:02d}"

    depot = data[0]
    return {
        "date": "2026-11-24",
        "timezone": "UTC",
        "depots": [{"id": "depot", "kind": "warehouse", "location": locs[0]}],
        "couriers": [
            {"id": f"v{k}", "depot": "depot", "capacity": {"demand": cap}, "shift": [hhmm(depot[4] * 10), hhmm(depot[5] * 10)]}
            for k in range(10)
        ],
        "jobs": [
            {
                "id": f"c{r[0]}",
                "kind": "delivery",
                "location": locs[i + 1],
                # the customer's window bounds the start; the whole stop must fit in a v1 window
                "windows": [[hhmm(r[4] * 10), hhmm(r[5] * 10 + r[6] * 10)]],
                "duration": r[6] * 10,
                "items": {"demand": r[3]},
            }
            for i, r in enumerate(data[1:])
        ],
        "options": {
            "preset": "fast",
            "time_limit_s": 3,
            "objective": "distance",
            "travel": {"provider": "matrix", "locations": locs, "durations_s": dist, "distances_m": dist},
        },
    }


@pytest.mark.skipif(not SOLOMON.exists(), reason="shared instances are beside the repository")
def test_solomon_as_a_v1_request_plans_and_validates(tmp_path: Path):
    """C101's first 25 customers, as a request with the matrix provider, solve and validate via the CLI."""
    req = _solomon_request(SOLOMON, 25)
    rpath, ppath = tmp_path / "req.json", tmp_path / "plan.json"
    rpath.write_text(json.dumps(req))
    assert main(["solve", str(rpath), "-o", str(ppath), "-q", "--check"]) == 0
    plan = json.loads(ppath.read_text())
    assert plan["travel"]["provider"] == "matrix"
    assert plan["kpis"]["jobs_planned"] == 25
    assert main(["validate", str(rpath), str(ppath)]) == 0


def test_matrix_provider_refuses_a_location_not_listed(tmp_path: Path, capsys):
    """A request using a place missing from travel.locations exits 2 naming options.travel."""
    req = base_request(jobs=[{"id": "j", "kind": "pickup", "location": [24.94, 60.18]}])
    req["options"]["travel"] = {"provider": "matrix", "locations": [[24.95, 60.20]], "durations_s": [[0]], "distances_m": [[0]]}
    path = tmp_path / "req.json"
    path.write_text(json.dumps(req))
    assert main(["solve", str(path), "-q"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: options.travel.points[") and "not one of travel.locations" in err
