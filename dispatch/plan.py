"""Routing result → v1 plan: stops with times, loads, breaks, summaries and KPIs.

The only place seconds turn back into ISO 8601 times.
"""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from typing import Any

from onestop.routing import RoutingResult, VehicleRoute

from .expand import CUSTOMER_STOPS, Expansion
from .model import DispatchProblem, Job, effective_windows, load_change, user_amount
from .reasons import NOT_SCHEDULED, Unassigned

PLAN_VERSION = "1"


class _RouteBuilder:
    """Lays one vehicle's visits and breaks out as stops, in time order."""

    def __init__(
        self, exp: Expansion, problem: DispatchProblem, route: VehicleRoute, jobs: dict[str, Job]
    ) -> None:
        self.jobs = jobs
        self.exp = exp
        self.dp = problem
        self.route = route
        self.rp = exp.problem
        self.vehicle = self.rp.vehicles[route.vehicle]
        self.resource = exp.resources[route.vehicle]
        self.dims = [d for d in exp.dimensions if d in self.resource.capacity]
        self.load = dict.fromkeys(exp.dimensions, Decimal(0))
        self.stops: list[dict[str, Any]] = []

    def leg(self, a_node: int, b_node: int) -> tuple[int, int]:
        return self.rp.travel_s(a_node, b_node), self.rp.distance_m(a_node, b_node)

    def stop(
        self,
        type_: str,
        job: str | None,
        location,
        arrival: int,
        start: int,
        end: int,
        travel: int,
        dist: int,
        depot: str | None = None,
        **extra: Any,
    ) -> None:
        tb = self.dp.timebase
        s: dict[str, Any] = {
            "type": type_,
            "job": job,
            "location": [location[0], location[1]],
            "arrival": tb.iso(arrival),
            "start": tb.iso(start),
            "end": tb.iso(end),
            "travel_s": int(travel),
            "distance_m": int(dist),
            "load": {d: user_amount(self.load[d]) for d in self.dims},
        }
        if depot is not None:
            s["depot"] = depot
        s.update(extra)
        s["_t"] = (arrival, start, end)
        self.stops.append(s)

    def place_gap(
        self,
        prev_node: int,
        prev_end: int,
        next_node: int,
        next_start: int,
        breaks: list[tuple[int, int, int]],
    ) -> tuple[int, int, int]:
        """Put breaks between two stops; returns (arrival, travel, distance) at the next."""
        travel, dist = self.leg(prev_node, next_node)
        cur, at_prev = prev_end, True
        prev_loc = self.exp.tasks[prev_node].location
        next_loc = self.exp.tasks[next_node].location
        for index, b_start, b_dur in sorted(breaks, key=lambda x: x[1]):
            if at_prev and b_start >= cur and b_start + b_dur + travel <= next_start:
                self.stop("break", None, prev_loc, cur, b_start, b_start + b_dur, 0, 0, break_index=index)
                cur = b_start + b_dur
                continue
            leg_t, leg_d = (travel, dist) if at_prev else (0, 0)
            arrive = cur + leg_t
            at_prev = False
            start = max(b_start, arrive)
            self.stop("break", None, next_loc, arrive, start, start + b_dur, leg_t, leg_d, break_index=index)
            cur = start + b_dur
        if at_prev:
            return cur + travel, travel, dist
        return cur, 0, 0

    def build(self) -> dict[str, Any]:
        r, v, exp = self.route, self.vehicle, self.exp
        tasks = exp.tasks
        visits = list(r.visits)
        # which gap each break falls into: gap g lies before visit g (g == len: before the end)
        ends = [r.start_s] + [vs.start_s + self.rp.nodes[vs.node].service_s for vs in visits]
        starts = [vs.start_s for vs in visits] + [r.end_s]
        # a break before the route starts is taken at the start place before leaving,
        # one after it ends at the end place before the day is over
        first_break = min((bt.start_s for bt in r.breaks), default=r.start_s)
        ends[0] = min(r.start_s, first_break)
        end_s = max([r.end_s] + [bt.start_s + v.breaks[bt.index].duration_s for bt in r.breaks])
        starts[-1] = end_s
        gaps: dict[int, list[tuple[int, int, int]]] = {}
        for bt in r.breaks:
            dur = v.breaks[bt.index].duration_s
            g = next(
                (g for g in range(len(starts)) if ends[g] <= bt.start_s and bt.start_s + dur <= starts[g]),
                None,
            )
            if g is None:  # never expected; keep the break where its start falls
                g = next((g for g in range(len(starts)) if bt.start_s <= starts[g]), len(starts) - 1)
            gaps.setdefault(g, []).append((bt.index, bt.start_s, dur))

        depart = ends[0]
        if visits and not gaps.get(0):
            # leave as late as the first stop allows: no waiting on the doorstep
            depart = max(r.start_s, visits[0].start_s - self.rp.travel_s(v.start, visits[0].node))
        self.stop(
            "start", None, tasks[v.start].location, depart, depart, depart, 0, 0, depot=tasks[v.start].depot
        )
        prev_node, prev_end = v.start, depart
        for g, vs in enumerate(visits):
            node = self.rp.nodes[vs.node]
            task = tasks[vs.node]
            arrival, travel, dist = self.place_gap(prev_node, prev_end, vs.node, vs.start_s, gaps.get(g, []))
            # loads in the user's own units, exactly (the solver's are thousandths, rounded)
            job = self.jobs.get(task.job) if task.job else None
            if job is not None:
                kind = "deliver" if task.stop == "deliver+install" else task.stop
                for d, amount in load_change(kind, job).items():
                    self.load[d] = self.load.get(d, Decimal(0)) + amount
            end = vs.start_s + node.service_s
            if task.stop == "deliver+install":
                split = vs.start_s + (job.handover_s if job else 0)
                self.stop(
                    "deliver", task.job, task.location, arrival, vs.start_s, split, travel, dist, crew="alone"
                )
                self.stop("install", task.job, task.location, split, split, end, 0, 0, crew="alone")
            else:
                self.stop(
                    task.stop,
                    task.job,
                    task.location,
                    arrival,
                    vs.start_s,
                    end,
                    travel,
                    dist,
                    depot=task.depot,
                )
            prev_node, prev_end = vs.node, end
        arrival, travel, dist = self.place_gap(prev_node, prev_end, v.end, end_s, gaps.get(len(visits), []))
        self.stop(
            "end",
            None,
            tasks[v.end].location,
            arrival,
            arrival,
            arrival,
            travel,
            dist,
            depot=tasks[v.end].depot,
        )
        return self.summarise()

    def summarise(self) -> dict[str, Any]:
        travel = sum(s["travel_s"] for s in self.stops)
        dist = sum(s["distance_m"] for s in self.stops)
        brk = sum(s["_t"][2] - s["_t"][1] for s in self.stops if s["type"] == "break")
        service = sum(
            s["_t"][2] - s["_t"][1] for s in self.stops if s["type"] not in ("break", "start", "end")
        )
        wait = sum(s["_t"][1] - s["_t"][0] for s in self.stops)
        first, last = self.stops[0]["_t"][1], self.stops[-1]["_t"][0]
        jobs = sorted({s["job"] for s in self.stops if s["type"] in CUSTOMER_STOPS and s["job"]})
        shift = self.resource.shift
        for s in self.stops:
            del s["_t"]
        busy = travel + service
        return {
            "resource": self.resource.id,
            "resource_kind": self.resource.kind,
            "stops": self.stops,
            "summary": {
                "jobs": len(jobs),
                "start": self.dp.timebase.iso(first),
                "end": self.dp.timebase.iso(last),
                "duration_s": last - first,
                "travel_s": travel,
                "distance_m": dist,
                "service_s": service,
                "wait_s": wait,
                "break_s": brk,
                "utilisation": round(busy / max(1, shift[1] - shift[0]), 4),
            },
        }


