"""Field-day suite: generated Helsinki days of 60 … 2,000 jobs, solved and checked.

Usage (from the repository root)::

    python -m benchmarks.fieldday --sizes 60,200,600,2000 --seed 0 [--preset balanced] \\
        [--time-limit S | --time-limits default,request] [--peers vroom] [--out out/fieldday.csv] \\
        [--no-baseline] [--plots DIR]

For each size the day comes from :func:`onestop.dispatch.generate.generate_day`, is solved
with :func:`onestop.dispatch.planner.plan_day` (the request's own ``time_limit_s`` unless
``--time-limit`` is given) and the plan goes through the independent validator
``onestop.dispatch.validator.validate_plan`` ("not checked" when that module is absent).
Every size runs in its own spawned process, so its peak RSS (``ru_maxrss``, taken right
after the solve, before the baseline) is its own.

Beside it, on the same day and the same travel matrices, a plain **sequential cheapest
insertion** baseline written here (:func:`cheapest_insertion`): jobs in request order (a job
linked ``after`` another waits for it), each inserted whole at its cheapest feasible
position (least added travel seconds) over the 10 capable routes nearest to it, with
windows, capacity in every dimension, shifts, ``max_jobs``, pickup-before-delivery, the
two halves of a split ``delivery_installation`` and ``after`` links respected. Breaks are
kept, greedily: a break is taken in the waiting time before a stop when it fits there, and
otherwise (wait at the previous place, then drive) on the last leg before it would be too
late. The baseline never reorders or removes what it has inserted, and checks at most
the 400 cheapest candidate positions of a job, so it can miss a feasible one. Its routes
are checked by ``routing.check.check_result`` and its plan by the validator too.

``--time-limits default,request`` gives a row per size at the default preset's limit (10 s)
and at the request's own. ``--peers vroom`` adds VROOM (:mod:`benchmarks.fieldpeers`) on the
day without its cross-route jobs, its routes converted to a v1 plan and validated, and
OneStop on that same reduced day, in a second table.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import multiprocessing
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DEFAULT_SIZES = (60, 200, 600, 2000)
DEFAULT_OUT = "out/fieldday.csv"
#: Capable routes (nearest first) the baseline tries for each job.
BASELINE_ROUTES = 10
#: Cheapest candidate positions the baseline checks for feasibility per job part.
BASELINE_CANDIDATES = 400

COLUMNS = (
    "size",
    "seed",
    "city",
    "booking",
    "jobs",
    "technicians",
    "couriers",
    "resources",
    "preset",
    "time_limit_s",
    "time_limit_mode",
    "solve_s",
    "matrices_s",
    "peak_rss_mb",
    "planned",
    "feasible",
    "feasible_planned_pct",
    "bound",
    "bound_status",
    "unassigned_by_reason",
    "travel_h",
    "km",
    "resources_used",
    "valid",
    "violations",
    "baseline_planned",
    "baseline_travel_h",
    "baseline_km",
    "baseline_s",
    "baseline_valid",
    "vroom_removed",
    "vroom_given",
    "vroom_planned",
    "vroom_travel_h",
    "vroom_km",
    "vroom_s",
    "vroom_valid",
    "vroom_violations",
    "vroom_split_exchanges",
    "both_onestop_planned",
    "both_onestop_travel_h",
    "both_onestop_valid",
    "error",
)
#: ``--time-limits`` words: the default preset's limit, or the limit the generated request carries.
LIMIT_MODES = ("default", "request")
#: ``--peers`` this suite knows (benchmarks.fieldpeers).
FIELD_PEERS = ("vroom",)


# --------------------------------------------------------------- baseline


class _Insertion:
    """Sequential cheapest insertion over an expansion's routing problem."""

    def __init__(self, exp: Any) -> None:
        self.exp = exp
        self.p = exp.problem
        self.dur = self.p.durations
        self.dist = self.p.distances
        self.loc = [n.location for n in self.p.nodes]
        self.routes: dict[int, list[int]] = {}
        self.sched: dict[int, tuple[list[int], list[tuple[int, int]], int]] = {}
        self.release: dict[int, int] = {}
        self.deadline: dict[int, int] = {}
        self.where: dict[int, int] = {}
        self.start_of: dict[int, int] = {}
        self.preds: dict[int, list[int]] = {}
        self.succs: dict[int, list[int]] = {}
        for pr in self.p.precedences:
            self.preds.setdefault(pr.after, []).append(pr.before)
            self.succs.setdefault(pr.before, []).append(pr.after)

    # --- one route's schedule ---------------------------------------------------

    def _window_start(self, node: int, t: int) -> int | None:
        wins = self.p.nodes[node].windows
        if not wins:
            return t
        for a, b in wins:
            if t <= b:
                return max(a, t)
        return None

    def simulate(self, v: int, visits: list[int]):
        """(starts, breaks taken, end time) or None when the route breaks a rule."""
        p = self.p
        veh = p.vehicles[v]
        nodes = p.nodes
        t = veh.shift[0]
        prev = veh.start
        load = [0] * len(veh.capacity)
        stops = 0
        pending = sorted(range(len(veh.breaks)), key=lambda i: veh.breaks[i].earliest_s)
        taken: list[tuple[int, int]] = []
        starts: list[int] = []
        for node in visits:
            nd = nodes[node]
            tt = int(self.dur[self.loc[prev], self.loc[node]])
            if tt < 0:
                return None
            dep = t
            ready = max(dep + tt, self.release.get(node, 0))
            start = self._window_start(node, ready)
            if start is None:
                return None
            used, cur = 0, dep
            while pending:
                b = veh.breaks[pending[0]]
                bstart = max(cur, b.earliest_s)
                fits_wait = start - dep >= tt + used + b.duration_s
                if bstart + b.duration_s <= min(start, b.latest_s) and fits_wait:
                    taken.append((pending.pop(0), bstart))  # in the wait before the stop: free
                    used += b.duration_s
                    cur = bstart + b.duration_s
                    continue
                if start + nd.service_s > b.latest_s - b.duration_s:  # due now: rest, then drive
                    if bstart + b.duration_s > b.latest_s:
                        return None
                    taken.append((pending.pop(0), bstart))
                    dep = cur = bstart + b.duration_s
                    used = 0
                    start = self._window_start(node, max(dep + tt, self.release.get(node, 0)))
                    if start is None:
                        return None
                    continue
                break
            end = start + nd.service_s
            if end > self.deadline.get(node, 1 << 62):
                return None
            if nd.demand:
                for d, amount in enumerate(nd.demand):
                    load[d] += amount
                    if not 0 <= load[d] <= veh.capacity[d]:
                        return None
            if nd.counts_as_stop:
                stops += 1
                if veh.max_stops is not None and stops > veh.max_stops:
                    return None
            starts.append(start)
            t = end
            prev = node
        tt = int(self.dur[self.loc[prev], self.loc[veh.end]])
        if tt < 0:
            return None
        for i in pending:
            b = veh.breaks[i]
            bstart = max(t, b.earliest_s)
            if bstart + b.duration_s > b.latest_s:
                return None
            taken.append((i, bstart))
            t = bstart + b.duration_s
        end_s = t + tt
        if end_s > veh.shift[1] or end_s > p.horizon_s:
            return None
        return starts, taken, end_s

    # --- inserting a part --------------------------------------------------------

    def candidates(self, part: list[int], vehicles: frozenset[int] | None) -> list[tuple[int, int, tuple]]:
        """(added travel, vehicle, positions) over the nearest capable routes, cheapest first."""
        p = self.p
        allowed = range(p.num_vehicles) if vehicles is None else vehicles
        anchor = self.loc[part[-1] if len(part) < 3 else part[1]]
        scored = []
        for v in allowed:
            route = self.routes.get(v, [])
            if p.vehicles[v].max_stops is not None:
                have = sum(1 for n in route if p.nodes[n].counts_as_stop)
                if have + sum(1 for n in part if p.nodes[n].counts_as_stop) > p.vehicles[v].max_stops:
                    continue
            veh = p.vehicles[v]
            pts = [veh.start, *route]
            near = min(abs(int(self.dur[anchor, self.loc[n]])) for n in pts)
            scored.append((near, v))
        scored.sort()
        out = []
        for _, v in scored[:BASELINE_ROUTES]:
            veh = p.vehicles[v]
            path = [veh.start, *self.routes.get(v, []), veh.end]
            lp = [self.loc[n] for n in path]
            lx = [self.loc[n] for n in part]
            k = len(path) - 1  # gaps: before route[g] for g in 0..k-1, i.e. between path[g], path[g+1]
            for pos in itertools.combinations_with_replacement(range(k), len(part)):
                delta = 0
                i = 0
                while i < len(part):
                    g = pos[i]
                    j = i
                    while j + 1 < len(part) and pos[j + 1] == g:
                        j += 1
                    a, b = lp[g], lp[g + 1]
                    c = int(self.dur[a, lx[i]])
                    for q in range(i, j):
                        c += int(self.dur[lx[q], lx[q + 1]])
                    c += int(self.dur[lx[j], b]) - int(self.dur[a, b])
                    delta += c
                    i = j + 1
                out.append((delta, v, pos))
        out.sort(key=lambda x: (x[0], x[1], x[2]))
        return out

    @staticmethod
    def merged(route: list[int], part: list[int], pos: tuple) -> list[int]:
        new: list[int] = []
        pi = 0
        for g in range(len(route) + 1):
            while pi < len(part) and pos[pi] == g:
                new.append(part[pi])
                pi += 1
            if g < len(route):
                new.append(route[g])
        return new

    def insert_part(self, part: list[int], vehicles: frozenset[int] | None) -> int | None:
        """Insert ``part`` (one route, in order) at its cheapest feasible place; the vehicle."""
        for n in part:  # predecessors of this part that sit on other routes set a release
            for b in self.preds.get(n, []):
                if b not in self.where:
                    return None
                self.release[n] = self.start_of[b] + self.p.nodes[b].service_s
        for checked, (_delta, v, pos) in enumerate(self.candidates(part, vehicles)):
            if checked >= BASELINE_CANDIDATES:
                break
            new = self.merged(self.routes.get(v, []), part, pos)
            sched = self.simulate(v, new)
            if sched is None or not self._others_ok(v, new, sched):
                continue
            self.commit(v, new, sched)
            return v
        return None

    def _others_ok(self, v: int, visits: list[int], sched) -> bool:
        """Moving stops of route ``v`` must keep the release of their successors elsewhere."""
        starts = sched[0]
        for n, s in zip(visits, starts, strict=True):
            for a in self.succs.get(n, []):
                if (
                    a in self.where
                    and self.where[a] != v
                    and s + self.p.nodes[n].service_s > self.start_of[a]
                ):
                    return False
        return True

    def commit(self, v: int, visits: list[int], sched) -> None:
        self.routes[v] = visits
        self.sched[v] = sched
        for n, s in zip(visits, sched[0], strict=True):
            self.where[n] = v
            self.start_of[n] = s
        for n in visits:
            for a in self.succs.get(n, []):
                if a in self.where:
                    self.deadline[n] = self.start_of[a]
            for b in self.preds.get(n, []):
                if b in self.where:
                    self.deadline[b] = min(self.deadline.get(b, 1 << 62), self.start_of[n])
                    self.release[n] = self.start_of[b] + self.p.nodes[b].service_s

    def remove(self, v: int, part: list[int], before: tuple[list[int], Any] | None) -> None:
        for n in part:
            self.where.pop(n, None)
            self.start_of.pop(n, None)
            self.release.pop(n, None)
        if before is None:
            self.routes.pop(v, None)
            self.sched.pop(v, None)
        else:
            self.routes[v], self.sched[v] = before

    # --- jobs ---------------------------------------------------------------------

    def options_of(self) -> dict[str, list[list[list[int]]]]:
        """Per job: its options, each a list of parts (node lists for one route)."""
        per: dict[str, dict[str, list[int]]] = {}
        for i, task in enumerate(self.exp.tasks):
            if task.job is not None and task.stop not in ("start", "end"):
                per.setdefault(task.job, {}).setdefault(task.option, []).append(i)
        out: dict[str, list[list[list[int]]]] = {}
        for job, opts in per.items():
            out[job] = []
            for nodes in opts.values():
                parts: list[list[int]] = []
                for n in nodes:
                    allowed = self.p.nodes[n].allowed_vehicles
                    if parts and self.p.nodes[parts[-1][-1]].allowed_vehicles == allowed:
                        parts[-1].append(n)
                    else:
                        parts.append([n])
                out[job].append(parts)
        return out

    def run(self, job_order: Sequence[str]) -> None:
        options = self.options_of()
        for job in job_order:
            for parts in options.get(job, []):
                done: list[tuple[int, list[int], Any]] = []
                ok = True
                for part in parts:
                    vehicles = self.p.nodes[part[0]].allowed_vehicles
                    cands = vehicles if vehicles is not None else range(self.p.num_vehicles)
                    snapshot = {u: (list(self.routes[u]), self.sched[u]) for u in cands if u in self.routes}
                    got = self.insert_part(part, vehicles)
                    if got is None:
                        ok = False
                        break
                    before = snapshot.get(got)
                    done.append((got, part, before))
                if ok:
                    break
                for got, part, before in reversed(done):
                    self.remove(got, part, before)

    def result(self):
        from onestop.routing import BreakTaken, RoutingResult, VehicleRoute, Visit
        from onestop.routing.check import objective_of

        routes = []
        for v in sorted(self.routes):
            visits = self.routes[v]
            if not visits:
                continue
            starts, taken, end_s = self.simulate(v, visits) or self.sched[v]
            routes.append(
                VehicleRoute(
                    v,
                    self.p.vehicles[v].shift[0],
                    tuple(Visit(n, s) for n, s in zip(visits, starts, strict=True)),
                    end_s,
                    tuple(BreakTaken(i, s) for i, s in sorted(taken, key=lambda x: x[1])),
                )
            )
        served = {n for r in routes for n in (x.node for x in r.visits)}
        dropped = tuple(n for n in self.p.visits if n not in served)
        res = RoutingResult(tuple(routes), dropped, 0)
        return RoutingResult(res.routes, res.dropped, objective_of(self.p, res))


