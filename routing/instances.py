"""Readers for the classic benchmark instances and their solution files.

Solomon and Gehring & Homberger (VRPTW) and Li & Lim (PDPTW) load straight
into a :class:`RoutingProblem`. Coordinates are planar and travel time equals
distance, so both matrices hold the same scaled integers. Two rounding
conventions make the integers (PyVRP's ``ROUND_FUNCS`` names):

``"dimacs"``
    ×10, truncated: ``trunc(10·d)``. The DIMACS VRPTW challenge convention,
    used by the Solomon and Homberger distance BKS.
``"exact"``
    ×1000, rounded: ``round(1000·d)``. PyVRP's convention, used by the Li &
    Lim distance BKS.
``"round"`` / ``"trunc"``
    ×1, rounded or truncated, for quick looks.

Times (ready, due, service) are scaled by the same factor, so a cost or a
time in the convention's unit is the integer divided by :func:`scale_of`.
Node ``i`` is task or customer number ``i`` of the file; node 0 is the depot
and the start and end of every vehicle.
"""

from __future__ import annotations

import csv
import logging
import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import InvalidProblem
from .problem import Node, RoutingProblem, Vehicle
from .result import RoutingResult

logger = logging.getLogger(__name__)

#: Convention name → factor the raw values are multiplied by.
SCALES: dict[str, int] = {"dimacs": 10, "exact": 1000, "round": 1, "trunc": 1}

#: Suite → the convention its distance BKS uses.
DEFAULT_ROUND: dict[str, str] = {"solomon": "dimacs", "homberger": "dimacs", "lilim": "exact"}

SUITES = ("solomon", "lilim", "homberger")


def _round_func(name: str) -> Callable[[np.ndarray], np.ndarray]:
    """The array function of a convention, written as PyVRP's ``ROUND_FUNCS``."""
    if name == "dimacs":
        return lambda a: (10 * a).astype(np.int64)
    if name == "exact":
        return lambda a: np.round(1000 * a).astype(np.int64)
    if name == "round":
        return lambda a: np.round(a).astype(np.int64)
    if name == "trunc":
        return lambda a: a.astype(np.int64)
    raise ValueError(f"round_func must be one of {', '.join(SCALES)}.")


def scale_of(round_func: str) -> int:
    """Factor between a convention's integers and the instance's own unit."""
    try:
        return SCALES[round_func]
    except KeyError:
        raise ValueError(f"round_func must be one of {', '.join(SCALES)}.") from None


def _euclidean(xy: np.ndarray) -> np.ndarray:
    """Float Euclidean matrix, computed like PyVRP does so the integers match."""
    diff = xy[:, None, :] - xy[None, :, :]
    return np.sqrt((diff**2).sum(axis=-1))


@dataclass(frozen=True, slots=True)
class _Row:
    """One parsed customer or task line."""

    number: int
    x: float
    y: float
    demand: float
    ready: float
    due: float
    service: float
    pickup_sibling: int = 0
    delivery_sibling: int = 0


def _build(
    rows: Sequence[_Row],
    num_vehicles: int,
    capacity: float,
    round_func: str,
    penalty: int | None,
) -> tuple[RoutingProblem, list[int]]:
    """Turn parsed rows into a problem; also return the integer demands."""
    if [r.number for r in rows] != list(range(len(rows))):
        raise InvalidProblem("instance rows must be numbered 0, 1, 2, ... with the depot first.")
    rnd = _round_func(round_func)
    xy = np.array([(r.x, r.y) for r in rows], dtype=np.float64)
    dist_f = _euclidean(xy)
    distances = rnd(dist_f)

    def scaled(v: float) -> int:
        return int(rnd(np.array([v], dtype=np.float64))[0])

    depot = rows[0]
    shift = (scaled(depot.ready), scaled(depot.due))
    demands = [round(r.demand) for r in rows]
    nodes = [Node(location=0)]
    for r in rows[1:]:
        nodes.append(
            Node(
                location=r.number,
                windows=((scaled(r.ready), scaled(r.due)),),
                service_s=scaled(r.service),
                demand=(demands[r.number],),
                penalty=penalty,
            )
        )
    vehicles = tuple(
        Vehicle(
            start=0,
            end=0,
            shift=shift,
            capacity=(round(capacity),),
            cost_per_travel_s=0,
            cost_per_m=1,
        )
        for _ in range(num_vehicles)
    )
    problem = RoutingProblem(
        durations=distances,
        distances=distances,
        nodes=tuple(nodes),
        vehicles=vehicles,
        dimensions=("demand",),
        horizon_s=shift[1],
    )
    return problem, demands


def _numbers(line: str) -> list[float] | None:
    """The numeric fields of a line, or None when any field is not a number."""
    parts = line.split()
    try:
        return [float(p) for p in parts]
    except ValueError:
        return None