def build_plan(
    problem: DispatchProblem,
    exp: Expansion,
    result: RoutingResult,
    *,
    computing_times: dict[str, float] | None = None,
    settings: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The v1 plan for a day (a JSON-ready dict)."""
    jobs = {j.id: j for j in problem.jobs}
    routes = [
        _RouteBuilder(exp, problem, r, jobs).build() for r in sorted(result.routes, key=lambda r: r.vehicle)
    ]
    planned: set[str] = {
        s["job"] for r in routes for s in r["stops"] if s["job"] and s["type"] in CUSTOMER_STOPS
    }
    unassigned = list(exp.unassigned)
    left_out = [j for j in exp.planned_jobs if j not in planned]
    if left_out:
        cut = {exp.tasks[i].job for i in result.timed_out}
        why = _left_out_details(problem, exp, set(left_out), cut)
        unassigned += [Unassigned(j, NOT_SCHEDULED, why[j]) for j in left_out]
    order = {j.id: i for i, j in enumerate(problem.jobs)}
    unassigned.sort(key=lambda u: order.get(u.job, 0))
    kpis = _kpis(problem, exp, routes, unassigned)
    total = {
        "jobs": len(problem.jobs),
        "planned": len(planned),
        "unassigned": len(unassigned),
        "resources_used": len(routes),
        "travel_s": sum(r["summary"]["travel_s"] for r in routes),
        "distance_m": sum(r["summary"]["distance_m"] for r in routes),
        "service_s": sum(r["summary"]["service_s"] for r in routes),
        "wait_s": sum(r["summary"]["wait_s"] for r in routes),
        "break_s": sum(r["summary"]["break_s"] for r in routes),
        "objective": problem.options.objective,
        "cost": _cost(problem, exp, routes),
        "computing_times": computing_times or {},
    }
    return {
        "version": PLAN_VERSION,
        "status": "complete" if not unassigned else "partial",
        "date": problem.timebase.day.isoformat(),
        "timezone": problem.timebase.zone.key,
        "travel": exp.matrices.settings or {"provider": exp.matrices.provider},
        "settings": settings or {},
        "routes": routes,
        "unassigned": [u.to_json() for u in unassigned],
        "summary": total,
        "kpis": kpis,
    } | ({"warnings": list(exp.warnings)} if exp.warnings else {})


def _left_out_details(
    problem: DispatchProblem,
    exp: Expansion,
    jobs: set[str],
    timed_out: set[str] | frozenset[str] = frozenset(),
) -> dict[str, str]:
    """Why a job possible on its own is not planned: who could do it, and when; or, for
    a job the solver never finished trying (``timed_out``), that the time limit cut it."""
    who: dict[str, set[int]] = {j: set() for j in jobs}
    all_vehicles = set(range(len(exp.resources)))
    for node, task in zip(exp.problem.nodes, exp.tasks, strict=True):
        if task.job in who and task.stop in CUSTOMER_STOPS | {"deliver+install"}:
            allowed = node.allowed_vehicles
            who[task.job] |= set(allowed) if allowed is not None else all_vehicles
    by_id = {j.id: j for j in problem.jobs}
    tb = problem.timebase
    out = {}
    for job_id, vehicles in who.items():
        # technicians first: where a job needs one, they are the scarce half
        groups = []
        for kind in ("technician", "courier"):
            ids = sorted(exp.resources[v].id for v in vehicles if exp.resources[v].kind == kind)
            if ids:
                names = ", ".join(ids) if len(ids) <= 4 else ", ".join(ids[:3]) + f" and {len(ids) - 3} more"
                groups.append(f"{len(ids)} capable {kind}{'s' if len(ids) != 1 else ''} ({names})")
        windows = effective_windows(by_id[job_id], 10**9)
        when = ", ".join(f"{tb.iso(a)[11:16]}–{tb.iso(b)[11:16]}" for a, b in windows if b < 10**9)
        when = f" in {when}" if when else ""
        if job_id in timed_out:
            out[job_id] = (
                f"possible on its own, but the time limit ran out before the solver could place it "
                f"(its {' and '.join(groups)} were not all tried); give a longer time_limit_s"
            )
            continue
        out[job_id] = (
            f"possible on its own, but its {' and '.join(groups)} "
            f"had no room for it{when} alongside the rest of the day"
        )
    return out


def _cost(problem: DispatchProblem, exp: Expansion, routes: list[dict[str, Any]]) -> float:
    """The objective the plan minimises, in the request's units (seconds or metres + costs)."""
    by_id = {r.id: r for r in exp.resources}
    total = 0.0
    for route in routes:
        s = route["summary"]
        res = by_id[route["resource"]]
        base = s["travel_s"] if problem.options.objective == "time" else s["distance_m"]
        total += base + res.cost.fixed + res.cost.per_km * s["distance_m"] / 1000
        total += res.cost.per_hour * s["duration_s"] / 3600
    return round(total, 3)


def _kpis(
    problem: DispatchProblem, exp: Expansion, routes: list[dict[str, Any]], unassigned: list[Unassigned]
) -> dict[str, Any]:
    kinds = {j.id: j.kind for j in problem.jobs}
    planned = sorted(
        {s["job"] for r in routes for s in r["stops"] if s["job"] and s["type"] in CUSTOMER_STOPS}
    )
    by_kind = Counter(kinds[j] for j in planned)
    prechecked = {u.job for u in exp.unassigned}
    feasible = len(problem.jobs) - len(prechecked)
    on_time = _on_time_share(problem, routes)
    shift_s = sum(r.shift[1] - r.shift[0] for r in exp.resources if r.id in {x["resource"] for x in routes})
    busy = sum(r["summary"]["travel_s"] + r["summary"]["service_s"] for r in routes)
    return {
        "jobs_total": len(problem.jobs),
        "jobs_planned": len(planned),
        "jobs_unassigned": len(unassigned),
        "planned_by_kind": dict(sorted(by_kind.items())),
        "unassigned_by_reason": dict(sorted(Counter(u.reason for u in unassigned).items())),
        "feasible_jobs": feasible,
        "feasible_planned_share": round(len(planned) / feasible, 4) if feasible else 1.0,
        "urgent_planned": sum(1 for j in problem.jobs if j.priority == "urgent" and j.id in set(planned)),
        "urgent_total": sum(1 for j in problem.jobs if j.priority == "urgent"),
        "on_time_share": on_time,
        "travel_s": sum(r["summary"]["travel_s"] for r in routes),
        "distance_m": sum(r["summary"]["distance_m"] for r in routes),
        "resources_used": len(routes),
        "resources_total": len(problem.resources),
        "utilisation": round(busy / shift_s, 4) if shift_s else 0.0,
    }


def _on_time_share(problem: DispatchProblem, routes: list[dict[str, Any]]) -> float:
    """Share of customer stops that start inside one of their job's windows (DESIGN.md)."""
    from datetime import datetime

    jobs = {j.id: j for j in problem.jobs}
    tb = problem.timebase
    total = ok = 0
    for r in routes:
        for s in r["stops"]:
            if s["type"] not in CUSTOMER_STOPS or not s["job"]:
                continue
            total += 1
            a = tb.seconds_of(datetime.fromisoformat(s["start"]))
            wins = effective_windows(jobs[s["job"]], 10**9)
            ok += any(lo <= a <= hi for lo, hi in wins)
    return round(ok / total, 4) if total else 1.0