def cheapest_insertion(problem: Any, exp: Any) -> tuple[Any, dict[str, Any], list[str]]:
    """The baseline on an expanded day: (routing result, v1 plan, routing-check violations)."""
    from onestop.dispatch.plan import build_plan
    from onestop.routing.check import check_result

    by_id = {j.id: j for j in problem.jobs}
    order: list[str] = []
    placed: set[str] = set()
    pending = [j.id for j in problem.jobs]
    while pending:  # request order, a job linked `after` another right behind it
        rest = []
        for jid in pending:
            after = by_id[jid].after
            if after is None or after in placed or after not in by_id:
                order.append(jid)
                placed.add(jid)
            else:
                rest.append(jid)
        if len(rest) == len(pending):
            order += rest
            break
        pending = rest
    ins = _Insertion(exp)
    ins.run(order)
    result = ins.result()
    plan = build_plan(problem, exp, result, settings={"preset": "baseline:cheapest_insertion"})
    return result, plan, check_result(exp.problem, result)


# --------------------------------------------------------------- one size


def _validator():
    try:
        from onestop.dispatch.validator import validate_plan
    except ImportError:
        return None
    return validate_plan


def _peak_rss_mb() -> float:
    import resource

    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)  # kB on Linux


def run_size(
    size: int,
    seed: int = 0,
    preset: str | None = None,
    time_limit_s: float | None = None,
    *,
    city: str = "helsinki",
    baseline: bool = True,
    solutions_dir: str | None = None,
    booking: str = "slots",
    bound_s: float = 0.0,
    peers: Sequence[str] = (),
    limit_mode: str = "request",
) -> dict[str, Any]:
    """Generate, solve, validate (and run the baseline on) one day; one CSV row.

    ``bound_s`` > 0 also runs :func:`benchmarks.bound.job_bound` for that many seconds
    (after the solve, outside its time and memory figures). ``limit_mode`` picks the limit
    when ``time_limit_s`` is not given: ``"request"`` (the request's own) or ``"default"``
    (the preset's, 10 s for balanced). ``peers=("vroom",)`` adds VROOM on the day without
    its cross-route jobs, and OneStop on that same reduced day (:func:`_vroom_columns`).
    """
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    from onestop.dispatch.generate import generate_day
    from onestop.dispatch.planner import plan_day
    from onestop.routing import PRESETS

    row: dict[str, Any] = dict.fromkeys(COLUMNS, "")
    request = generate_day(size, seed, city=city, booking=booking)
    if time_limit_s:
        limit, mode = time_limit_s, "given"
    elif limit_mode == "default":
        limit, mode = PRESETS[preset or request["options"]["preset"]].time_limit_s, "default"
    else:
        limit, mode = request["options"]["time_limit_s"], "request"
    if float(limit).is_integer():
        limit = int(limit)  # 10, not 10.0, in the table
    row.update(
        size=size,
        seed=seed,
        city=city,
        booking=booking,
        jobs=len(request["jobs"]),
        technicians=len(request["technicians"]),
        couriers=len(request["couriers"]),
        resources=len(request["technicians"]) + len(request["couriers"]),
        preset=preset or request["options"]["preset"],
        time_limit_s=limit,
        time_limit_mode=mode,
    )
    began = time.monotonic()
    outcome = plan_day(request, preset=preset, time_limit_s=limit)
    wall = time.monotonic() - began
    row["peak_rss_mb"] = _peak_rss_mb()
    plan = outcome.plan
    k, s = plan["kpis"], plan["summary"]
    times = s.get("computing_times", {})
    row.update(
        solve_s=round(wall, 1),
        matrices_s=round(times.get("matrices_s", 0.0), 2),
        planned=k["jobs_planned"],
        feasible=k["feasible_jobs"],
        feasible_planned_pct=round(100 * k["feasible_planned_share"], 1),
        unassigned_by_reason=";".join(f"{r}={n}" for r, n in k["unassigned_by_reason"].items()),
        travel_h=round(k["travel_s"] / 3600, 2),
        km=round(k["distance_m"] / 1000, 1),
        resources_used=k["resources_used"],
    )
    validate = _validator()
    if validate is None:
        row["valid"] = "not checked"
    else:
        bad = validate(outcome.problem, plan)
        row["valid"] = "yes" if not bad else "no"
        row["violations"] = len(bad)
        if bad:
            print(f"[{size}] {len(bad)} violations, first: {bad[0]}", file=sys.stderr)
    if bound_s > 0:
        from benchmarks.bound import job_bound

        b = job_bound(outcome.expansion, time_limit_s=bound_s)
        row.update(bound=b.upper, bound_status=b.status)
    if solutions_dir:
        d = Path(solutions_dir)
        d.mkdir(parents=True, exist_ok=True)
        (d / f"fieldday-{size}-s{seed}.request.json").write_text(json.dumps(request))
        (d / f"fieldday-{size}-s{seed}.plan.json").write_text(json.dumps(plan))
        from onestop.dispatch.render import render_html, render_plan

        render_plan(request, plan, d / f"fieldday-{size}-s{seed}.png")
        render_html(request, plan, d / f"fieldday-{size}-s{seed}.html")
    if baseline:
        began = time.monotonic()
        _result, bplan, broken = cheapest_insertion(outcome.problem, outcome.expansion)
        bk = bplan["kpis"]
        row.update(
            baseline_s=round(time.monotonic() - began, 1),
            baseline_planned=bk["jobs_planned"],
            baseline_travel_h=round(bk["travel_s"] / 3600, 2),
            baseline_km=round(bk["distance_m"] / 1000, 1),
        )
        bad = list(broken)
        if validate is not None:
            bad += [str(v) for v in validate(outcome.problem, bplan)]
        row["baseline_valid"] = (
            ("yes" if not bad else "no")
            if validate is not None
            else ("routing check only" if not bad else "no")
        )
        if bad:
            print(f"[{size}] baseline: {len(bad)} violations, first: {bad[0]}", file=sys.stderr)
    if "vroom" in peers:
        row.update(_vroom_columns(request, outcome.problem, preset, limit, validate))
    return row


