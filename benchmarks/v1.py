"""``python -m benchmarks v1``: public instances solved through the user's own path.

Each public instance is converted into a v1 request -- the plain JSON a user would hand to
``onestop solve`` -- and solved by the same code the command runs (``parse_request`` on the JSON
bytes, ``plan_day`` with the request's own options, auto backend). Every plan is re-checked by
``validate_plan`` against a fresh parse of the same bytes, as ``onestop validate`` does. PyVRP
(and, with ``--peers``, VROOM and OR-Tools) solve the same integer matrices with the same limit,
and their routes are re-checked by :func:`check_routes`, which knows only the instance.

Reading. ``vrplib`` reads every file: ``instance_format="solomon"`` for Solomon and Gehring &
Homberger; its VRPLIB reader parses the LKH-3 ``.vrpspd`` files completely
(``EXPLICIT``/``FULL_MATRIX``, ``EXACT_2D``, ``PICKUP_AND_DELIVERY_SECTION``, ``DISTANCE``), so
no reader of our own is needed. ``EXACT_2D`` in vrplib is ``round(1000·d)``; the Gehring files
say ``SCALE : 1000``, and the Salhi files, which say nothing, get the same 1000 (their service
times and ``DISTANCE`` limits are in coordinate units, so they are scaled by 1000 too).

Conventions.

- Solomon / Homberger follow DIMACS (``bks.csv``): every distance is ``trunc(10·d)``. Everything
  is scaled by 10 so the request holds integers only: ``distances_m = durations_s = trunc(10·d)``,
  windows and service times ×10. Distances reported here are divided by 10 again.
- VRPSPD: the matrix entries (or ``round(SCALE·d)``) as they are, ``durations_s = distances_m``
  (speed 1, as in the files). All windows in these files are the trivial ``[0, 10⁷]``, so jobs
  carry none; the depot's ``10⁷`` is the shift end. A ``DISTANCE`` route limit (Salhi's CMT6-10,
  13, 14: travel plus service) becomes the shift end instead, which is the same rule because
  travel time equals distance; ``DISTANCE : 999999`` (Gehring) and ``0`` mean no limit.
- Planar points become ``[lon, lat]`` by an affine map into a box of at most 0.5° near Helsinki;
  points with equal coordinates share one location (the matrix provider refuses repeats).
  Explicit matrices have no coordinates: each node gets its own point on a small grid.

Job kinds.

- Solomon / Homberger customers are ``delivery`` jobs (``from`` the warehouse at the depot): the
  demand is loaded at the depot and dropped at the customer, which is exactly a VRPTW visit.
  ``delivery`` lets a courier return to the depot to reload (multi-trip), which VRPTW forbids.
  By the triangle inequality a second trip is never shorter than giving it to an idle vehicle,
  and the fleets (25 for Solomon) are far larger than the best-known routes need, so the
  distance objective is unchanged; the ``trips`` column shows when it happens. ``pickup`` would
  reverse the load profile, and technician kinds have no capacity, so ``delivery`` is the one.
- VRPSPD customers are written as a user would: ``exchange`` when something is delivered and
  something collected (``items`` = delivery, ``returned_items`` = pickup; the new unit loaded
  at the warehouse, the old one unloaded at the service centre, both at the depot), ``pickup``
  when nothing is delivered and ``delivery`` when nothing is collected (an "exchange" of nothing
  would be a strange thing for a dispatcher to type). The same multi-trip remark holds:
  ``trips`` above the fleet size would mean OneStop used reloads the VRPSPD model forbids.

Peers. PyVRP direct: clients with ``delivery``/``pickup``, windows, service, one vehicle type
with ``num_available`` = the fleet. VROOM: ``benchmarks.peers`` drives it on a
``RoutingProblem`` with one signed demand, which cannot hold a customer that both receives and
returns, so it is driven here on the instance itself with the same settings (exploration
level 5, one thread, the time limit). OR-Tools as a user sets it up: the distance matrix as arc
cost, a capacity dimension, a time dimension with the windows, PATH_CHEAPEST_ARC +
GUIDED_LOCAL_SEARCH. VRPSPD in OR-Tools is a relaxation: the exact rule (the load leaving the
depot equals the route's deliveries, then ``+pickup - delivery`` per stop, within ``[0, Q]``)
needs a side constraint with which PATH_CHEAPEST_ARC finds no first solution at all, so the
deliveries and the pickups each fit and the net load stays in ``[0, Q]`` from a free start;
:func:`check_routes` marks a route that breaks the real rule not valid.

Every solve runs in its own process (``--procs`` at a time); a crash, a timeout or an error is a
row with a note, never the end of the run.
"""

from __future__ import annotations

