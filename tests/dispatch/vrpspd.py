"""A minimal VRPSPD (LKH-3 format) → v1 request converter for tests and measurements.

Every customer becomes an ``exchange`` job (``items`` = delivery, ``returned_items`` =
pickup); warehouse and service centre both sit at the depot; the couriers are the
instance's fleet; travel is a ``matrix`` of the instance's distances; ``objective:
distance``. Times: instances with windows (Gehring) keep them, ×10 as integer seconds
(durations are the Euclidean lengths ×10, rounded); the others get short travel times
(at most 5 minutes a leg) so that the day never binds.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

INSTANCES = Path("/work/shared/instances/vrpspd")


def _hms(s: int) -> str:
    return f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}"


def parse(path: Path) -> dict[str, Any]:
    """The instance as a dict: capacity, vehicles, distances, rows (earliest, latest, service, p, d)."""
    head: dict[str, str] = {}
    lines = path.read_text().split("\n")
    i = 0
    weights: list[int] = []
    coords: dict[int, tuple[float, float]] = {}
    rows: dict[int, tuple[float, float, float, int, int]] = {}
    while i < len(lines):
        line = lines[i].strip()
        i += 1
        if not line or line == "EOF":
            continue
        if ":" in line and not line[0].isdigit():
            k, v = line.split(":", 1)
            head[k.strip()] = v.strip()
            continue
        if line == "EDGE_WEIGHT_SECTION":
            n = int(head["DIMENSION"])
            while len(weights) < n * n:
                weights += [int(x) for x in lines[i].split()]
                i += 1
        elif line == "NODE_COORD_SECTION":
            while i < len(lines) and lines[i].strip()[:1].isdigit():
                a = lines[i].split()
                coords[int(a[0])] = (float(a[1]), float(a[2]))
                i += 1
        elif line == "PICKUP_AND_DELIVERY_SECTION":
            while i < len(lines) and lines[i].strip()[:1].isdigit():
                a = lines[i].split()
                rows[int(a[0])] = (float(a[2]), float(a[3]), float(a[4]), int(a[5]), int(a[6]))
                i += 1
        elif line == "DEPOT_SECTION":
            break
    n = int(head["DIMENSION"])
    if weights:
        dist = [weights[r * n : (r + 1) * n] for r in range(n)]
        euclid = None
    else:
        scale = float(head.get("SCALE", "1"))
        euclid = [[math.dist(coords[a + 1], coords[b + 1]) for b in range(n)] for a in range(n)]
        dist = [[int(e * scale + 0.5) for e in row] for row in euclid]
    return {
        "name": head["NAME"],
        "capacity": int(head["CAPACITY"]),
        "vehicles": int(head["VEHICLES"]),
        "dist": dist,
        "euclid": euclid,
        "rows": [rows[k + 1] for k in range(n)],
    }


def request(path: Path | str, *, time_limit_s: float = 10, vehicles: int | None = None) -> dict[str, Any]:
    """The v1 request of one VRPSPD instance (see the module docstring)."""
    inst = parse(INSTANCES / path if not Path(path).is_absolute() else Path(path))
    dist = inst["dist"]
    n = len(dist)
    rows = inst["rows"]
    timed = inst["euclid"] is not None and rows[0][1] < 1e6
    if timed:
        dur = [[math.ceil(e * 10 - 1e-9) for e in row] for row in inst["euclid"]]
        horizon = int(rows[0][1] * 10)
    else:
        top = max(max(r) for r in dist) or 1
        dur = [[0 if a == b else max(1, math.ceil(300 * dist[a][b] / top)) for b in range(n)] for a in range(n)]
        horizon = 86_399
    locations = [[round(20 + (k % 100) * 0.001, 6), round(60 + (k // 100) * 0.001, 6)] for k in range(n)]
    depot = locations[0]
    couriers = [
        {
            "id": f"v{k}",
            "depot": "W",
            "capacity": {"units": inst["capacity"]},
            "shift": ["00:00:00", _hms(horizon)],
        }
        for k in range(vehicles or inst["vehicles"])
    ]
    jobs = []
    for c in range(1, n):
        early, late, service, pick, deliver = rows[c]
        job: dict[str, Any] = {
            "id": f"c{c}",
            "kind": "exchange",
            "location": locations[c],
            "duration": int(service * 10) if timed else 0,
            "items": {"units": deliver},
            "returned_items": {"units": pick},
        }
        if timed:
            # this branch's windows bound the whole visit: latest start + service
            job["windows"] = [[_hms(int(early * 10)), _hms(min(horizon, int(late * 10 + service * 10)))]]
        jobs.append(job)
    return {
        "date": "2026-01-05",
        "timezone": "UTC",
        "depots": [
            {"id": "W", "kind": "warehouse", "location": depot},
            {"id": "S", "kind": "service_center", "location": depot},
        ],
        "technicians": [],
        "couriers": couriers,
        "jobs": jobs,
        "options": {
            "time_limit_s": time_limit_s,
            "objective": "distance",
            "travel": {"provider": "matrix", "locations": locations, "durations_s": dur, "distances_m": dist},
        },
    }