def _vroom_columns(
    request: dict[str, Any], problem: Any, preset: str | None, limit: float, validate: Any
) -> dict[str, Any]:
    """VROOM and OneStop on the day without the jobs VROOM cannot model (benchmarks.fieldpeers).

    Both get the same reduced request and time limit; VROOM's routes come back as a v1 plan
    that the validator checks against that reduced request.
    """
    from onestop.dispatch.model import parse_request
    from onestop.dispatch.planner import plan_day

    from benchmarks.fieldpeers import cross_route_jobs, reduced_request, solve_vroom

    removed = cross_route_jobs(problem)
    reduced = parse_request(reduced_request(request, removed))
    day = solve_vroom(reduced, limit)
    if day.violations:
        print(f"VROOM: {len(day.violations)} violations, first: {day.violations[0]}", file=sys.stderr)
    both = plan_day(reduced, preset=preset, time_limit_s=limit)
    bk = both.plan["kpis"]
    both_bad = validate(reduced, both.plan) if validate is not None else []
    return {
        "vroom_removed": len(removed),
        "vroom_given": day.given,
        "vroom_planned": day.planned,
        "vroom_travel_h": round(day.travel_s / 3600, 2),
        "vroom_km": round(day.distance_m / 1000, 1),
        "vroom_s": day.solve_s,
        "vroom_valid": "yes" if not day.violations else "no",
        "vroom_violations": len(day.violations),
        "vroom_split_exchanges": len(day.split_exchanges),
        "both_onestop_planned": bk["jobs_planned"],
        "both_onestop_travel_h": round(bk["travel_s"] / 3600, 2),
        "both_onestop_valid": "yes" if not both_bad else "no",
    }