import argparse
import csv
import json
import multiprocessing as mp
import os
import re
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
SUITES = ("solomon", "homberger", "vrpspd")
VRPSPD_SETS = ("dethloff", "salhi", "gehring")
PEERS = ("vroom", "ortools")
DATE = "2025-01-06"
#: Sentinel values of the LKH-3 files: no route-length limit.
NO_LIMIT = (0, 999_999)

COLUMNS = (
    "instance",
    "suite",
    "family",
    "solver",
    "time_limit_s",
    "seed",
    "jobs_total",
    "jobs_planned",
    "couriers_used",
    "trips",
    "fleet",
    "distance",
    "reference",
    "reference_kind",
    "gap_pct",
    "wall_s",
    "valid",
    "violations",
    "note",
)


@dataclass(frozen=True, slots=True)
class Instance:
    """One instance as integers, node 0 the depot: what every solver is given."""

    name: str
    suite: str
    family: str
    labels: tuple[str, ...]
    points: tuple[tuple[float, float], ...]
    distances: np.ndarray
    durations: np.ndarray
    delivery: tuple[int, ...]
    pickup: tuple[int, ...]
    windows: tuple[tuple[int, int], ...] | None
    service: tuple[int, ...]
    fleet: int
    capacity: int
    shift_end: int
    #: Reported distance = integer distance / scale (10 for DIMACS, 1 for VRPSPD).
    scale: int

    @property
    def customers(self) -> range:
        return range(1, len(self.labels))


# ------------------------------------------------------------------ reading


def family_of(suite: str, path: Path) -> str:
    """C101 → C1, rc1_2_1 → RC1; VRPSPD: the set (folder) it comes from."""
    if suite == "vrpspd":
        return path.parent.name
    m = re.match(r"^([a-zA-Z]+)(\d)", path.stem)
    return m.group(0).upper() if m else path.stem.upper()


def lonlat(xy: np.ndarray) -> list[tuple[float, float]]:
    """Affine map of planar points into a box of at most 0.5° (distinct points stay distinct)."""
    lo = xy.min(axis=0)
    extent = float(max(1.0, (xy.max(axis=0) - lo).max()))
    k = min(1e-3, 0.5 / extent)
    return [(round(24.5 + k * (x - lo[0]), 9), round(60.0 + k * (y - lo[1]), 9)) for x, y in xy]


