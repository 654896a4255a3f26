"""Shared builders for routing tests: Solomon reader and small problem helpers."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from onestop.routing import Break, Group, Node, Precedence, RoutingProblem, Vehicle

SOLOMON_DIR = Path("/work/shared/instances/solomon")


def read_solomon(path: Path, *, max_customers: int | None = None) -> RoutingProblem:
    """A Solomon VRPTW instance, DIMACS style (coordinates x10, truncated)."""
    lines = [ln.split() for ln in path.read_text().splitlines() if ln.strip()]
    nveh, cap = int(lines[3][0]), int(lines[3][1])
    rows = [list(map(int, ln)) for ln in lines[6:] if ln[0].isdigit()]
    if max_customers is not None:
        rows = rows[: max_customers + 1]
    xy = np.array([(r[1], r[2]) for r in rows], dtype=np.float64)
    diff = xy[:, None, :] - xy[None, :, :]
    dist = np.floor(np.sqrt((diff**2).sum(-1)) * 10).astype(np.int64)
    depot = rows[0]
    nodes = [
        Node(location=r[0], windows=((r[4] * 10, r[5] * 10),), service_s=r[6] * 10,
             demand=(r[3],), penalty=None)
        for r in rows[1:]
    ]
    nodes.append(Node(location=0))
    vehicles = tuple(
        Vehicle(start=len(nodes) - 1, end=len(nodes) - 1, shift=(depot[4] * 10, depot[5] * 10),
                capacity=(cap,))
        for _ in range(nveh)
    )
    return RoutingProblem(
        durations=dist, distances=dist, nodes=tuple(nodes), vehicles=vehicles,
        dimensions=("demand",),
    )


def euclid(points: list[tuple[float, float]]) -> np.ndarray:
    """Integer Euclidean matrix (truncated) over points."""
    n = len(points)
    return np.array(
        [[int(math.dist(points[i], points[j])) for j in range(n)] for i in range(n)],
        dtype=np.int64,
    )


def field_day(n_jobs: int, n_vehicles: int, seed: int = 0) -> RoutingProblem:
    """A synthetic city day shaped like dispatch's expansion of mixed jobs.

    Couriers (capacity volume, weight; lunch break) do deliveries (load → deliver),
    pickups and haul-aways (collect → unload) and exchanges (load → swap → unload);
    technicians (brands, lunch break) do repairs and installations, some linked after
    a delivery; delivery-installations are a group: one stop by a combined crew, or a
    courier delivery plus a technician installation after it. Two-hour windows, 8-18 h.
    """
    import random

    rng = random.Random(seed)
    day0, day1 = 8 * 3600, 18 * 3600
    n_depots = 6
    n_crews = max(1, n_vehicles // 16)
    n_couriers = (n_vehicles - n_crews) // 2
    n_techs = n_vehicles - n_crews - n_couriers
    pts: list[tuple[float, float]] = [
        (rng.uniform(5e3, 25e3), rng.uniform(5e3, 25e3)) for _ in range(n_depots)
    ]
    nodes: list[Node] = []
    pairs: list[tuple[int, int]] = []
    groups: list[Group] = []
    precs: list[Precedence] = []
    couriers = frozenset(range(n_couriers))
    techs = list(range(n_couriers, n_couriers + n_techs))
    crews = frozenset(range(n_couriers + n_techs, n_vehicles))
    brands = 4
    tech_brands = {k: {rng.randrange(brands), rng.randrange(brands)} for k in techs}

    def customer() -> int:
        pts.append((rng.uniform(0, 30e3), rng.uniform(0, 30e3)))
        return len(pts) - 1

    def window() -> tuple[tuple[int, int], ...]:
        s = rng.randrange(day0, day1 - 2 * 3600, 1800)
        return ((s, s + 2 * 3600),)

    def add(loc: int, **kw: object) -> int:
        nodes.append(Node(location=loc, **kw))  # type: ignore[arg-type]
        return len(nodes) - 1

    last_delivery: int | None = None
    for _ in range(n_jobs):
        kind = rng.choices(
            ["delivery", "installation", "deliv_inst", "haul", "exchange", "pickup", "repair"],
            [25, 12, 10, 10, 10, 13, 20],
        )[0]
        dep = rng.randrange(n_depots)
        vol, wt = rng.randint(1, 4), rng.randint(5, 60)
        pen = rng.choice([100_000, 100_000, 1_000_000])
        brand = rng.randrange(brands)
        techs_ok = frozenset(k for k in techs if brand in tech_brands[k])
        if kind == "delivery":
            c = customer()
            a = add(dep, service_s=120, demand=(vol, wt), allowed_vehicles=couriers | crews,
                    penalty=0, counts_as_stop=False)
            b = add(c, windows=window(), service_s=300, demand=(-vol, -wt),
                    allowed_vehicles=couriers | crews, penalty=pen)
            pairs.append((a, b))
            last_delivery = b
        elif kind == "installation":
            c = customer()
            w = window()
            linked = last_delivery is not None and rng.random() < 0.5
            if linked:  # after a delivery: a window starting when the delivery's does
                w0 = nodes[last_delivery].windows[0][0]  # type: ignore[index]
                w = ((w0, min(w0 + 4 * 3600, day1 - 1800)),)
            i = add(c, windows=w, service_s=1800, allowed_vehicles=techs_ok, penalty=pen)
            if linked:
                precs.append(Precedence(last_delivery, i))  # type: ignore[arg-type]
                last_delivery = None
        elif kind == "deliv_inst":
            c = customer()
            w = window()
            one = add(c, windows=w, service_s=2100, demand=(0, 0), allowed_vehicles=crews)
            a = add(dep, service_s=120, demand=(vol, wt), allowed_vehicles=couriers,
                    counts_as_stop=False)
            b = add(c, windows=w, service_s=300, demand=(-vol, -wt), allowed_vehicles=couriers)
            i = add(c, windows=((w[0][0], day1 - 1800),), service_s=1800,
                    allowed_vehicles=techs_ok)
            pairs.append((a, b))
            precs.append(Precedence(b, i))
            groups.append(Group(nodes=(one,), penalty=pen, alternatives=((a, b, i),)))
        elif kind in ("haul", "pickup"):
            c = customer()
            a = add(c, windows=window(), service_s=300, demand=(vol, wt),
                    allowed_vehicles=couriers | crews, penalty=pen)
            b = add(dep, service_s=120, demand=(-vol, -wt), allowed_vehicles=couriers | crews,
                    penalty=0, counts_as_stop=False)
            pairs.append((a, b))
        elif kind == "exchange":
            c = customer()
            a = add(dep, service_s=120, demand=(vol, wt), allowed_vehicles=couriers,
                    penalty=0, counts_as_stop=False)
            s = add(c, windows=window(), service_s=600, demand=(0, 0),
                    allowed_vehicles=couriers, penalty=pen)
            b = add(dep, service_s=120, demand=(-vol, -wt), allowed_vehicles=couriers,
                    penalty=0, counts_as_stop=False)
            pairs += [(a, s), (s, b)]
        else:
            c = customer()
            add(c, windows=window(), service_s=2400, allowed_vehicles=techs_ok, penalty=pen)
    vehicles = []
    for k in range(n_vehicles):
        if k in couriers or k in crews:
            loc = rng.randrange(n_depots)
            cap = (30, 600) if k in couriers else (15, 300)
        else:
            pts.append((rng.uniform(0, 30e3), rng.uniform(0, 30e3)))
            loc = len(pts) - 1
            cap = (0, 0)
        term = add(loc)
        vehicles.append(
            Vehicle(start=term, end=term, shift=(day0, day1), capacity=cap,
                    breaks=(Break(12 * 3600, 14 * 3600, 1800),), max_stops=30,
                    fixed_cost=600)
        )
    xy = np.array(pts)
    dm = np.sqrt(((xy[:, None, :] - xy[None, :, :]) ** 2).sum(-1)) * 1.3
    dist = np.round(dm).astype(np.int64)
    dur = np.ceil(dm / (25 / 3.6)).astype(np.int64)
    return RoutingProblem(
        durations=dur, distances=dist, nodes=tuple(nodes), vehicles=tuple(vehicles),
        pairs=tuple(pairs), groups=tuple(groups), precedences=tuple(precs),
        dimensions=("volume", "weight"),
    )