def _child(args: tuple) -> dict[str, Any]:
    size, seed, preset, limit, city, baseline, solutions_dir, booking, bound_s, peers, mode = args
    try:
        return run_size(
            size,
            seed,
            preset,
            limit,
            city=city,
            baseline=baseline,
            solutions_dir=solutions_dir,
            booking=booking,
            bound_s=bound_s,
            peers=peers,
            limit_mode=mode,
        )
    except Exception as exc:  # one size failing must not lose the others
        row = dict.fromkeys(COLUMNS, "")
        row.update(size=size, seed=seed, city=city, error=f"{type(exc).__name__}: {exc}")
        return row


# --------------------------------------------------------------- table, CSV, CLI


def _pct(part: Any, whole: Any) -> str:
    try:
        return f"{100 * int(part) / int(whole):.1f} %"
    except (TypeError, ValueError, ZeroDivisionError):
        return ""


def markdown(rows: Sequence[dict[str, Any]]) -> str:
    """The per-day table (OneStop, the bound when run, then the baseline on the same day),
    and per size over several seeds the pooled share of feasible jobs planned."""
    head = (
        "| jobs | seed | booking | resources | limit s | solve s | peak MB | planned | feasible | "
        "planned/feasible | upper bound | travel h | km | valid | baseline planned | "
        "baseline planned/feasible | baseline travel h | baseline valid |"
    )
    width = head.count("|") - 1
    lines = [head, "|" + "---|" * width]
    for r in rows:
        if r.get("error"):
            lines.append(f"| {r['size']} | {r['seed']} | error: {r['error']} |" + " |" * (width - 3))
            continue
        bound = f"{r['bound']} ({r['bound_status'].lower()})" if r.get("bound") != "" else "not run"
        lines.append(
            f"| {r['jobs']} | {r['seed']} | {r['booking']} | {r['resources']} ({r['technicians']} T + "
            f"{r['couriers']} C) | {_limit(r)} | {r['solve_s']} | {r['peak_rss_mb']} | {r['planned']} | "
            f"{r['feasible']} | "
            f"{r['feasible_planned_pct']} % | {bound} | {r['travel_h']} | {r['km']} | {r['valid']} | "
            f"{r['baseline_planned']} | {_pct(r['baseline_planned'], r['feasible'])} | "
            f"{r['baseline_travel_h']} | {r['baseline_valid']} |"
        )
    pooled: dict[tuple[Any, Any], list[dict[str, Any]]] = {}
    for r in rows:
        if not r.get("error"):
            pooled.setdefault((r["size"], r["booking"], r.get("time_limit_s")), []).append(r)
    if any(len(v) > 1 for v in pooled.values()):
        lines += ["", "| jobs | booking | days | planned/feasible, pooled | worst day | baseline, pooled |"]
        lines.append("|---|---|---|---|---|---|")
        for (size, booking, _limit_s), rs in pooled.items():
            planned = sum(int(r["planned"]) for r in rs)
            feasible = sum(int(r["feasible"]) for r in rs)
            base = sum(int(r["baseline_planned"] or 0) for r in rs)
            worst = min(float(r["feasible_planned_pct"]) for r in rs)
            lines.append(
                f"| {size} | {booking} | {len(rs)} | {planned}/{feasible} = {_pct(planned, feasible)} | "
                f"{worst} % | {_pct(base, feasible) if base else 'not run'} |"
            )
    peers = [r for r in rows if not r.get("error") and r.get("vroom_planned", "") != ""]
    if peers:
        lines += ["", *peers_markdown(peers)]
    return "\n".join(lines)


