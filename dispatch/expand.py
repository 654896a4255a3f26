"""Jobs → routing tasks: the only place that knows what each job kind's stops are.

Every job becomes one or more routing nodes (load at a warehouse, swap at the
customer, unload at a service centre, ...), tied together by pickup–delivery
pairs, all-or-nothing groups with alternatives (a delivery_installation done by
one crew, or by a courier then a technician), precedences and allowed vehicles.
Jobs impossible on their own are answered before routing, with a reason.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from onestop.geodata import Matrices
from onestop.routing import Break, Group, Node, Precedence, RoutingProblem, Vehicle

from .model import (
    COURIER_KINDS,
    TECHNICIAN_KINDS,
    DispatchProblem,
    Job,
    Resource,
    can_deliver_half,
    can_do_alone,
    can_install_half,
    effective_windows,
    fits,
    needs_rounding,
    solver_units,
)
from .reasons import (
    INVALID_REFERENCE,
    NO_CAPABLE_RESOURCE,
    NOT_SCHEDULED,
    OUTSIDE_SERVICE_AREA,
    OVER_CAPACITY,
    SHIFT_TOO_SHORT,
    WINDOW_UNREACHABLE,
    Unassigned,
)

Point = tuple[float, float]
#: Objective units are scaled to integers by this factor (seconds or metres × 1000).
COST_SCALE = 1000

#: Stop types a node may carry (DESIGN.md plan format).
CUSTOMER_STOPS = frozenset({"deliver", "install", "swap", "collect", "visit"})


@dataclass(frozen=True, slots=True)
class Task:
    """What a routing node means to a dispatcher.

    ``stop`` is the plan's stop type; for a one-crew delivery_installation it
    is ``"deliver+install"`` and the plan shows it as two back-to-back stops.
    """

    job: str | None
    stop: str
    location: Point
    depot: str | None = None
    option: str = ""


@dataclass(frozen=True, slots=True)
class Expansion:
    """A routing problem with the map back to jobs and resources."""

    problem: RoutingProblem
    tasks: tuple[Task, ...]
    resources: tuple[Resource, ...]
    points: tuple[Point, ...]
    unassigned: tuple[Unassigned, ...]
    planned_jobs: tuple[str, ...]
    dimensions: tuple[str, ...]
    matrices: Matrices
    #: What the user should know about how the request was read (amounts rounded, ...).
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class _Option:
    """One way to do a job: its stops, in order, with who may do each."""

    name: str
    stops: tuple[tuple[str, Point, str | None, int, tuple[int, ...], bool], ...]
    # (stop type, place, depot id, service seconds, demand, is a job stop)
    vehicles: tuple[frozenset[int], ...]


def _nearest(depots: list, point: Point) -> object | None:
    if not depots:
        return None
    return min(depots, key=lambda d: (d.location[0] - point[0]) ** 2 + (d.location[1] - point[1]) ** 2)


class _Expander:
    def __init__(self, problem: DispatchProblem, matrices_for, zone_set=None) -> None:
        self.p = problem
        self.zone_set = zone_set
        self.job_zones: dict[str, tuple[str, ...]] = {}
        self.matrices_for = matrices_for
        self.dims = problem.dimensions
        self.unassigned: list[Unassigned] = []
        self.horizon = max(
            [86_400 * 2]
            + [r.shift[1] + 3600 for r in problem.resources]
            + [w[1] + 3600 for j in problem.jobs for w in j.windows]
        )

    def demand(self, items: Mapping[str, float], sign: int = 1) -> tuple[int, ...]:
        return tuple(sign * solver_units(items.get(d, 0)) for d in self.dims)

    def net(self, add: Mapping[str, float], remove: Mapping[str, float]) -> tuple[int, ...]:
        return tuple(solver_units(add.get(d, 0)) - solver_units(remove.get(d, 0)) for d in self.dims)

    def rounding_warnings(self) -> list[str]:
        """Amounts with more than three decimals: the solver counts them in thousandths."""
        out = []
        for i, r in enumerate(x for x in self.p.resources if x.kind == "courier"):
            for d, a in sorted(r.capacity.items()):
                if needs_rounding(a):
                    out.append(
                        f"couriers[{i}].capacity.{d}: {a} has more than 3 decimals; "
                        f"planned as {solver_units(a, capacity=True) / 1000:g} (rounded down)"
                    )
        for i, j in enumerate(self.p.jobs):
            for field, amounts in (("items", j.items), ("returned_items", j.returned_items)):
                for d, a in sorted(amounts.items()):
                    if needs_rounding(a):
                        out.append(
                            f"jobs[{i}].{field}.{d}: {a} has more than 3 decimals; "
                            f"planned as {solver_units(a) / 1000:g} (rounded up)"
                        )
        return out

    def depot_for(self, job: Job, role: str) -> tuple[object | None, str | None]:
        """The depot to load at (``from``) or unload at (``to``), or why there is none."""
        p = self.p
        wanted = {"from": ("warehouse",), "to": ("service_center", "recycling")}[role]
        given = job.from_depot if role == "from" else job.to_depot
        if given is not None:
            d = p.depot(given)
            if d is None:
                return None, f"`{role}` names unknown depot {given!r}"
            if d.kind not in wanted:
                return None, f"`{role}` depot {given!r} is a {d.kind}, not a {' or '.join(wanted)}"
            return d, None
        if role == "from":
            choices = [d for d in p.depots if d.kind == "warehouse"]
        elif job.kind == "haul_away":
            choices = [d for d in p.depots if d.kind == "recycling"] or [
                d for d in p.depots if d.kind == "service_center"
            ]
        else:
            choices = [d for d in p.depots if d.kind == "service_center"]
        d = _nearest(choices, job.location)
        if d is None:
            kinds = "warehouse" if role == "from" else "service centre or recycling centre"
            return None, f"no `{role}` given and the request has no {kinds}"
        return d, None

    def options(self, job: Job) -> tuple[list[_Option], Unassigned | None]:
        """Ways to do the job, or the reason it cannot be done at all."""
        res = self.p.resources
        w = job.windows
        del w
        if job.kind in TECHNICIAN_KINDS:
            vis = frozenset(i for i, r in self.candidates(job) if can_do_alone(r, job))
            stop = "install" if job.kind == "installation" else "visit"
            if not vis:
                return [], self.no_capable(job)
            return [_Option("alone", ((stop, job.location, None, job.duration_s, (), True),), (vis,))], None
        need_from = job.kind in ("delivery", "delivery_installation", "exchange")
        need_to = job.kind in ("haul_away", "pickup", "exchange")
        src = dst = None
        if need_from:
            src, why = self.depot_for(job, "from")
            if why:
                return [], Unassigned(job.id, INVALID_REFERENCE, why)
        if need_to:
            dst, why = self.depot_for(job, "to")
            if why:
                return [], Unassigned(job.id, INVALID_REFERENCE, why)
        carried = job.items
        if job.kind == "delivery":
            stops = (
                ("load", src.location, src.id, src.service_s, self.demand(carried), False),
                ("deliver", job.location, None, job.duration_s, self.demand(carried, -1), True),
            )
        elif job.kind in ("haul_away", "pickup"):
            stops = (
                ("collect", job.location, None, job.duration_s, self.demand(carried), True),
                ("unload", dst.location, dst.id, dst.service_s, self.demand(carried, -1), False),
            )
        elif job.kind == "exchange":
            ret = job.returned_items
            stops = (
                ("load", src.location, src.id, src.service_s, self.demand(carried), False),
                ("swap", job.location, None, job.duration_s, self.net(ret, carried), True),
                ("unload", dst.location, dst.id, dst.service_s, self.demand(ret, -1), False),
            )
        else:  # delivery_installation
            stops = ()
        out: list[_Option] = []
        if job.kind in COURIER_KINDS:
            capable = [i for i, r in self.candidates(job) if can_do_alone(r, job)]
            if not capable:
                return [], self.no_capable(job)
            big = max(carried.values(), default=0) or max(job.returned_items.values(), default=0)
            vis = frozenset(
                i
                for i in capable
                if fits(res[i].capacity, carried) and fits(res[i].capacity, job.returned_items)
            )
            if not vis:
                del big
                return [], Unassigned(job.id, OVER_CAPACITY, self.capacity_detail(job))
            out.append(_Option("alone", stops, tuple(vis for _ in stops)))
            return out, None
        # delivery_installation
        load = ("load", src.location, src.id, src.service_s, self.demand(carried), False)
        crews = frozenset(i for i, r in self.candidates(job) if can_do_alone(r, job))
        couriers = frozenset(i for i, r in self.candidates(job) if can_deliver_half(r, job))
        techs = frozenset(i for i, r in self.candidates(job) if can_install_half(r, job))
        if not crews and not (couriers and techs):
            return [], self.no_capable(job)
        crews_fit = frozenset(i for i in crews if fits(res[i].capacity, carried))
        couriers_fit = frozenset(i for i in couriers if fits(res[i].capacity, carried))
        if crews_fit:
            combined = (
                "deliver+install",
                job.location,
                None,
                job.handover_s + job.duration_s,
                self.demand(carried, -1),
                True,
            )
            out.append(_Option("alone", (load, combined), (crews_fit, crews_fit)))
        if couriers_fit and techs:
            deliver = ("deliver", job.location, None, job.handover_s, self.demand(carried, -1), True)
            install = ("install", job.location, None, job.duration_s, (), True)
            out.append(_Option("split", (load, deliver, install), (couriers_fit, couriers_fit, techs)))
        if not out:
            return [], Unassigned(job.id, OVER_CAPACITY, self.capacity_detail(job))
        return out, None

    def candidates(self, job: Job) -> list[tuple[int, Resource]]:
        """Resources whose zones cover the job (all of them when no zones are set)."""
        zones = self.job_zones.get(job.id)
        if zones is None:
            return list(enumerate(self.p.resources))
        return [
            (i, r) for i, r in enumerate(self.p.resources) if r.zones is None or set(r.zones) & set(zones)
        ]

    def no_capable(self, job: Job) -> Unassigned:
        who = "technician" if job.kind in TECHNICIAN_KINDS else "courier"
        if job.kind == "delivery_installation":
            who = "courier crew, or courier and technician,"
        needs = []
        if job.brand:
            needs.append(f"brand {job.brand}")
        if job.skills:
            needs.append("skills " + ", ".join(sorted(job.skills)))
        need = " with " + " and ".join(needs) if needs else ""
        zones = self.job_zones.get(job.id)
        where = f" covering zone {', '.join(zones)}" if zones else ""
        return Unassigned(job.id, NO_CAPABLE_RESOURCE, f"no {who}{need}{where}")

    def capacity_detail(self, job: Job) -> str:
        parts = [f"{d} {a}" for d, a in sorted({**job.items, **job.returned_items}.items())]
        return f"items ({', '.join(parts)}) exceed every capable vehicle's capacity"

    def build(self) -> Expansion:
        p = self.p
        res = p.resources
        job_options: dict[str, list[_Option]] = {}
        by_id = {j.id: j for j in p.jobs}
        # 0. service zones: a job outside every zone is not ours to serve
        self.job_zones = {}
        outside: set[str] = set()
        if self.zone_set is not None:
            found = self.zone_set.zones_of([j.location for j in p.jobs])
            for job, zs in zip(p.jobs, found, strict=True):
                self.job_zones[job.id] = tuple(zs)
                if not zs:
                    outside.add(job.id)
                    self.unassigned.append(
                        Unassigned(job.id, OUTSIDE_SERVICE_AREA, "its location is in no service zone")
                    )
        # 1. options per job, or a reason
        for job in p.jobs:
            if job.id in outside:
                continue
            if job.after is not None and job.after not in by_id:
                self.unassigned.append(
                    Unassigned(job.id, INVALID_REFERENCE, f"`after` names unknown job {job.after!r}")
                )
                continue
            opts, why = self.options(job)
            if why is not None:
                self.unassigned.append(why)
                continue
            # A job in an `after` link keeps one option, so the link has one meaning.
            linked = job.after is not None or any(o.after == job.id for o in p.jobs)
            if linked and len(opts) > 1:
                opts = [o for o in opts if o.name == "split"] or opts[:1]
            job_options[job.id] = opts

        # 2. places and matrices
        points: list[Point] = []
        index: dict[Point, int] = {}

        def loc(pt: Point) -> int:
            key = (float(pt[0]), float(pt[1]))
            if key not in index:
                index[key] = len(points)
                points.append(key)
            return index[key]

        for r in res:
            loc(r.start)
            loc(r.end)
        for j in p.jobs:
            for o in job_options.get(j.id, []):
                for s in o.stops:
                    loc(s[1])
        matrices = self.matrices_for(points)
        dur, dist = matrices.durations_s, matrices.distances_m

        # 3. time feasibility on its own: shift length, windows reachable
        for job in p.jobs:
            opts = job_options.get(job.id)
            if not opts:
                continue
            keep = []
            reasons: list[tuple[str, str]] = []
            for o in opts:
                ok, why = self.option_reachable(job, o, loc, dur)
                if ok:
                    keep.append(o)
                else:
                    reasons.append(why)
            if keep:
                job_options[job.id] = keep
            else:
                del job_options[job.id]
                code, detail = min(reasons, key=lambda r: r[0] != SHIFT_TOO_SHORT)
                self.unassigned.append(Unassigned(job.id, code, detail))

        # 4. `after` chains: a job whose predecessor cannot be planned waits too
        changed = True
        while changed:
            changed = False
            for job in p.jobs:
                if job.id in job_options and job.after is not None and job.after not in job_options:
                    del job_options[job.id]
                    self.unassigned.append(
                        Unassigned(
                            job.id,
                            NOT_SCHEDULED,
                            f"must come after job {job.after!r}, which cannot be planned",
                        )
                    )
                    changed = True

        # 5. nodes: terminals first, then each job's stops
        nodes: list[Node] = []
        tasks: list[Task] = []
        vehicles: list[Vehicle] = []
        base = self.penalty_base(dur, dist)
        for vi, r in enumerate(res):
            s_node = len(nodes)
            nodes.append(Node(loc(r.start)))
            tasks.append(Task(None, "start", r.start, r.start_depot))
            e_node = len(nodes)
            nodes.append(Node(loc(r.end)))
            tasks.append(Task(None, "end", r.end, r.end_depot))
            vehicles.append(self.vehicle(r, s_node, e_node))
            del vi
        pairs: list[tuple[int, int]] = []
        groups: list[Group] = []
        precedences: list[Precedence] = []
        job_nodes: dict[str, dict[str, list[int]]] = {}
        for job in p.jobs:
            opts = job_options.get(job.id)
            if not opts:
                continue
            penalty = base * job.weight
            windows = effective_windows(job, self.horizon)
            option_nodes: list[tuple[int, ...]] = []
            per_option: dict[str, list[int]] = {}
            for o in opts:
                ids = []
                for (stop, place, depot, service, demand, is_job), allowed in zip(
                    o.stops, o.vehicles, strict=True
                ):
                    if stop in CUSTOMER_STOPS or stop == "deliver+install":
                        # A window bounds the start of the work (DESIGN.md); a one-crew
                        # delivery_installation's install starts handover_s later, in it too.
                        late = job.handover_s if stop == "deliver+install" else 0
                        win = tuple((a, b - late) for a, b in windows if b - late >= a)
                    else:
                        win = ()
                    ids.append(len(nodes))
                    nodes.append(
                        Node(
                            loc(place),
                            win,
                            service,
                            demand if self.dims else (),
                            allowed,
                            None,
                            is_job,
                        )
                    )
                    tasks.append(Task(job.id, stop, place, depot, o.name))
                # pairs: consecutive stops served by the same vehicle set
                if o.name == "split":
                    pairs.append((ids[0], ids[1]))
                    precedences.append(Precedence(ids[1], ids[2]))
                else:
                    for a, b in zip(ids, ids[1:], strict=False):
                        pairs.append((a, b))
                option_nodes.append(tuple(ids))
                per_option[o.name] = ids
            job_nodes[job.id] = per_option
            if len(option_nodes) == 1 and len(option_nodes[0]) == 1:
                n0 = option_nodes[0][0]
                nodes[n0] = Node(
                    nodes[n0].location,
                    nodes[n0].windows,
                    nodes[n0].service_s,
                    nodes[n0].demand,
                    nodes[n0].allowed_vehicles,
                    penalty,
                    nodes[n0].counts_as_stop,
                )
            else:
                groups.append(Group(option_nodes[0], penalty, tuple(option_nodes[1:])))
        # `after` links: the predecessor's customer stop ends before ours starts
        for job in p.jobs:
            if job.after is None or job.id not in job_nodes or job.after not in job_nodes:
                continue
            before = self.customer_node(job_nodes[job.after], tasks, last=True)
            after = self.customer_node(job_nodes[job.id], tasks, last=False)
            precedences.append(Precedence(before, after))

        problem = RoutingProblem(
            durations=dur,
            distances=dist,
            nodes=tuple(nodes),
            vehicles=tuple(vehicles),
            pairs=tuple(pairs),
            groups=tuple(groups),
            precedences=tuple(precedences),
            dimensions=self.dims,
            horizon_s=self.horizon,
        )
        return Expansion(
            problem,
            tuple(tasks),
            res,
            tuple(points),
            tuple(self.unassigned),
            tuple(job_nodes),
            self.dims,
            matrices,
            tuple(self.rounding_warnings()),
        )

    @staticmethod
    def customer_node(per_option: dict[str, list[int]], tasks: list[Task], *, last: bool) -> int:
        ids = next(iter(per_option.values()))
        customer = [i for i in ids if tasks[i].stop in CUSTOMER_STOPS or tasks[i].stop == "deliver+install"]
        return customer[-1] if last else customer[0]

    def vehicle(self, r: Resource, s_node: int, e_node: int) -> Vehicle:
        objective = self.p.options.objective
        per_s = COST_SCALE if objective == "time" else 0
        per_m = COST_SCALE if objective == "distance" else 0
        per_m += _scaled(r.cost.per_km, COST_SCALE / 1000)
        span = _scaled(r.cost.per_hour, COST_SCALE / 3600)
        return Vehicle(
            start=s_node,
            end=e_node,
            shift=r.shift,
            capacity=tuple(solver_units(r.capacity.get(d, 0), capacity=True) for d in self.dims),
            breaks=tuple(Break(b.window[0], b.window[1], b.duration_s) for b in r.breaks),
            max_stops=r.max_jobs,
            fixed_cost=_scaled(r.cost.fixed, COST_SCALE),
            cost_per_travel_s=per_s,
            cost_per_m=per_m,
            cost_per_span_s=span,
        )

    def penalty_base(self, dur: np.ndarray, dist: np.ndarray) -> int:
        """Leaving a standard job out must cost more than serving any one job."""
        worst = 0
        for r in self.p.resources:
            v = self.vehicle(r, 0, 0)
            length = r.shift[1] - r.shift[0]
            day = v.fixed_cost + (v.cost_per_travel_s + v.cost_per_span_s) * length
            day += v.cost_per_m * length * 60  # no road vehicle covers 60 m/s
            worst = max(worst, day)
        return max(10**9, 4 * worst)

    def option_reachable(self, job: Job, o: _Option, loc, dur: np.ndarray) -> tuple[bool, tuple[str, str]]:
        """Can some allowed resource do this option alone in a day, ignoring everyone else?"""
        res = self.p.resources
        windows = effective_windows(job, self.horizon)
        if not windows:
            return False, (WINDOW_UNREACHABLE, "its promise and its windows do not overlap")
        # a one-crew delivery_installation starts the install handover_s after arriving:
        # both starts must lie in one window
        combined = any(s[0] == "deliver+install" for s in o.stops)
        longest = max(b - a for a, b in windows)
        if combined and job.handover_s > longest:
            return False, (
                WINDOW_UNREACHABLE,
                f"its handover takes {_hm(job.handover_s)} but its longest window is {_hm(longest)}",
            )
        # every stop must fit some allowed resource's shift, in order
        for (_stop, _place, _dep, service, _dem, _is_job), allowed in zip(o.stops, o.vehicles, strict=True):
            best_short = True
            for vi in allowed:
                r = res[vi]
                if service <= r.shift[1] - r.shift[0]:
                    best_short = False
                    break
            if best_short:
                return False, (
                    SHIFT_TOO_SHORT,
                    f"needs {_hm(service)} on site, longer than any capable shift",
                )
        # reachability of the customer stops from a shift
        for k, (stop, place, _dep, service, _dem, is_job) in enumerate(o.stops):
            if not is_job:
                continue
            ok = False
            before = o.stops[:k]
            for vi in o.vehicles[k]:
                r = res[vi]
                t = r.shift[0]
                here = loc(r.start)
                for s in before:
                    if o.vehicles[before.index(s)] is o.vehicles[k] or o.name != "split":
                        t += int(dur[here, loc(s[1])]) + s[3]
                        here = loc(s[1])
                arrive = t + int(dur[here, loc(place)])
                if dur[here, loc(place)] < 0:
                    continue
                back = int(dur[loc(place), loc(r.end)])
                if back < 0:
                    continue
                late = job.handover_s if stop == "deliver+install" else 0
                for a, b in windows:
                    begin = max(arrive, a)
                    if begin <= b - late and begin + service + back <= r.shift[1]:
                        ok = True
                        break
                if ok:
                    break
            if not ok:
                return False, (
                    WINDOW_UNREACHABLE,
                    "no capable resource can reach it within its windows and get back within its shift",
                )
        return True, ("", "")


def _scaled(value: float, factor: float) -> int:
    if value <= 0:
        return 0
    return max(1, round(value * factor))


def _hm(seconds: int) -> str:
    h, m = divmod(math.ceil(seconds / 60), 60)
    return f"{h}h{m:02d}" if h else f"{m} min"


def expand(problem: DispatchProblem, matrices_for, zone_set=None) -> Expansion:
    """Build the routing problem for a day.

    ``matrices_for(points)`` returns :class:`Matrices` for a list of [lon, lat];
    ``zone_set`` (a ``geodata.ZoneSet``) limits jobs and resources to zones.
    """
    return _Expander(problem, matrices_for, zone_set).build()