def grid_points(n: int) -> list[tuple[float, float]]:
    """Distinct made-up points for nodes of an explicit matrix (they have no coordinates)."""
    return [(round(24.5 + 1e-3 * (i % 100), 6), round(60.0 + 1e-3 * (i // 100), 6)) for i in range(n)]


def read_vrptw(path: Path, suite: str) -> Instance:
    """A Solomon / Gehring & Homberger file in the DIMACS convention, scaled by 10."""
    import vrplib

    raw = vrplib.read_instance(str(path), instance_format="solomon")
    xy = np.asarray(raw["node_coord"], dtype=float)
    diff = xy[:, None, :] - xy[None, :, :]
    dist = (10 * np.sqrt((diff**2).sum(axis=2))).astype(np.int64)  # trunc(10·d)
    tw = np.asarray(raw["time_window"], dtype=np.int64) * 10
    n = len(xy)
    return Instance(
        name=str(raw.get("name") or path.stem),
        suite=suite,
        family=family_of(suite, path),
        labels=tuple(str(i) for i in range(n)),
        points=tuple(lonlat(xy)),
        distances=dist,
        durations=dist.copy(),
        delivery=tuple(int(d) for d in raw["demand"]),
        pickup=(0,) * n,
        windows=tuple((int(a), int(b)) for a, b in tw),
        service=tuple(int(s) * 10 for s in raw["service_time"]),
        fleet=int(raw["vehicles"]),
        capacity=int(raw["capacity"]),
        shift_end=int(tw[0][1]),
        scale=10,
    )


def read_vrpspd(path: Path) -> Instance:
    """An LKH-3 VRPSPD file (explicit matrix or EXACT_2D), read by vrplib."""
    import vrplib

    raw = vrplib.read_instance(str(path))
    pd = np.asarray(raw["pickup_and_delivery"], dtype=np.int64)
    # Columns after the node id: demand (unused), earliest, latest, service, pickup, delivery.
    if (pd[:, 1] != 0).any() or (pd[1:, 2] < pd[0, 2]).any():
        raise ValueError("non-trivial time windows are not supported in VRPSPD files")
    explicit = str(raw.get("edge_weight_type", "")).upper() == "EXPLICIT"
    unit = 1 if explicit else int(raw.get("scale", 1000))
    dist = np.rint(np.asarray(raw["edge_weight"], dtype=float)).astype(np.int64)
    n = len(dist)
    limit = int(raw.get("distance", 0) or 0)
    shift_end = int(pd[0, 2])
    if limit not in NO_LIMIT:
        shift_end = min(shift_end, limit * unit)
    if explicit:
        points = grid_points(n)
    else:
        points = lonlat(np.asarray(raw["node_coord"], dtype=float))
    return Instance(
        name=str(raw.get("name") or path.stem),
        suite="vrpspd",
        family=family_of("vrpspd", path),
        labels=tuple(str(i + 1) for i in range(n)),
        points=tuple(points),
        distances=dist,
        durations=dist.copy(),
        delivery=tuple(int(x) for x in pd[:, 5]),
        pickup=tuple(int(x) for x in pd[:, 4]),
        windows=None,
        service=(0, *(int(x) * unit for x in pd[1:, 3])),  # the depot has no service time
        fleet=int(raw["vehicles"]),
        capacity=int(raw["capacity"]),
        shift_end=shift_end,
        scale=1,
    )


def read(path: Path, suite: str) -> Instance:
    """Any supported file."""
    return read_vrpspd(path) if suite == "vrpspd" else read_vrptw(path, suite)


# ------------------------------------------------------------------ the v1 request


def clock(seconds: int) -> str:
    """Seconds from midnight → "HH:MM:SS", or an ISO datetime beyond the first day."""
    if seconds < 86_400:
        return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
    return (datetime.fromisoformat(DATE) + timedelta(seconds=int(seconds))).isoformat()


def to_request(inst: Instance, time_limit_s: float, seed: int = 0) -> dict[str, Any]:
    """The v1 request a user would write for ``inst`` (see the module docstring)."""
    locations: list[list[float]] = []
    index: dict[tuple[float, float], int] = {}
    node_loc: list[int] = []
    for p in inst.points:
        if p not in index:
            index[p] = len(locations)
            locations.append([p[0], p[1]])
        node_loc.append(index[p])
    # Nodes sharing a point have zero distance between them in these instances; check, not assume.
    rep = [inst.points.index(p) for p in (tuple(loc) for loc in locations)]
    dist = inst.distances[np.ix_(rep, rep)]
    dur = inst.durations[np.ix_(rep, rep)]
    for i, li in enumerate(node_loc):
        if (inst.distances[i] != inst.distances[rep[li]]).any():
            raise ValueError(f"nodes {i} and {rep[li]} share a point but not their distances")
    depot = list(inst.points[0])
    shift = [clock(0), clock(inst.shift_end)]
    spd = inst.suite == "vrpspd"
    depots: list[dict[str, Any]] = [{"id": "warehouse", "kind": "warehouse", "location": depot}]
    if spd:
        depots.append({"id": "service_center", "kind": "service_center", "location": depot})
    couriers = [
        {"id": f"v{k + 1}", "depot": "warehouse", "capacity": {"units": inst.capacity}, "shift": shift}
        for k in range(inst.fleet)
    ]
    jobs = []
    for i in inst.customers:
        job: dict[str, Any] = {"id": f"c{inst.labels[i]}", "location": list(inst.points[i])}
        d, p = inst.delivery[i], inst.pickup[i]
        if not spd or p == 0:
            job.update(kind="delivery", items={"units": d}, **{"from": "warehouse"})
        elif d == 0:
            job.update(kind="pickup", items={"units": p}, to="service_center")
        else:
            job.update(
                kind="exchange",
                items={"units": d},
                returned_items={"units": p},
                to="service_center",
                **{"from": "warehouse"},
            )
        if inst.windows is not None:
            a, b = inst.windows[i]
            job["windows"] = [[clock(a), clock(b)]]
        job["duration"] = inst.service[i]
        jobs.append(job)
    return {
        "version": "1",
        "date": DATE,
        "timezone": "UTC",
        "depots": depots,
        "couriers": couriers,
        "jobs": jobs,
        "options": {
            "objective": "distance",
            "time_limit_s": time_limit_s,
            "seed": seed,
            "travel": {
                "provider": "matrix",
                "locations": locations,
                "durations_s": dur.tolist(),
                "distances_m": dist.tolist(),
            },
        },
    }


# ------------------------------------------------------------------ independent route check


def check_routes(inst: Instance, routes: Sequence[Sequence[int]]) -> tuple[int, list[str]]:
    """Distance and broken rules of single-trip routes (node lists), from the instance alone.

    Load leaving the depot is the route's deliveries; each stop adds its pickup and removes its
    delivery; service starts inside the window; the vehicle is back by the shift end.
    """
    bad: list[str] = []
    seen: dict[int, int] = {}
    total = 0
    used = [r for r in routes if r]
    if len(used) > inst.fleet:
        bad.append(f"{len(used)} routes for a fleet of {inst.fleet}")
    for r, route in enumerate(used):
        load = sum(inst.delivery[n] for n in route)
        if load > inst.capacity:
            bad.append(f"route {r}: leaves the depot with {load} > {inst.capacity}")
        t, prev = 0, 0
        for n in route:
            if not 1 <= n < len(inst.labels):
                bad.append(f"route {r}: node {n} is not a customer")
                continue
            seen[n] = seen.get(n, 0) + 1
            total += int(inst.distances[prev][n])
            t += int(inst.durations[prev][n])
            if inst.windows is not None:
                early, late = inst.windows[n]
                t = max(t, early)
                if t > late:
                    bad.append(f"route {r}: customer {inst.labels[n]} starts at {t} > {late}")
            t += inst.service[n]
            load += inst.pickup[n] - inst.delivery[n]
            if load > inst.capacity:
                bad.append(f"route {r}: load {load} > {inst.capacity} after {inst.labels[n]}")
            prev = n
        total += int(inst.distances[prev][0])
        t += int(inst.durations[prev][0])
        if t > inst.shift_end:
            bad.append(f"route {r}: back at {t} > {inst.shift_end}")
    bad += [f"customer {inst.labels[n]} visited {k} times" for n, k in seen.items() if k > 1]
    return total, bad


def _stop(
    inst: Instance,
    type_: str,
    job: str | None,
    node: int,
    times: tuple[int, int, int],
    leg: tuple[int, int] | None,
    load: int,
    depot: str | None = None,
) -> dict[str, Any]:
    """One plan stop at ``node`` (depot 0 or a customer); ``leg`` is the (from, to) travelled."""
    origin = datetime.fromisoformat(DATE + "T00:00:00+00:00")
    arrival, start, end = ((origin + timedelta(seconds=int(t))).isoformat() for t in times)
    return {
        "type": type_,
        "job": job,
        "depot": depot,
        "location": list(inst.points[node]),
        "arrival": arrival,
        "start": start,
        "end": end,
        "travel_s": int(inst.durations[leg]) if leg else 0,
        "distance_m": int(inst.distances[leg]) if leg else 0,
        "load": {"units": int(load)},
    }


def plan_from_routes(inst: Instance, routes: Sequence[Sequence[int]]) -> dict[str, Any]:
    """Single-trip routes (node lists) written as the v1 plan a user would validate.

    Earliest times: every load at the shift start, each customer served at arrival or at its
    window's opening, the unloads on return. Lets a peer's (or a published) solution go through
    ``onestop validate`` like OneStop's own plans.
    """
    spd = inst.suite == "vrpspd"
    out = []
    for k, route in enumerate(r for r in routes if r):
        kinds = {}
        for n in route:
            d, p = inst.delivery[n], inst.pickup[n]
            kinds[n] = "deliver" if not spd or p == 0 else ("collect" if d == 0 else "swap")
        stops = [_stop(inst, "start", None, 0, (0, 0, 0), None, 0, "warehouse")]
        load = 0
        for n in route:
            if kinds[n] != "collect":
                load += inst.delivery[n]
                stops.append(_stop(inst, "load", f"c{inst.labels[n]}", 0, (0, 0, 0), None, load, "warehouse"))
        t, prev = 0, 0
        for n in route:
            arrival = t + int(inst.durations[prev][n])
            start = max(arrival, inst.windows[n][0]) if inst.windows else arrival
            t = start + inst.service[n]
            load += inst.pickup[n] - inst.delivery[n]
            stops.append(_stop(inst, kinds[n], f"c{inst.labels[n]}", n, (arrival, start, t), (prev, n), load))
            prev = n
        t += int(inst.durations[prev][0])
        leg: tuple[int, int] | None = (prev, 0)
        for n in route:
            if kinds[n] != "deliver":
                load -= inst.pickup[n]
                stops.append(
                    _stop(inst, "unload", f"c{inst.labels[n]}", 0, (t, t, t), leg, load, "service_center")
                )
                leg = None
        stops.append(_stop(inst, "end", None, 0, (t, t, t), leg, load, "warehouse"))
        out.append({"resource": f"v{k + 1}", "resource_kind": "courier", "stops": stops})
    return {"version": "1", "status": "ok", "routes": out, "unassigned": []}


# ------------------------------------------------------------------ solvers


@dataclass(frozen=True, slots=True)
class Task:
    """One solve in its own process."""

    path: str
    suite: str
    solver: str
    time_limit_s: float
    seed: int


def solve_onestop(inst: Instance, task: Task) -> dict[str, Any]:
    """What ``onestop solve`` does, then what ``onestop validate`` does, on the same JSON bytes."""
    from onestop.dispatch.model import parse_request
    from onestop.dispatch.planner import plan_day
    from onestop.dispatch.validator import CUSTOMER_STOPS, validate_plan

    raw = json.dumps(to_request(inst, task.time_limit_s, task.seed)).encode()
    began = time.perf_counter()
    problem = parse_request(raw)
    plan = plan_day(problem, preset=None, time_limit_s=None).plan  # the CLI's defaults
    wall = time.perf_counter() - began
    plan = json.loads(json.dumps(plan))  # what a user would read back from plan.json
    violations = validate_plan(parse_request(raw), plan)
    planned: set[str] = set()
    couriers = trips = distance = 0
    for route in plan["routes"]:
        on_trip = False
        has_jobs = False
        for stop in route["stops"]:
            distance += int(stop.get("distance_m") or 0)
            if stop["type"] in CUSTOMER_STOPS:
                planned.add(stop["job"])
                has_jobs = True
                if not on_trip:
                    trips, on_trip = trips + 1, True
            elif stop["type"] in ("load", "unload", "start", "end"):
                on_trip = False
        couriers += has_jobs
    note = "; ".join(str(v) for v in violations[:2])
    if plan["unassigned"]:
        reasons: dict[str, int] = {}
        for u in plan["unassigned"]:
            reasons[u["reason"]] = reasons.get(u["reason"], 0) + 1
        first = plan["unassigned"][0]
        note = (
            (note + "; " if note else "") + "unassigned " + ", ".join(f"{k} ×{v}" for k, v in reasons.items())
        )
        note += f" (e.g. {first['job']}: {first.get('detail', '')})"
    return {
        "jobs_planned": len(planned),
        "couriers_used": couriers,
        "trips": trips,
        "distance_int": distance,
        "wall_s": wall,
        "valid": not violations,
        "violations": len(violations),
        "note": note,
    }


def solve_pyvrp(inst: Instance, limit: float, seed: int) -> list[list[int]]:
    """PyVRP on the instance's integer matrices."""
    import pyvrp
    from pyvrp.stop import MaxRuntime

    n = len(inst.labels)
    horizon = inst.shift_end
    clients = []
    for i in inst.customers:
        early, late = inst.windows[i] if inst.windows else (0, horizon)
        clients.append(
            pyvrp.Client(
                location=i,
                delivery=[inst.delivery[i]],
                pickup=[inst.pickup[i]],
                service_duration=inst.service[i],
                tw_early=early,
                tw_late=late,
            )
        )
    data = pyvrp.ProblemData(
        locations=[pyvrp.Location(x=0, y=0) for _ in range(n)],
        clients=clients,
        depots=[pyvrp.Depot(0, 0, horizon)],
        vehicle_types=[
            pyvrp.VehicleType(
                num_available=inst.fleet,
                capacity=[inst.capacity],
                start_depot=0,
                end_depot=0,
                tw_early=0,
                tw_late=horizon,
            )
        ],
        distance_matrices=[np.asarray(inst.distances)],
        duration_matrices=[np.asarray(inst.durations)],
    )
    res = pyvrp.solve(data, MaxRuntime(limit), seed=seed, display=False)
    routes = []
    for route in res.best.routes():
        nodes = [act.idx + 1 for act in route.schedule() if act.type == pyvrp.ActivityType.CLIENT]
        if nodes:
            routes.append(nodes)
    return routes


def solve_vroom(inst: Instance, limit: float, seed: int) -> list[list[int]]:
    """VROOM with the settings of ``benchmarks.peers`` (it minimises duration = distance here)."""
    import vroom

    del seed  # deterministic
    inp = vroom.Input()
    inp.set_durations_matrix(profile="car", matrix_input=np.asarray(inst.durations))
    inp.set_distances_matrix(profile="car", matrix_input=np.asarray(inst.distances))
    for k in range(inst.fleet):
        inp.add_vehicle(
            vroom.Vehicle(
                k,
                start=0,
                end=0,
                capacity=vroom.Amount([inst.capacity]),
                time_window=vroom.TimeWindow(0, inst.shift_end),
            )
        )
    for i in inst.customers:
        early, late = inst.windows[i] if inst.windows else (0, inst.shift_end)
        inp.add_job(
            vroom.Job(
                i,
                location=i,
                default_service=inst.service[i],
                delivery=vroom.Amount([inst.delivery[i]]),
                pickup=vroom.Amount([inst.pickup[i]]),
                time_windows=[vroom.TimeWindow(early, late)],
            )
        )
    sol = inp.solve(exploration_level=5, nb_threads=1, timeout=timedelta(seconds=limit))
    routes: dict[int, list[int]] = {}
    df = sol.routes
    for vid, typ, jid in zip(df["vehicle_id"], df["type"], df["id"], strict=True):
        if typ == "job":
            routes.setdefault(int(vid), []).append(int(jid))
    return list(routes.values())


def solve_ortools(inst: Instance, limit: float, seed: int) -> list[list[int]]:
    """OR-Tools' routing library as its documentation sets up a CVRPTW (VRPSPD: see the docstring)."""
    from ortools.constraint_solver import pywrapcp, routing_enums_pb2

    del seed  # the routing library takes none
    n, k = len(inst.labels), inst.fleet
    manager = pywrapcp.RoutingIndexManager(n, k, 0)
    model = pywrapcp.RoutingModel(manager)
    arc = model.RegisterTransitMatrix(inst.distances.tolist())
    model.SetArcCostEvaluatorOfAllVehicles(arc)
    caps = [inst.capacity] * k
    if any(inst.pickup):
        net_load = [p - d for p, d in zip(inst.pickup, inst.delivery, strict=True)]
        net = model.RegisterUnaryTransitVector(net_load)
        model.AddDimensionWithVehicleCapacity(net, 0, caps, False, "load")
        # The exact rule (load leaving the depot == the route's deliveries) is a side constraint
        # with which PATH_CHEAPEST_ARC finds no first solution; what is modelled instead: the
        # deliveries and the pickups each fit (two capacity dimensions) and the net load stays in
        # [0, Q] from a free start. check_routes judges the routes by the real rule.
        for name, amounts in (("delivered", inst.delivery), ("picked", inst.pickup)):
            cb = model.RegisterUnaryTransitVector(list(amounts))
            model.AddDimensionWithVehicleCapacity(cb, 0, caps, True, name)
    else:
        dem = model.RegisterUnaryTransitVector(list(inst.delivery))
        model.AddDimensionWithVehicleCapacity(dem, 0, caps, True, "load")
    travel = (inst.durations + np.asarray(inst.service)[:, None]).tolist()
    tcb = model.RegisterTransitMatrix(travel)
    model.AddDimension(tcb, inst.shift_end, inst.shift_end, False, "time")
    tdim = model.GetDimensionOrDie("time")
    if inst.windows is not None:
        for i in inst.customers:
            tdim.CumulVar(manager.NodeToIndex(i)).SetRange(*inst.windows[i])
    for v in range(k):
        tdim.CumulVar(model.Start(v)).SetRange(0, inst.shift_end)
        tdim.CumulVar(model.End(v)).SetRange(0, inst.shift_end)
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PATH_CHEAPEST_ARC
    params.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    params.time_limit.FromMilliseconds(int(limit * 1000))
    sol = model.SolveWithParameters(params)
    if sol is None:
        raise RuntimeError("OR-Tools found no solution within the limit")
    routes = []
    for v in range(k):
        idx, nodes = sol.Value(model.NextVar(model.Start(v))), []
        while not model.IsEnd(idx):
            nodes.append(manager.IndexToNode(idx))
            idx = sol.Value(model.NextVar(idx))
        if nodes:
            routes.append(nodes)
    return routes


DIRECT = {"pyvrp": solve_pyvrp, "vroom": solve_vroom, "ortools": solve_ortools}


def run_task(task: Task) -> dict[str, Any]:
    """Read, convert, solve, check: one row; errors become a note."""
    path = Path(task.path)
    row: dict[str, Any] = dict.fromkeys(COLUMNS, "")
    row.update(
        instance=path.stem,
        suite=task.suite,
        family=family_of(task.suite, path),
        solver=task.solver,
        time_limit_s=task.time_limit_s,
        seed=task.seed,
        valid=False,
    )
    try:
        inst = read(path, task.suite)
    except Exception as exc:  # a bad file is a row
        row["note"] = f"read failed: {type(exc).__name__}: {exc}"
        return row
    row.update(jobs_total=len(inst.customers), fleet=inst.fleet)
    began = time.perf_counter()
    try:
        if task.solver == "onestop":
            got = solve_onestop(inst, task)
        else:
            routes = DIRECT[task.solver](inst, task.time_limit_s, task.seed)
            wall = time.perf_counter() - began
            dist, bad = check_routes(inst, routes)
            served = {n for r in routes for n in r}
            got = {
                "jobs_planned": len(served),
                "couriers_used": len(routes),
                "trips": len(routes),
                "distance_int": dist,
                "wall_s": wall,
                "valid": not bad,
                "violations": len(bad),
                "note": "; ".join(bad[:2]),
            }
    except Exception as exc:
        row["wall_s"] = round(time.perf_counter() - began, 3)
        row["note"] = f"{task.solver} failed: {type(exc).__name__}: {exc}"[:500]
        return row
    row.update({k: v for k, v in got.items() if k in row})
    row["distance"] = got["distance_int"] / inst.scale
    row["wall_s"] = round(got["wall_s"], 3)
    return row


def _child(task: Task, conn: Any) -> None:
    try:
        conn.send(run_task(task))
    finally:
        conn.close()


def run_all(tasks: Sequence[Task], procs: int, quiet: bool = False) -> list[dict[str, Any]]:
    """Each task in a fresh process, ``procs`` at a time; a dead or hung process is a row."""
    ctx = mp.get_context("spawn")
    pending, running, rows = list(tasks), [], []
    while pending or running:
        while pending and len(running) < max(1, procs):
            task = pending.pop(0)
            parent, child = ctx.Pipe(duplex=False)
            proc = ctx.Process(target=_child, args=(task, child), daemon=True)
            proc.start()
            child.close()
            running.append((task, proc, parent, time.monotonic()))
        time.sleep(0.05)
        for item in list(running):
            task, proc, conn, began = item
            row = None
            if conn.poll():
                try:
                    row = conn.recv()
                except EOFError:
                    row = None
            overdue = time.monotonic() - began > 3 * task.time_limit_s + 120
            if row is None and proc.is_alive() and not overdue:
                continue
            if row is None:
                if proc.is_alive():
                    proc.kill()
                proc.join()
                row = dict.fromkeys(COLUMNS, "")
                row.update(
                    instance=Path(task.path).stem,
                    suite=task.suite,
                    family=family_of(task.suite, Path(task.path)),
                    solver=task.solver,
                    time_limit_s=task.time_limit_s,
                    seed=task.seed,
                    valid=False,
                    note="timed out" if overdue else f"process died (exit code {proc.exitcode})",
                )
            proc.join(timeout=5)
            conn.close()
            running.remove(item)
            rows.append(row)
            if not quiet:
                print(_progress(len(rows), len(tasks), row), file=sys.stderr, flush=True)
    return rows


def _progress(i: int, n: int, row: dict[str, Any]) -> str:
    status = "valid" if row["valid"] is True else "NOT VALID"
    text = (
        f"[{i}/{n}] {row['instance']} {row['solver']}: {row['jobs_planned']}/{row['jobs_total']} jobs, "
        f"{row['couriers_used']} couriers, distance {row['distance']}, {status}, {row['wall_s']} s"
    )
    return text + (f" — {row['note']}" if row["note"] else "")


# ------------------------------------------------------------------ gaps and tables


def add_gaps(rows: list[dict[str, Any]], bks: dict[str, dict[str, Any]]) -> None:
    """Gap to bks.csv's distance rows (DIMACS suites) or to PyVRP direct's distance (VRPSPD)."""
    pyvrp = {
        r["instance"]: r["distance"]
        for r in rows
        if r["solver"] == "pyvrp" and r["valid"] is True and r["jobs_planned"] == r["jobs_total"]
    }
    for r in rows:
        ref, kind = None, ""
        if r["suite"] == "vrpspd":
            if r["solver"] != "pyvrp" and r["instance"] in pyvrp:
                ref, kind = pyvrp[r["instance"]], "pyvrp"
        else:
            b = bks.get(r["instance"].lower(), {}).get("distance")
            if b is not None:
                ref, kind = b.distance, "bks-dimacs"
        if ref:
            r["reference"], r["reference_kind"] = ref, kind
            if r["distance"] != "" and r["valid"] is True and r["jobs_planned"] == r["jobs_total"]:
                r["gap_pct"] = round(100.0 * (float(r["distance"]) - ref) / ref, 3)


def summary(rows: Sequence[dict[str, Any]], solvers: Sequence[str]) -> str:
    """Per family: jobs planned, couriers used, mean / worst gap, one column group per solver."""
    fams = sorted({r["family"] for r in rows}, key=_natural)
    head = "| family | instances | " + " | ".join(
        f"{s} planned | {s} couriers | {s} gap mean / worst % | {s} valid" for s in solvers
    )
    lines = [head + " |", "|" + "---|" * (2 + 4 * len(solvers))]
    for fam in [*fams, "all"]:
        sel = [r for r in rows if fam in ("all", r["family"])]
        cells = [f"**{fam}**" if fam == "all" else fam, str(len({r["instance"] for r in sel}))]
        for s in solvers:
            mine = [r for r in sel if r["solver"] == s]
            planned = sum(int(r["jobs_planned"] or 0) for r in mine)
            total = sum(int(r["jobs_total"] or 0) for r in mine)
            couriers = sum(int(r["couriers_used"] or 0) for r in mine)
            gaps = [float(r["gap_pct"]) for r in mine if r["gap_pct"] != ""]
            gap = f"{sum(gaps) / len(gaps):.2f} / {max(gaps):.2f}" if gaps else "–"
            if gaps and len(gaps) < len(mine):
                gap += f" ({len(gaps)} of {len(mine)})"
            ok = sum(r["valid"] is True for r in mine)
            cells += [f"{planned} / {total}", str(couriers), gap, f"{ok} / {len(mine)}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _natural(name: str) -> tuple[Any, ...]:
    return tuple(int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", name))


# ------------------------------------------------------------------ CLI


def default_instances_dir() -> Path:
    """``$ONESTOP_INSTANCES``, else ``../shared/instances`` from the repository root (as ``run``)."""
    env = os.environ.get("ONESTOP_INSTANCES")
    return Path(env) if env else REPO.parent / "shared" / "instances"


def find_files(suite: str, root: Path, names: Sequence[str], sizes: Sequence[int]) -> list[Path]:
    """The suite's files, filtered by name (case-insensitive stem) and customer count."""
    if suite == "vrpspd":
        files = [f for s in VRPSPD_SETS for f in sorted((root / "vrpspd" / s).glob("*.vrpspd"))]
    else:
        files = sorted((root / suite).glob("*.txt"), key=lambda p: _natural(p.stem))
    if names:
        wanted = {n.lower() for n in names}
        missing = wanted - {f.stem.lower() for f in files}
        if missing:
            raise ValueError(f"not in {suite}: {', '.join(sorted(missing))}")
        files = [f for f in files if f.stem.lower() in wanted]
    if sizes:
        files = [f for f in files if _customers(f, suite) in sizes]
    if not files:
        raise ValueError(f"no {suite} instances under {root}")
    return files


def _customers(path: Path, suite: str) -> int:
    if suite == "homberger":
        m = re.search(r"_(\d+)_\d+$", path.stem)
        return int(m.group(1)) * 100 if m else -1
    if suite == "solomon":
        return 100
    with open(path) as fh:
        for line in fh:
            if line.upper().startswith("DIMENSION"):
                return int(line.split(":")[1]) - 1
    return -1


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m benchmarks v1``: convert, solve, check, tabulate."""
    ap = argparse.ArgumentParser(prog="python -m benchmarks v1", description=__doc__.split("\n")[0])
    ap.add_argument("--suite", choices=SUITES, required=True)
    ap.add_argument("--instances", default="", help="comma-separated names, e.g. C101,R101")
    ap.add_argument("--sizes", default="", help="customer counts, e.g. 200 (homberger: 200,1000)")
    ap.add_argument("--time-limit", type=float, default=10.0, help="seconds per solve, every solver")
    ap.add_argument("--procs", type=int, default=1, help="solves at a time, each in its own process")
    ap.add_argument("--peers", default="", help="also vroom and/or ortools")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=None, help="folder (default benchmarks/results/v1-<suite>)")
    ap.add_argument("--instances-dir", default=None, help="default ../shared/instances from the repo root")
    ap.add_argument("--write-requests", default=None, help="also write DIR/<instance>.json v1 requests")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)
    try:
        root = Path(args.instances_dir) if args.instances_dir else default_instances_dir()
        if not root.is_absolute() and args.instances_dir:
            root = (REPO / root) if not root.exists() else root
        names = [n.strip() for n in args.instances.split(",") if n.strip()]
        sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
        files = find_files(args.suite, root, names, sizes)
        peers = [p.strip() for p in args.peers.split(",") if p.strip()]
        unknown = set(peers) - set(PEERS)
        if unknown:
            raise ValueError(f"--peers must be among {', '.join(PEERS)}, not {', '.join(sorted(unknown))}")
        if args.time_limit <= 0:
            raise ValueError("--time-limit must be > 0")
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    out = Path(args.out) if args.out else REPO / "benchmarks" / "results" / f"v1-{args.suite}"
    out.mkdir(parents=True, exist_ok=True)
    if args.write_requests:
        where = Path(args.write_requests)
        where.mkdir(parents=True, exist_ok=True)
        for f in files:
            try:
                req = to_request(read(f, args.suite), args.time_limit, args.seed)
            except Exception as exc:
                print(f"cannot convert {f.name}: {type(exc).__name__}: {exc}", file=sys.stderr)
                continue
            (where / f"{f.stem}.json").write_text(json.dumps(req) + "\n")
    solvers = ["onestop", "pyvrp", *peers]
    tasks = [Task(str(f), args.suite, s, args.time_limit, args.seed) for f in files for s in solvers]
    print(
        f"{len(tasks)} solves: {len(files)} {args.suite} instances × {', '.join(solvers)}, "
        f"{args.time_limit:g} s each, {args.procs} at a time",
        file=sys.stderr,
    )
    rows = run_all(tasks, args.procs, quiet=args.quiet)
    bks_path = root / "bks.csv"
    if bks_path.is_file():
        from onestop.routing.instances import read_bks

        bks = read_bks(bks_path)
    else:
        bks = {}
    add_gaps(rows, bks)
    order = {s: i for i, s in enumerate(solvers)}
    rows.sort(key=lambda r: (_natural(r["family"]), _natural(r["instance"]), order.get(r["solver"], 99)))
    with open(out / "results.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    ref = "PyVRP direct" if args.suite == "vrpspd" else "bks.csv distance (DIMACS)"
    table = (
        f"v1 {args.suite}: {len(files)} instances, {args.time_limit:g} s, seed {args.seed}; gap vs {ref}; "
        f"gaps only over valid rows with every job planned.\n\n" + summary(rows, solvers)
    )
    (out / "summary.md").write_text(table + "\n")
    print(table)
    print(f"\nwrote {out / 'results.csv'} and {out / 'summary.md'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