def _limit(r: dict[str, Any]) -> str:
    """The time limit and where it came from (``10 (default)``)."""
    mode = r.get("time_limit_mode") or ""
    return f"{r['time_limit_s']} ({mode})" if mode else str(r["time_limit_s"])


def peers_markdown(rows: Sequence[dict[str, Any]]) -> list[str]:
    """OneStop, the baseline and VROOM per day; then OneStop and VROOM on the same reduced day."""
    lines = [
        "| jobs | seed | limit s | OneStop planned | OneStop travel h | baseline planned | "
        "baseline travel h | removed for VROOM | VROOM planned / given | VROOM travel h | VROOM valid | "
        "both: OneStop planned | both: VROOM planned | both: OneStop travel h | both: VROOM travel h | "
        "notes |",
        "|" + "---|" * 16,
    ]
    for r in rows:
        notes = [f"VROOM {r['vroom_s']} s"]
        if r.get("vroom_split_exchanges"):
            notes.append(f"{r['vroom_split_exchanges']} exchange(s) split by VROOM, counted not planned")
        if r.get("both_onestop_valid") not in ("yes", ""):
            notes.append("OneStop's reduced-day plan INVALID")
        lines.append(
            f"| {r['jobs']} | {r['seed']} | {_limit(r)} | {r['planned']} | {r['travel_h']} | "
            f"{r['baseline_planned'] or 'not run'} | {r['baseline_travel_h'] or 'not run'} | "
            f"{r['vroom_removed']} | {r['vroom_planned']} / {r['vroom_given']} | {r['vroom_travel_h']} | "
            f"{r['vroom_valid']} | {r['both_onestop_planned']} | {r['vroom_planned']} | "
            f"{r['both_onestop_travel_h']} | {r['vroom_travel_h']} | {'; '.join(notes)} |"
        )
    lines += [
        "",
        "Removed for VROOM: the day's cross-route jobs (a delivery_installation a courier and a "
        "technician could share or no courier can do alone; a job linked `after` another), which VROOM "
        'cannot tie across routes. "both" = that reduced day, solved by OneStop and by VROOM with the '
        "same limit and the same travel matrices. VROOM's routes were converted to a v1 plan (breaks at "
        "a place, times re-computed forward) and checked by OneStop's validator against the reduced "
        'request ("VROOM valid").',
    ]
    return lines