def _read_solomon_rows(path: str | Path) -> tuple[str, int, float, list[_Row]]:
    """Name, fleet size, capacity and customer rows of a Solomon/Homberger file."""
    lines = Path(path).read_text().splitlines()
    name = next((ln.strip() for ln in lines if ln.strip()), "")
    fleet: tuple[int, float] | None = None
    rows: list[_Row] = []
    section = ""
    for ln in lines:
        upper = ln.strip().upper()
        if upper.startswith("VEHICLE"):
            section = "vehicle"
            continue
        if upper.startswith("CUSTOMER"):
            section = "customer"
            continue
        nums = _numbers(ln)
        if not nums:
            continue
        if section == "vehicle" and fleet is None and len(nums) == 2:
            fleet = (int(nums[0]), nums[1])
        elif section == "customer" and len(nums) == 7:
            rows.append(_Row(int(nums[0]), *nums[1:7]))
    if fleet is None or not rows:
        raise InvalidProblem(f"{path}: not a Solomon-format file (no VEHICLE or CUSTOMER data).")
    return name, fleet[0], fleet[1], rows


def read_solomon(
    path: str | Path, round_func: str = "dimacs", *, penalty: int | None = None
) -> RoutingProblem:
    """Read a Solomon or Gehring & Homberger VRPTW file.

    Parameters
    ----------
    path
        The instance file.
    round_func
        Rounding convention, see the module docstring. Default ``"dimacs"``.
    penalty
        Drop cost of each customer; ``None`` (default) makes all mandatory.

    Returns
    -------
    RoutingProblem
        Node ``i`` is customer ``i``; every vehicle starts and ends at node 0
        within the depot's [ready, due]; one capacity dimension ``"demand"``.
        Customer demand is modelled as collected load: on a single-depot
        route that bounds the load exactly as delivering it would.
    """
    name, num_vehicles, capacity, rows = _read_solomon_rows(path)
    problem, _ = _build(rows, num_vehicles, capacity, round_func, penalty)
    logger.debug("read %s: %d customers, %d vehicles", name, len(rows) - 1, num_vehicles)
    return problem


def _read_li_lim_rows(path: str | Path) -> tuple[int, float, float, list[_Row]]:
    """Fleet size, capacity, speed and task rows of a Li & Lim file."""
    lines = [ln for ln in Path(path).read_text().splitlines() if ln.strip()]
    head = _numbers(lines[0]) if lines else None
    if not head or len(head) != 3:
        raise InvalidProblem(f"{path}: not a Li & Lim file (first line must be 'K Q speed').")
    rows = []
    for ln in lines[1:]:
        nums = _numbers(ln)
        if not nums or len(nums) != 9:
            raise InvalidProblem(f"{path}: task lines must have 9 numbers: {ln.strip()!r}.")
        rows.append(_Row(int(nums[0]), *nums[1:7], int(nums[7]), int(nums[8])))
    return int(head[0]), head[1], head[2], rows


def read_li_lim(path: str | Path, round_func: str = "exact", *, penalty: int | None = None) -> RoutingProblem:
    """Read a Li & Lim PDPTW file.

    Parameters
    ----------
    path
        The instance file.
    round_func
        Rounding convention, see the module docstring. Default ``"exact"``.
    penalty
        Drop cost of each task (a dropped pair costs it twice); ``None``
        (default) makes all mandatory.

    Returns
    -------
    RoutingProblem
        Node ``i`` is task ``i``; pickups carry ``+q``, deliveries ``-q``;
        ``pairs`` holds (pickup, delivery).

    Raises
    ------
    InvalidProblem
        When sibling references disagree.
    """
    # The third header field ("speed") is 1 or 0 in the public files; travel
    # time equals distance in every published result, so it is ignored.
    num_vehicles, capacity, _speed, rows = _read_li_lim_rows(path)
    problem, demands = _build(rows, num_vehicles, capacity, round_func, penalty)
    pairs = []
    for r in rows[1:]:
        if r.delivery_sibling:
            d = r.delivery_sibling
            if not 0 < d < len(rows) or rows[d].pickup_sibling != r.number:
                raise InvalidProblem(f"{path}: task {r.number} names a delivery that disagrees.")
            if demands[r.number] < 0 or demands[d] != -demands[r.number]:
                raise InvalidProblem(f"{path}: pair ({r.number}, {d}) demands must be +q and -q.")
            pairs.append((r.number, d))
        elif not r.pickup_sibling:
            raise InvalidProblem(f"{path}: task {r.number} has no sibling.")
    logger.debug("read %s: %d pairs, %d vehicles", path, len(pairs), num_vehicles)
    return problem.replace(pairs=tuple(pairs))


def detect_suite(path: str | Path) -> str:
    """Which suite a file belongs to, from its layout (and size for Homberger)."""
    with open(path) as fh:
        first = next((ln for ln in fh if ln.strip()), "")
    head = _numbers(first)
    if head and len(head) == 3:
        return "lilim"
    _, _, _, rows = _read_solomon_rows(path)
    return "homberger" if len(rows) - 1 > 100 else "solomon"


