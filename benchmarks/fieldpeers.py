"""VROOM on OneStop's field days: the same day, the same matrices, modelled as a VROOM user would.

Used by ``python -m benchmarks.fieldday --peers vroom``. The steps, each a function:

1. :func:`cross_route_jobs` names the jobs VROOM cannot model, because their work spans two
   routes: a ``delivery_installation`` that a courier and a technician could share (or that no
   courier can do alone), and any job linked ``after`` another. :func:`reduced_request` drops
   them; VROOM and OneStop (for the like-for-like "both" figures) then solve that request.
2. :func:`solve_vroom` builds a ``vroom.Input`` on the travel matrices of the request's own
   provider (haversine by default, as :mod:`dispatch.expand` gets them): shipments for
   delivery (warehouse → customer), pickup / haul_away (customer → centre), an exchange as two
   shipments (new unit warehouse → customer, old unit customer → service centre), a one-crew
   delivery_installation as one shipment whose delivery step lasts handover + install; single
   jobs for repair / inspection / installation. Brands, skills and "courier" / "technician"
   become integer skills; priorities 100 / 10 / 1; shifts, breaks, capacities, ``max_tasks``.
3. :func:`to_plan` turns VROOM's routes into a v1 plan so the independent validator judges it.
   VROOM cannot tie an exchange's two shipments to one vehicle: an exchange whose two customer
   steps are not back to back on one route is counted as not planned (its steps removed).
   VROOM may take a break in the middle of a drive; a v1 break is at a place, so each break is
   put at the previous or the next place, whichever lets the next stop start sooner, and the
   route is re-timed forward (a stop pushed out of its window is then reported by the validator).

Windows bound the start of the work, in VROOM as in the v1 contract, so VROOM gets each job's
windows as they are (a one-crew delivery_installation's window ends ``handover_s`` earlier: its
install, ``handover_s`` after arriving, must start inside it too).
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import numpy as np

#: VROOM priorities (0..100) per OneStop priority.
PRIORITY = {"urgent": 100, "promise": 10, "standard": 1}
#: Horizon for a job with neither windows nor promise (two days, like the expansion's floor).
HORIZON_S = 2 * 86_400


@dataclass(slots=True)
class VroomDay:
    """What VROOM did on one reduced day, and how its converted plan fared."""

    given: int
    planned: int
    travel_s: int
    distance_m: int
    solve_s: float
    split_exchanges: list[str]
    plan: dict[str, Any]
    violations: list[str] = field(default_factory=list)


# --------------------------------------------------------------- which jobs VROOM gets


def cross_route_jobs(problem: Any) -> list[str]:
    """Jobs whose work may span two routes, which VROOM cannot tie together."""
    from onestop.dispatch.model import can_do_alone, can_install_half

    out = []
    for job in problem.jobs:
        if job.after is not None:
            out.append(job.id)
        elif job.kind == "delivery_installation":
            split = any(can_install_half(r, job) for r in problem.resources)
            crew = any(can_do_alone(r, job) for r in problem.resources)
            if split or not crew:
                out.append(job.id)
    return out


def reduced_request(request: Mapping[str, Any], removed: Sequence[str]) -> dict[str, Any]:
    """The request without ``removed`` jobs (any job that was linked to one keeps no link)."""
    gone = set(removed)
    out = dict(request)
    out["jobs"] = [j for j in request["jobs"] if j["id"] not in gone]
    return out


# --------------------------------------------------------------- building VROOM's input


def _nearest(depots: list[Any], point: tuple[float, float]) -> Any | None:
    """The depot the expansion would pick (nearest in degrees)."""
    if not depots:
        return None
    return min(depots, key=lambda d: (d.location[0] - point[0]) ** 2 + (d.location[1] - point[1]) ** 2)


def _depot(problem: Any, job: Any, role: str) -> Any | None:
    """``from`` (a warehouse) or ``to`` (service centre; recycling for a haul-away) as OneStop picks it."""
    given = job.from_depot if role == "from" else job.to_depot
    if given is not None:
        d = problem.depot(given)
        ok = ("warehouse",) if role == "from" else ("service_center", "recycling")
        return d if d is not None and d.kind in ok else None
    if role == "from":
        return _nearest([d for d in problem.depots if d.kind == "warehouse"], job.location)
    if job.kind == "haul_away":
        rec = [d for d in problem.depots if d.kind == "recycling"]
        return _nearest(rec or [d for d in problem.depots if d.kind == "service_center"], job.location)
    return _nearest([d for d in problem.depots if d.kind == "service_center"], job.location)


@dataclass(slots=True)
class _Step:
    """What one VROOM task id stands for."""

    job: str
    role: str  # load, deliver, collect, unload, visit, install, xload, xin, xout, xunload, cload, cdeliver
    loc: int
    service: int
    windows: tuple[tuple[int, int], ...]
    depot: str | None = None


class _Model:
    """A reduced v1 day as a ``vroom.Input``, with the map back from VROOM ids to stops."""

    def __init__(self, problem: Any, matrices_for: Any) -> None:
        self.p = problem
        points: dict[tuple[float, float], int] = {}

        def at(pt: Sequence[float]) -> int:
            return points.setdefault((float(pt[0]), float(pt[1])), len(points))

        for r in problem.resources:
            at(r.start)
            at(r.end)
        for d in problem.depots:
            at(d.location)
        for j in problem.jobs:
            at(j.location)
        self.at = at
        self.points = list(points)
        m = matrices_for(self.points)
        self.dur = np.asarray(m.durations_s)
        self.dist = np.asarray(m.distances_m)
        self.dims = problem.dimensions
        amounts = [a for j in problem.jobs for a in (*j.items.values(), *j.returned_items.values())]
        amounts += [a for r in problem.resources for a in r.capacity.values()]
        #: Integers for VROOM: decimals are scaled ×1000 (and rounded up for items, down for capacities).
        self.scale = 1 if all(float(a).is_integer() for a in amounts) else 1000
        self.skill_ids: dict[tuple[str, str], int] = {}
        self.steps: dict[int, _Step] = {}
        self.skipped: dict[str, str] = {}

    def skill(self, kind: str, name: str) -> int:
        return self.skill_ids.setdefault((kind, name), len(self.skill_ids) + 1)

    def amount(self, items: Mapping[str, float], *, up: bool = True) -> list[int]:
        rnd = math.ceil if up else math.floor
        return [int(rnd(float(items.get(d, 0)) * self.scale)) for d in self.dims]

    def job_skills(self, job: Any, who: str) -> set[int]:
        out = {self.skill("kind", who)}
        if job.brand is not None:
            out.add(self.skill("brand", job.brand))
        out |= {self.skill("skill", s) for s in job.skills}
        return out

    def windows(self, job: Any, late: int) -> tuple[tuple[int, int], ...]:
        """Windows bound the start (as in VROOM); ``late``: a later start that must be inside too."""
        from onestop.dispatch.model import effective_windows

        return tuple((a, b - late) for a, b in effective_windows(job, HORIZON_S) if b - late >= a)

    def build(self) -> Any:
        import vroom

        p = self.p
        inp = vroom.Input()
        size = self.dur.shape[0]
        for name, mat in (("durations", self.dur), ("distances", self.dist)):
            if (mat < 0).any():
                raise ValueError(f"the travel {name} matrix has unreachable pairs; VROOM needs all of them")
        inp.set_durations_matrix(profile="car", matrix_input=self.dur.astype(np.uint32).reshape(size, size))
        inp.set_distances_matrix(profile="car", matrix_input=self.dist.astype(np.uint32).reshape(size, size))
        next_id = iter(range(1, 10**9))
        for job in p.jobs:
            self.add_job(inp, job, next_id)
        for k, r in enumerate(p.resources):
            skills = {self.skill("kind", r.kind)}
            skills |= {self.skill("brand", b) for b in r.brands}
            skills |= {self.skill("skill", s) for s in r.skills}
            if r.zones is not None:
                raise ValueError("service zones are not modelled for VROOM")
            breaks = [
                vroom.Break(
                    k * 100 + i, [vroom.TimeWindow(b.window[0], b.window[1] - b.duration_s)], b.duration_s
                )
                for i, b in enumerate(r.breaks)
            ]
            max_tasks = None
            if r.max_jobs is not None:  # a shipment is two VROOM tasks (an exchange four: stricter)
                max_tasks = r.max_jobs if r.kind == "technician" else 2 * r.max_jobs
            inp.add_vehicle(
                vroom.Vehicle(
                    k,
                    start=self.at(r.start),
                    end=self.at(r.end),
                    capacity=vroom.Amount(self.amount(r.capacity, up=False)),
                    skills=skills,
                    time_window=vroom.TimeWindow(r.shift[0], r.shift[1]),
                    breaks=breaks,
                    max_tasks=max_tasks,
                )
            )
        return inp

    def add_job(self, inp: Any, job: Any, next_id: Any) -> None:
        import vroom

        def tws(w: tuple[tuple[int, int], ...]) -> list[Any]:
            return [vroom.TimeWindow(a, b) for a, b in w]

        prio = PRIORITY.get(job.priority, 1)
        here = self.at(job.location)
        if job.kind in ("repair", "inspection", "installation"):
            w = self.windows(job, 0)
            if not w:
                self.skipped[job.id] = "no window it can start in"
                return
            jid = next(next_id)
            role = "install" if job.kind == "installation" else "visit"
            self.steps[jid] = _Step(job.id, role, here, job.duration_s, w)
            inp.add_job(
                vroom.Job(
                    jid,
                    location=here,
                    default_service=job.duration_s,
                    delivery=vroom.Amount([0] * len(self.dims)),
                    pickup=vroom.Amount([0] * len(self.dims)),
                    skills=self.job_skills(job, "technician"),
                    priority=prio,
                    time_windows=tws(w),
                )
            )
            return
        src = (
            _depot(self.p, job, "from")
            if job.kind in ("delivery", "exchange", "delivery_installation")
            else None
        )
        dst = _depot(self.p, job, "to") if job.kind in ("pickup", "haul_away", "exchange") else None
        if (src is None and job.kind in ("delivery", "exchange", "delivery_installation")) or (
            dst is None and job.kind in ("pickup", "haul_away", "exchange")
        ):
            self.skipped[job.id] = "no valid depot"
            return
        on_site = job.duration_s + (job.handover_s if job.kind == "delivery_installation" else 0)
        w = self.windows(job, job.handover_s if job.kind == "delivery_installation" else 0)
        if not w:
            self.skipped[job.id] = "no window it can start in"
            return
        skills = self.job_skills(job, "courier")

        def shipment(a: _Step, b: _Step, items: Mapping[str, float]) -> None:
            ia, ib = next(next_id), next(next_id)
            self.steps[ia], self.steps[ib] = a, b
            inp.add_shipment(
                vroom.ShipmentStep(
                    ia, location=a.loc, default_service=a.service, time_windows=tws(a.windows)
                ),
                vroom.ShipmentStep(
                    ib, location=b.loc, default_service=b.service, time_windows=tws(b.windows)
                ),
                amount=vroom.Amount(self.amount(items)),
                skills=skills,
                priority=prio,
            )

        if job.kind == "delivery":
            load = _Step(job.id, "load", self.at(src.location), src.service_s, (), src.id)
            shipment(load, _Step(job.id, "deliver", here, job.duration_s, w), job.items)
        elif job.kind in ("pickup", "haul_away"):
            unload = _Step(job.id, "unload", self.at(dst.location), dst.service_s, (), dst.id)
            shipment(_Step(job.id, "collect", here, job.duration_s, w), unload, job.items)
        elif job.kind == "delivery_installation":  # one crew: deliver then install, back to back
            load = _Step(job.id, "cload", self.at(src.location), src.service_s, (), src.id)
            shipment(load, _Step(job.id, "cdeliver", here, on_site, w), job.items)
        else:  # exchange: new unit in (service = the swap), old unit out (no extra time on site)
            load = _Step(job.id, "xload", self.at(src.location), src.service_s, (), src.id)
            shipment(load, _Step(job.id, "xin", here, job.duration_s, w), job.items)
            unload = _Step(job.id, "xunload", self.at(dst.location), dst.service_s, (), dst.id)
            shipment(_Step(job.id, "xout", here, 0, w), unload, job.returned_items)


# --------------------------------------------------------------- VROOM's routes → v1 plan


def _delta(role: str, job: Any) -> dict[str, float]:
    """How a stop changes the van's load (the validator's rule, restated)."""
    items, back = job.items, job.returned_items
    if role in ("load", "collect", "xload", "cload"):
        return dict(items)
    if role in ("deliver", "cdeliver"):
        return {d: -a for d, a in items.items()}
    if role == "unload":
        return {d: -a for d, a in items.items()}
    if role == "xunload":
        return {d: -a for d, a in back.items()}
    if role == "swap":
        out = {d: -a for d, a in items.items()}
        for d, a in back.items():
            out[d] = out.get(d, 0) + a
        return out
    return {}


def _routes(sol: Any) -> dict[int, list[tuple[str, int, int, int]]]:
    """Per vehicle: (type, id, arrival, service start) of each step, in order."""
    df = sol.routes
    out: dict[int, list[tuple[str, int, int, int]]] = {}
    cols = zip(
        df["vehicle_id"], df["type"], df["id"], df["arrival"], df["waiting_time"], df["setup"], strict=True
    )
    for vid, typ, sid, arr, wait, setup in cols:
        ident = -1 if typ in ("start", "end") else int(sid)
        out.setdefault(int(vid), []).append((str(typ), ident, int(arr), int(arr) + int(wait) + int(setup)))
    return out


def to_plan(model: _Model, sol: Any) -> tuple[dict[str, Any], list[str]]:
    """VROOM's solution as a v1 plan (re-timed forward), and the exchanges it split."""
    p = model.p
    jobs = {j.id: j for j in p.jobs}
    raw = _routes(sol)
    # where each exchange's steps ended up
    seen: dict[str, list[tuple[int, int, str]]] = {}
    for v, steps in raw.items():
        tasks = [s for s in steps if s[0] in ("job", "pickup", "delivery", "break")]
        for k, (typ, ident, _a, _s) in enumerate(tasks):
            if typ != "break" and model.steps[ident].role.startswith("x"):
                seen.setdefault(model.steps[ident].job, []).append((v, k, model.steps[ident].role))
    split: list[str] = []
    for jid, where in seen.items():
        pos = {role: (v, k) for v, k, role in where}
        ok = len(pos) == 4 and len({v for v, _ in pos.values()}) == 1
        ok = ok and abs(pos["xin"][1] - pos["xout"][1]) == 1
        if not ok:
            split.append(jid)
    routes = []
    planned: set[str] = set()
    for v in sorted(raw):
        r = p.resources[v]
        steps = raw[v]
        items: list[tuple[str, Any, int]] = []  # (kind, step or break index, VROOM start)
        for typ, ident, _arr, start in steps:
            if typ == "break":
                items.append(("break", ident - v * 100, start))
            elif typ in ("job", "pickup", "delivery"):
                st = model.steps[ident]
                if st.job in split:
                    continue
                if (
                    st.role in ("xin", "xout")
                    and items
                    and items[-1][0] == "task"
                    and items[-1][1].role
                    in (
                        "xin",
                        "xout",
                    )
                    and items[-1][1].job == st.job
                ):
                    first = items[-1][1]
                    items[-1] = (
                        "task",
                        _Step(st.job, "swap", st.loc, first.service + st.service, st.windows),
                        start,
                    )
                    continue
                items.append(("task", st, start))
        if not any(kind == "task" for kind, _x, _s in items):
            continue
        start_t = steps[0][2]
        routes.append(_route(model, r, items, start_t, jobs))
        planned |= {st.job for kind, st, _s in items if kind == "task"}
    unassigned = [
        {
            "job": j.id,
            "reason": "not_scheduled",
            "detail": (
                "VROOM did not put the exchange's two shipments back to back on one route"
                if j.id in split
                else model.skipped.get(j.id, "left out by VROOM")
            ),
        }
        for j in p.jobs
        if j.id not in planned
    ]
    return {"version": "1", "status": "solved", "routes": routes, "unassigned": unassigned}, split