def write_csv(rows: Sequence[dict[str, Any]], out: str | Path) -> Path:
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS)
        w.writeheader()
        for r in rows:
            w.writerow({c: r.get(c, "") for c in COLUMNS})
    return path


def _sizes(items: Sequence[Any] | None) -> list[int]:
    out = []
    for item in items or ():
        for part in str(item).split(","):
            part = part.strip().removeprefix("fieldday-").removeprefix("fieldday")
            if part:
                out.append(int(part))
    return out


def run(
    instances: Sequence[str] | None = None,
    preset: str | None = None,
    time_limit_s: float | None = None,
    seeds: Sequence[int] | None = None,
    procs: int = 1,
    out: str | None = None,
    solutions_dir: str | None = None,
    *,
    sizes: Sequence[int] | None = None,
    city: str = "helsinki",
    baseline: bool = True,
    quiet: bool = False,
    booking: str = "slots",
    bound_s: float = 0.0,
    peers: Sequence[str] = (),
    time_limits: Sequence[str] = ("request",),
) -> int:
    """Run the suite; print the markdown table, write the CSV; 0 when every plan is valid.

    ``instances`` are sizes (``"60"`` or ``"fieldday-60"``, as ``benchmarks run --suite
    fieldday --instances`` passes them); ``sizes`` the same as integers. ``preset`` may be a
    comma list (each preset is a row). ``time_limits`` are :data:`LIMIT_MODES` (a row per
    size at each; a mode giving the same limit as an earlier one is not run twice), used when
    ``time_limit_s`` is not given. One spawned process per (size, seed, preset, limit);
    ``procs`` of them at once (default 1: timings and memory undisturbed).
    """
    from onestop.dispatch.generate import default_time_limit
    from onestop.routing import PRESETS

    chosen = list(sizes or []) + _sizes(instances)
    chosen = chosen or list(DEFAULT_SIZES)
    presets = [p.strip() for p in (preset or "").split(",") if p.strip()] or [None]

    def limit_of(n: int, pr: str | None, mode: str) -> float:
        return PRESETS[pr or "balanced"].time_limit_s if mode == "default" else default_time_limit(n)

    tasks = []
    for n in chosen:
        for sd in seeds or [0]:
            for pr in presets:
                done: set[float] = set()
                for mode in time_limits if not time_limit_s else ("request",):
                    if limit_of(n, pr, mode) in done:
                        continue
                    done.add(limit_of(n, pr, mode))
                    tasks.append(
                        (
                            n,
                            sd,
                            pr,
                            time_limit_s,
                            city,
                            baseline,
                            solutions_dir,
                            booking,
                            bound_s,
                            tuple(peers),
                            mode,
                        )
                    )
    ctx = multiprocessing.get_context("spawn")
    rows: list[dict[str, Any]] = []
    if procs <= 1:
        for t in tasks:
            with ProcessPoolExecutor(max_workers=1, mp_context=ctx) as pool:  # a fresh process per size
                row = pool.submit(_child, t).result()
            rows.append(row)
            if not quiet:
                print(
                    f"size {t[0]} seed {t[1]} limit {row['time_limit_s']}: planned {row['planned']}/"
                    f"{row['jobs']} in {row['solve_s']} s, valid {row['valid']} {row['error']}",
                    file=sys.stderr,
                )
            write_csv(rows, out or DEFAULT_OUT)
    else:
        with ProcessPoolExecutor(max_workers=procs, mp_context=ctx, max_tasks_per_child=1) as pool:
            rows = list(pool.map(_child, tasks))
    path = write_csv(rows, out or DEFAULT_OUT)
    print(markdown(rows))
    print(f"\nCSV: {path}", file=sys.stderr)
    ok = all(
        r.get("valid") in ("yes", "not checked")
        and r.get("both_onestop_valid") in ("yes", "", None)
        and not r.get("error")
        for r in rows
    )
    return 0 if ok else 1


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m benchmarks.fieldday",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("--sizes", default=",".join(map(str, DEFAULT_SIZES)), help="jobs per day, comma list")
    ap.add_argument("--seed", default="0", help="seed(s), comma list")
    ap.add_argument("--preset", default=None, help="solver preset(s) (default: the request's, balanced)")
    ap.add_argument("--time-limit", type=float, default=None, help="seconds (default: the request's)")
    ap.add_argument(
        "--time-limits",
        default="request",
        help="without --time-limit, a row per size at each: default (the preset's limit, 10 s) and/or "
        "request (the generated request's own: 10/15/30/120 s); e.g. default,request",
    )
    ap.add_argument(
        "--peers",
        default="",
        help="vroom: also VROOM (pyvroom, the peers extra) on the day without its cross-route jobs, "
        "and OneStop on that same reduced day",
    )
    ap.add_argument("--city", default="helsinki", help="helsinki (the OSM extract's area) or helsinki-wide")
    ap.add_argument("--out", default=DEFAULT_OUT, help=f"CSV path (default {DEFAULT_OUT})")
    ap.add_argument(
        "--booking",
        default="slots",
        choices=("slots", "free"),
        help="slots: windows booked against the rosters (default); free: as asked, evenings overbooked",
    )
    ap.add_argument(
        "--bound",
        type=float,
        default=0.0,
        metavar="S",
        help="also prove an upper bound on plannable jobs with CP-SAT for S seconds (benchmarks.bound)",
    )
    ap.add_argument("--plots", default=None, help="write request, plan, PNG and HTML per day here")
    ap.add_argument("--procs", type=int, default=1, help="sizes at once (default 1)")
    ap.add_argument("--no-baseline", action="store_true", help="skip the cheapest-insertion baseline")
    ap.add_argument("--quiet", action="store_true")
    a = ap.parse_args(argv)
    try:
        sizes = _sizes([a.sizes])
        seeds = [int(x) for x in a.seed.split(",") if x.strip()]
        modes = [x.strip() for x in a.time_limits.split(",") if x.strip()]
        peers = [x.strip() for x in a.peers.split(",") if x.strip()]
        for m in modes:
            if m not in LIMIT_MODES:
                raise ValueError(f"--time-limits: {m!r} is not one of {', '.join(LIMIT_MODES)}")
        for x in peers:
            if x not in FIELD_PEERS:
                raise ValueError(f"--peers: {x!r} is not one of {', '.join(FIELD_PEERS)}")
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return run(
        preset=a.preset,
        time_limit_s=a.time_limit,
        seeds=seeds,
        procs=a.procs,
        out=a.out,
        solutions_dir=a.plots,
        sizes=sizes,
        city=a.city,
        baseline=not a.no_baseline,
        quiet=a.quiet,
        booking=a.booking,
        bound_s=a.bound,
        peers=peers,
        time_limits=modes or ["request"],
    )


if __name__ == "__main__":
    sys.exit(main())