@dataclass(frozen=True, slots=True)
class Instance:
    """A benchmark instance read in one convention."""

    name: str
    suite: str
    round_func: str
    problem: RoutingProblem

    @property
    def scale(self) -> int:
        return scale_of(self.round_func)


def read_instance(path: str | Path, round_func: str | None = None, *, penalty: int | None = None) -> Instance:
    """Read any supported file; the suite's own convention unless ``round_func``."""
    path = Path(path)
    suite = detect_suite(path)
    rf = round_func or DEFAULT_ROUND[suite]
    reader = read_li_lim if suite == "lilim" else read_solomon
    return Instance(path.stem, suite, rf, reader(path, rf, penalty=penalty))


def family(name: str) -> str:
    """Family of an instance name: C101 → C1, lrc205 → LRC2, rc1_2_1 → RC1."""
    m = re.match(r"^([a-zA-Z]+)(\d)", name)
    return m.group(0).upper() if m else name.upper()


# ---------------------------------------------------------------- solutions


@dataclass(frozen=True, slots=True)
class Solution:
    """Routes as customer numbers, and the cost the file states (if any)."""

    routes: tuple[tuple[int, ...], ...]
    cost: float | None = None


Routes = RoutingResult | Iterable[Sequence[int]]


def _route_lists(routes: Routes) -> list[tuple[int | None, tuple[int, ...]]]:
    """(vehicle or None, visit nodes) for every non-empty route."""
    if isinstance(routes, RoutingResult):
        return [(r.vehicle, tuple(v.node for v in r.visits)) for r in routes.routes if r.visits]
    return [(None, tuple(r)) for r in routes if len(r)]


def route_distance(problem: RoutingProblem, route: Sequence[int], vehicle: int = 0) -> int:
    """Integer distance of one route from the vehicle's start to its end."""
    veh = problem.vehicles[vehicle]
    path = [veh.start, *route, veh.end]
    return sum(problem.distance_m(a, b) for a, b in zip(path, path[1:], strict=False))


def cost_in_convention(problem: RoutingProblem, routes: Routes, round_func: str = "dimacs") -> float:
    """Total distance of ``routes`` in the instance's unit (integers ÷ scale).

    ``routes`` is a :class:`RoutingResult` or lists of node numbers; plain
    lists use vehicle 0's terminals (all vehicles share the depot here).
    """
    total = sum(route_distance(problem, r, v or 0) for v, r in _route_lists(routes))
    return total / scale_of(round_func)


def format_cost(cost: float, round_func: str) -> str:
    """A cost with as many decimals as the convention has (827.3, 828.937)."""
    decimals = round(math.log10(scale_of(round_func)))
    return f"{cost:.{decimals}f}"


def write_sol(result: Routes, problem: RoutingProblem, path: str | Path, round_func: str = "dimacs") -> None:
    """Write routes in the CVRPLIB layout: ``Route #k: ...`` lines, then ``Cost``."""
    lines = [
        f"Route #{k}: {' '.join(str(n) for n in route)}"
        for k, (_, route) in enumerate(_route_lists(result), start=1)
    ]
    cost = cost_in_convention(problem, result, round_func)
    lines.append(f"Cost {format_cost(cost, round_func)}")
    Path(path).write_text("\n".join(lines) + "\n")


def read_sol(path: str | Path) -> Solution:
    """Read a CVRPLIB-style solution file (other lines are ignored)."""
    routes: list[tuple[int, ...]] = []
    cost: float | None = None
    for ln in Path(path).read_text().splitlines():
        s = ln.strip()
        if s.lower().startswith("route"):
            _, _, rest = s.partition(":")
            routes.append(tuple(int(t) for t in rest.split()))
        elif s.lower().startswith("cost"):
            cost = float(s.split()[1])
    return Solution(tuple(routes), cost)


# ---------------------------------------------------------------- BKS


@dataclass(frozen=True, slots=True)
class Bks:
    """One row of ``bks.csv``: a best-known solution in one convention."""

    instance: str
    suite: str
    objective: str
    vehicles: int | None
    distance: float
    source: str = ""


def read_bks(path: str | Path) -> dict[str, dict[str, Bks]]:
    """Read ``bks.csv``: lower-case instance name → objective → :class:`Bks`.

    Objectives are ``"distance"`` (the convention of the suite) and
    ``"hierarchical"`` (vehicles first, then distance).
    """
    out: dict[str, dict[str, Bks]] = {}
    with open(path, newline="") as fh:
        for row in csv.DictReader(fh):
            veh = row["vehicles"].strip()
            bks = Bks(
                instance=row["instance"],
                suite=row["set"],
                objective=row["objective"],
                vehicles=int(veh) if veh else None,
                distance=float(row["distance"]),
                source=row.get("source", ""),
            )
            out.setdefault(bks.instance.lower(), {})[bks.objective] = bks
    return out


def gap_pct(cost: float, bks: float) -> float:
    """Percentage above the best-known value: ``100·(cost − bks)/bks``."""
    if bks <= 0:
        raise ValueError("bks must be > 0.")
    return 100.0 * (cost - bks) / bks