def _route(
    model: _Model, r: Any, items: list[tuple[str, Any, int]], start_t: int, jobs: dict[str, Any]
) -> dict:
    """One resource's stops, re-timed forward from VROOM's order; breaks at a place."""
    tb = model.p.timebase
    courier = r.kind == "courier"
    load = dict.fromkeys(model.dims, 0) if courier else {}
    stops: list[dict[str, Any]] = []
    start_loc, end_loc = model.at(r.start), model.at(r.end)

    def stop(
        type_: str, job: str | None, loc: int, arr: int, st: int, end: int, prev: int, **extra: Any
    ) -> None:
        s = {
            "type": type_,
            "job": job,
            "location": list(model.points[loc]),
            "arrival": tb.iso(arr),
            "start": tb.iso(st),
            "end": tb.iso(end),
            "travel_s": int(model.dur[prev, loc]),
            "distance_m": int(model.dist[prev, loc]),
            "load": {d: int(round(a)) for d, a in load.items()},
            **{k: v for k, v in extra.items() if v is not None},
        }
        stops.append(s)

    stop("start", None, start_loc, start_t, start_t, start_t, start_loc, depot=r.start_depot)
    t, here = start_t, start_loc
    for k, (kind, what, _vstart) in enumerate(items):
        if kind == "break":
            rule = r.breaks[what]
            nxt = next((x[1].loc for x in items[k + 1 :] if x[0] == "task"), end_loc)
            latest = rule.window[1] - rule.duration_s
            at_prev = max(t, rule.window[0])
            arr_next = t + int(model.dur[here, nxt])
            at_next = max(arr_next, rule.window[0])
            # the next stop can start after: the break here + the drive, or the drive + the break there
            options = []
            if at_prev <= latest:
                options.append((at_prev + rule.duration_s + int(model.dur[here, nxt]), "prev"))
            if at_next <= latest:
                options.append((at_next + rule.duration_s, "next"))
            where = min(options)[1] if options else "prev"
            if where == "prev":
                stop("break", None, here, t, at_prev, at_prev + rule.duration_s, here, break_index=what)
                t = at_prev + rule.duration_s
            else:
                stop("break", None, nxt, arr_next, at_next, at_next + rule.duration_s, here, break_index=what)
                t, here = at_next + rule.duration_s, nxt
            continue
        st: _Step = what
        arr = t + int(model.dur[here, st.loc])
        begin = arr
        for a, b in st.windows:
            if arr <= b:
                begin = max(a, arr)
                break
        job = jobs[st.job]
        for d, a in _delta(st.role, job).items():
            load[d] = load.get(d, 0) + a if courier else 0
        depot = st.depot
        if st.role == "cdeliver":  # one crew: deliver (handover), then install right after
            mid = begin + job.handover_s
            stop("deliver", st.job, st.loc, arr, begin, mid, here)
            stop("install", st.job, st.loc, mid, mid, begin + st.service, st.loc)
        else:
            type_ = {"xload": "load", "cload": "load", "xunload": "unload", "xin": "swap", "xout": "swap"}
            stop(
                type_.get(st.role, st.role), st.job, st.loc, arr, begin, begin + st.service, here, depot=depot
            )
        t, here = begin + st.service, st.loc
    arr = t + int(model.dur[here, end_loc])
    stop("end", None, end_loc, arr, arr, arr, here, depot=r.end_depot)
    return {"resource": r.id, "resource_kind": r.kind, "stops": stops}


# --------------------------------------------------------------- one day


def solve_vroom(problem: Any, time_limit_s: float, *, exploration_level: int = 5) -> VroomDay:
    """VROOM on a (reduced) day, its plan converted and checked by OneStop's validator."""
    from onestop.dispatch.planner import travel_model_for
    from onestop.dispatch.validator import validate_plan

    model = _Model(problem, travel_model_for(problem.options.travel).matrices)
    inp = model.build()
    began = time.monotonic()
    sol = inp.solve(
        exploration_level=exploration_level, nb_threads=1, timeout=timedelta(seconds=time_limit_s)
    )
    took = time.monotonic() - began
    plan, split = to_plan(model, sol)
    stops = [s for r in plan["routes"] for s in r["stops"]]
    planned = {s["job"] for s in stops if s["job"]}
    bad = [str(v) for v in validate_plan(problem, plan)]
    return VroomDay(
        given=len(problem.jobs) - len(model.skipped),
        planned=len(planned),
        travel_s=sum(s["travel_s"] for s in stops),
        distance_m=sum(s["distance_m"] for s in stops),
        solve_s=round(took, 1),
        split_exchanges=split,
        plan=plan,
        violations=bad,
    )
