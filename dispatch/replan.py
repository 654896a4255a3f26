"""Re-planning a day in progress: keep what is done, keep promises, move as little as possible.

How the living day is expressed, and why
----------------------------------------
The re-planned day is written as a *new v1 request* for the rest of the day, and the
new plan is an ordinary v1 plan of that request. So the independent validator checks
it with no special case, and the API can store, publish and re-plan it again like any
other plan. The rest of the day is:

- each available resource starting *now* (``at``) from where it is (its ``start``):
  its position ping, else the place of its last completed or started stop, else its
  start. Breaks already taken are gone; ``max_jobs`` is reduced by the jobs it completed;
- a started stop stays with its resource as the route's first stop: the job's window
  becomes the fact ``[started, expected end]`` and the resource's shift starts then;
- items already on a van stay on it: a delivery whose load is done loads at a
  ``<id>@now`` warehouse at the van's place (zero service) and only that courier may take it; a job
  whose customer stop is done but whose unload is not becomes a ``pickup`` of those
  items at the van's place, unloaded where it was going;
- every other remaining job keeps its windows and promise (hard), cancelled jobs are
  left out, new jobs are added, and ``from``/``to`` depots are written out so no job
  can load at a van by accident.

Completed stops are history: they are not in the new request (they cannot be
changed), and the new plan carries them in ``plan["history"]`` (per resource, as
they were), with a ``plan["replan"]`` summary (time, changed, kept, cancelled).

Minimal change: a first solve allows each job only on the resource(s) it had; a job
that cannot stay there (its resource is unavailable, or its route no longer fits it)
is then released to every capable resource and inserted without moving anything
else (``routing.construct.insert_dropped``). ``changed`` lists the jobs whose
resource changed.
"""

from __future__ import annotations

import copy
import logging
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from dataclasses import replace as dc_replace
from datetime import datetime
from typing import Any

from onestop.routing import BreakTaken, Node, RoutingProblem, RoutingResult, VehicleRoute, Visit, solve
from onestop.routing.check import check_result
from onestop.routing.construct import construct, insert_dropped
from onestop.routing.lns import lns

from .booking import _depot, _options_in_plan
from .expand import Expansion, expand
from .model import COURIER_KINDS, DispatchProblem, parse_request
from .plan import build_plan
from .planner import settings_for, travel_model_for, zones_of
from .reasons import NO_CAPABLE_RESOURCE
from .validator import Violation, validate_plan

log = logging.getLogger(__name__)

__all__ = ["ReplanOutcome", "replan"]

CUSTOMER = frozenset({"deliver", "install", "swap", "collect", "visit"})
DEPOT = frozenset({"load", "unload"})
#: Default search budget of a re-plan: the day is mostly fixed, an answer is needed fast.
DEFAULT_TIME_LIMIT_S = 4.0
#: Penalty factor for leaving out a job that already has a resource (first solve only).
KEEP_WEIGHT = 3


@dataclass(frozen=True, slots=True)
class ReplanOutcome:
    """The rest of the day as a v1 request and its plan, and what changed.

    ``changed``: jobs planned before and now on another resource. ``kept``: jobs
    planned before and still with the same resource. ``lost``: jobs planned before
    and now unassigned (see the plan's reasons). ``history``: the done stops, per
    resource, as they were in the old plan.
    """

    request: dict[str, Any]
    plan: dict[str, Any]
    changed: list[str]
    kept: int
    lost: list[str] = field(default_factory=list)
    completed: list[str] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)
    violations: list[Violation] = field(default_factory=list)
    solve_s: float = 0.0


@dataclass(slots=True)
class _Stop:
    route: str
    index: int
    raw: dict[str, Any]
    type: str
    job: str | None
    start: int
    end: int
    state: str = "pending"  # done | active | pending


def _read(plan: Mapping[str, Any], dp: DispatchProblem) -> dict[str, list[_Stop]]:
    tb = dp.timebase
    out: dict[str, list[_Stop]] = {}
    for r in plan.get("routes", []):
        out[r["resource"]] = [
            _Stop(
                r["resource"],
                i,
                s,
                s["type"],
                s.get("job"),
                tb.seconds_of(datetime.fromisoformat(s["start"])),
                tb.seconds_of(datetime.fromisoformat(s["end"])),
            )
            for i, s in enumerate(r["stops"])
        ]
    return out


def _mark(routes: dict[str, list[_Stop]], progress: Mapping[str, str] | None, now: int) -> None:
    """Each stop done, active (under way at ``now``) or pending.

    Without ``progress`` the day is taken to have gone as planned up to ``now``. With
    it, a route is walked in order: everything before the last completed / started
    stop (or before the stop a resource is ``en_route`` to) is done; a started job's
    stop is active; stops of jobs not reported stay pending however late they are.
    Depot stops and breaks have no events of their own: one planned to end by ``now``
    is taken as done (a van loaded in the morning is loaded).
    """
    for stops in routes.values():
        if progress is None:
            for s in stops:
                if s.type in ("start", "end"):
                    continue
                s.state = "done" if s.end <= now else "active" if s.start <= now else "pending"
                if s.state == "active" and s.type in DEPOT:
                    s.state = "done"  # a load or unload under way finishes; the resource is busy till then
            continue
        reach = -1
        for s in stops:
            st = progress.get(s.job) if s.job else None
            if s.type in CUSTOMER and st == "completed":
                s.state, reach = "done", s.index
            elif s.type in CUSTOMER and st == "started":
                s.state, reach = "active", s.index
            elif s.type in CUSTOMER and st == "en_route":
                reach = max(reach, s.index - 1)
        for s in stops:
            if s.type in DEPOT or s.type == "break":
                if s.index <= reach or s.end <= now:
                    s.state = "done"
                elif s.type == "break" and s.start <= now:
                    s.state = "active"
    # a started split delivery_installation: its deliver is done once the install is under way
    installs = {s.job: s for stops in routes.values() for s in stops if s.type == "install"}
    for stops in routes.values():
        for s in stops:
            i = installs.get(s.job) if s.type == "deliver" else None
            if i is not None and i.route != s.route and s.state == "active":
                s.state = "done"


def replan(
    request: Mapping[str, Any],
    plan: Mapping[str, Any],
    *,
    at: str,
    progress: Mapping[str, str] | None = None,
    positions: Mapping[str, Sequence[float]] | None = None,
    new_jobs: Iterable[Mapping[str, Any]] = (),
    cancelled: Iterable[str] = (),
    unavailable: Iterable[str] = (),
    preset: str | None = None,
    time_limit_s: float | None = None,
) -> ReplanOutcome:
    """Re-plan the rest of the day from ``at``; see the module docstring for the model.

    Parameters
    ----------
    progress
        job id → ``completed`` | ``started`` | ``en_route``; None: the day went as planned.
    positions
        resource id → [lon, lat], the latest position ping.
    new_jobs, cancelled, unavailable
        Jobs to add (v1 job objects), job ids to drop, resource ids gone for the day.
    """
    began = time.monotonic()
    dp0 = parse_request(request)
    tb = dp0.timebase
    now = tb.seconds(at)
    routes = _read(plan, dp0)
    _mark(routes, progress, now)
    gone = set(unavailable)
    cancel = set(cancelled)
    positions = dict(positions or {})
    res_of = {r.id: r for r in dp0.resources}
    jobs_raw = {j["id"]: j for j in request.get("jobs", [])}
    by_job: dict[str, list[_Stop]] = {}
    for stops in routes.values():
        for s in stops:
            if s.job:
                by_job.setdefault(s.job, []).append(s)
    completed = [j for j, ss in by_job.items() if all(s.state == "done" for s in ss) and j not in cancel]
    done_set = set(completed)

    # --- resources: where and when each continues ---------------------------------------
    new_req: dict[str, Any] = {
        k: copy.deepcopy(v) for k, v in request.items() if k not in ("technicians", "couriers", "jobs")
    }
    new_req.setdefault("depots", [])
    depot_ids = {d["id"] for d in new_req["depots"]}
    started: dict[str, _Stop] = {}  # job → its active customer stop (resource available)
    van: dict[str, str] = {}  # courier → its @now depot
    here: dict[str, list[float]] = {}
    avail: set[str] = set()
    techs, couriers = [], []
    kept_breaks: dict[str, list[int]] = {}
    for raw_r in [*request.get("technicians", []), *request.get("couriers", [])]:
        rid = raw_r["id"]
        res = res_of[rid]
        if rid in gone:
            continue
        stops = routes.get(rid, [])
        past = [s for s in stops if s.state in ("done", "active") and s.type not in ("start", "end")]
        active = next((s for s in stops if s.state == "active" and s.type in CUSTOMER), None)
        busy = max([now] + [s.end for s in past if s.type in DEPOT or s.type == "break"])
        placed = [s for s in past if s.type != "break"]
        pos = list(positions.get(rid) or (placed[-1].raw["location"] if placed else res.start))
        if active is not None:
            pos = list(active.raw["location"])
        start_s = active.start if active is not None else max(res.shift[0], busy)
        if not past and now <= res.shift[0] and rid not in positions:
            start_s, pos = res.shift[0], list(res.start)
        if start_s >= res.shift[1] and active is None:
            log.info("replan: %s's shift is over at %s; its jobs are released", rid, at)
            continue
        avail.add(rid)
        here[rid] = pos
        if active is not None:
            for s in stops:
                if s.job == active.job and s.state == "active":
                    started[s.job] = s
        r2 = copy.deepcopy(raw_r)
        r2["shift"] = [tb.iso(start_s), raw_r["shift"][1]]
        taken = {s.raw.get("break_index") for s in past if s.type == "break"}
        breaks = []
        for bi, b in enumerate(res.breaks):
            lo, hi = max(b.window[0], start_s), min(b.window[1], res.shift[1])
            if bi in taken:
                continue
            if hi - lo < b.duration_s:
                log.info("replan: %s's break %d no longer fits after %s; dropped", rid, bi, at)
                continue
            breaks.append({"window": [tb.iso(lo), tb.iso(hi)], "duration": b.duration_s})
            kept_breaks.setdefault(rid, []).append(bi)
        r2["breaks"] = breaks
        if res.max_jobs is not None:
            mine = {s.job for s in stops if s.job in done_set and s.type in CUSTOMER}
            r2["max_jobs"] = max(0, res.max_jobs - len(mine))
        if res.kind == "technician":
            r2["start"] = pos
            r2["end"] = raw_r.get("end", raw_r["start"])
            techs.append(r2)
        else:
            # the courier goes on from where it is; its depot (and default end) stay its own
            r2["start"] = pos
            r2["end"] = raw_r.get("end", raw_r["depot"])
            couriers.append(r2)
    new_req["technicians"], new_req["couriers"] = techs, couriers

    # --- jobs: what is left of each -------------------------------------------------------
    hard: dict[tuple[str, str], str | None] = {}  # (job, main|install) → resource (None: nobody)
    soft: dict[tuple[str, str], str] = {}
    stuck: dict[str, str] = {}
    out_jobs: list[dict[str, Any]] = []
    for job in dp0.jobs:
        jid = job.id
        if jid in cancel or jid in done_set:
            continue
        raw = copy.deepcopy(jobs_raw[jid])
        stops = by_job.get(jid, [])
        for s in stops:
            cls = "install" if job.kind == "delivery_installation" and s.type == "install" else "main"
            if s.type not in DEPOT:
                soft.setdefault((jid, cls), s.route)
        if job.kind in COURIER_KINDS or job.kind == "delivery_installation":
            for role, key in (("from", "from"), ("to", "to")):
                d = next(
                    (s.raw.get("depot") for s in stops if s.type == ("load" if role == "from" else "unload")),
                    None,
                )
                d = d or (lambda x: x.id if x else None)(_depot(dp0, job, role))
                needs = job.kind in (
                    ("delivery", "delivery_installation", "exchange")
                    if role == "from"
                    else ("haul_away", "pickup", "exchange")
                )
                if needs and d is not None and key not in raw:
                    raw[key] = d
        if job.after is not None and job.after in done_set:
            raw.pop("after", None)
        done_types = {s.type for s in stops if s.state == "done"}
        carrier = next((s.route for s in stops if s.type in DEPOT | {"deliver", "swap", "collect"}), None)
        cust_done = any(s.type in ("collect", "swap") and s.state == "done" for s in stops) or (
            job.kind in ("delivery", "delivery_installation") and "deliver" in done_types
        )
        if cust_done and job.kind == "delivery_installation":
            # the delivery is done; what is left is the technician's installation
            raw = {
                k: v
                for k, v in raw.items()
                if k
                in (
                    "id",
                    "location",
                    "windows",
                    "duration",
                    "brand",
                    "skills",
                    "priority",
                    "promise",
                    "customer",
                    "address",
                    "notes",
                )
            }
            raw["kind"] = "installation"
        elif cust_done:
            # collected, not yet unloaded: the items ride on the van to their centre
            items = job.returned_items if job.kind == "exchange" else job.items
            raw = {
                "id": jid,
                "kind": "pickup",
                "location": here.get(carrier or "", list(job.location)),
                "duration": 0,
                "items": dict(items),
                "to": raw.get("to"),
                "priority": job.priority,
                "notes": f"on board of {carrier} since the {job.kind} stop",
            }
            if carrier in avail:
                raw["location"] = here[carrier]
                hard[(jid, "main")] = carrier
            else:
                hard[(jid, "main")] = None
                stuck[jid] = f"its items are on the van of {carrier}, who is unavailable"
        elif "load" in done_types and carrier is not None:
            if carrier in avail:
                if carrier not in van:
                    # the van itself is where these items are loaded from now on
                    dep = f"{carrier}@now"
                    while dep in depot_ids:
                        dep += "_"
                    depot_ids.add(dep)
                    van[carrier] = dep
                    new_req["depots"].append(
                        {"id": dep, "kind": "warehouse", "location": here[carrier], "service_s": 0}
                    )
                raw["from"] = van[carrier]
                hard[(jid, "main")] = carrier
            else:
                hard[(jid, "main")] = None
                stuck[jid] = f"its items are on the van of {carrier}, who is unavailable"
        act = started.get(jid)
        if act is not None and act.route in avail:
            e = max(act.end, now)
            raw["windows"] = [[tb.iso(act.start), tb.iso(e)]]
            dur = e - act.start
            if (
                job.kind == "delivery_installation"
                and act.type in ("deliver", "install")
                and act.raw.get("crew") == "alone"
            ):
                crew_stops = [s for s in stops if s.route == act.route and s.type in ("deliver", "install")]
                e = max(max(s.end for s in crew_stops), now)
                begin = min(s.start for s in crew_stops)
                raw["windows"] = [[tb.iso(begin), tb.iso(e)]]
                dur = e - begin - job.handover_s
            raw["duration"] = dur
            raw.pop("promise", None)
            raw["priority"] = "urgent"
            hard[(jid, "main")] = act.route
            if raw.get("kind", job.kind) == "delivery_installation":
                hard[(jid, "install")] = (
                    act.route if act.raw.get("crew") == "alone" else soft.get((jid, "install"))
                )
        out_jobs.append(raw)
    for j in new_jobs:
        out_jobs.append(copy.deepcopy(dict(j)))
    new_req["jobs"] = out_jobs

    # --- solve with pins, then release who cannot stay -------------------------------------
    dp = parse_request(new_req)
    model = travel_model_for(dp.options.travel)
    exp = expand(dp, model.matrices, zones_of(dp))
    settings = settings_for(dp, preset or "fast", time_limit_s or DEFAULT_TIME_LIMIT_S)
    limit = settings.time_limit_s
    pinned, soft_nodes = _pins(dp, exp, hard, soft, avail)
    # a job that has a resource weighs more than one that has none yet: keeping a
    # customer's planned visit beats fitting in an equally ranked newcomer
    held = {n for n, (a, b) in enumerate(zip(pinned, exp.problem.nodes, strict=True)) if a is not b}
    pinned = [
        dc_replace(nd, penalty=nd.penalty * KEEP_WEIGHT) if n in held and nd.penalty is not None else nd
        for n, nd in enumerate(pinned)
    ]
    groups = tuple(
        dc_replace(g, penalty=g.penalty * KEEP_WEIGHT)
        if g.penalty is not None and any(n in held for opt in g.options for n in opt)
        else g
        for g in exp.problem.groups
    )
    p1 = exp.problem.replace(nodes=tuple(pinned), groups=groups)
    result1 = _keep_order(p1, exp, dp, plan, routes, van, kept_breaks, limit, began)
    served = result1.served
    release = {jid for jid, nodes in soft_nodes.items() if not any(n in served for n in nodes)}
    nodes2 = list(pinned)
    for jid in release:
        for n in soft_nodes[jid]:
            nodes2[n] = exp.problem.nodes[n]
    p2 = p1.replace(nodes=tuple(nodes2))
    result = result1
    if release:
        result = insert_dropped(p2, result1, seed=dp.options.seed, deadline_s=max(0.5, 0.25 * limit))
    exp2 = dc_replace(exp, problem=p2)
    new_plan = build_plan(
        dp, exp2, result, settings={"preset": preset or "fast", "time_limit_s": limit, "replan": True}
    )
    violations = validate_plan(dp, new_plan)
    if violations:
        log.warning(
            "replan: search result breaks %d rule(s): %s; using the construction",
            len(violations),
            violations[0],
        )
        new_plan = build_plan(dp, exp2, construct(p2, seed=dp.options.seed), settings={"replan": True})
        violations = validate_plan(dp, new_plan)
    for u in new_plan["unassigned"]:
        if u["job"] in stuck:
            u["reason"], u["detail"] = NO_CAPABLE_RESOURCE, stuck[u["job"]]

    # --- what changed ---------------------------------------------------------------------
    before = {
        j: {s.route for s in ss if s.type not in DEPOT and s.state != "done"} for j, ss in by_job.items()
    }
    after_: dict[str, set[str]] = {}
    for r in new_plan["routes"]:
        for s in r["stops"]:
            if s.get("job") and s["type"] not in DEPOT:
                after_.setdefault(s["job"], set()).add(r["resource"])
    changed = sorted(j for j, rs in after_.items() if j in before and before[j] and rs != before[j])
    kept = sum(1 for j, rs in after_.items() if j in before and rs == before[j])
    unassigned_now = {u["job"] for u in new_plan["unassigned"]}
    lost = sorted(j for j in unassigned_now if before.get(j))
    history = []
    for rid, stops in routes.items():
        done = [s.raw for s in stops if s.state == "done" and s.type not in ("start", "end")]
        if done:
            history.append({"resource": rid, "stops": copy.deepcopy(done)})
    elapsed = round(time.monotonic() - began, 3)
    new_plan["history"] = history
    new_plan["replan"] = {
        "at": tb.iso(now),
        "changed": changed,
        "kept": kept,
        "lost": lost,
        "completed": sorted(completed),
        "cancelled": sorted(cancel),
        "unavailable": sorted(gone),
        "released": sorted(release),
        "seconds": elapsed,
    }
    log.info(
        "replan at %s: %d kept, %d changed, %d lost in %.2f s", at, kept, len(changed), len(lost), elapsed
    )
    return ReplanOutcome(
        new_req,
        new_plan,
        changed,
        kept,
        lost,
        sorted(completed),
        sorted(cancel),
        history,
        violations,
        elapsed,
    )


def _pins(
    dp: DispatchProblem,
    exp: Expansion,
    hard: Mapping[tuple[str, str], str | None],
    soft: Mapping[tuple[str, str], str],
    avail: set[str],
) -> tuple[list[Node], dict[str, list[int]]]:
    """Nodes with allowed vehicles narrowed to each job's resource; the softly pinned nodes per job."""
    vindex = {r.id: i for i, r in enumerate(exp.resources)}
    everyone = frozenset(range(len(exp.resources)))
    kinds = {j.id: j.kind for j in dp.jobs}
    nodes = list(exp.problem.nodes)
    soft_nodes: dict[str, list[int]] = {}
    for n, task in enumerate(exp.tasks):
        jid = task.job
        if jid is None:
            continue
        cls = "install" if kinds.get(jid) == "delivery_installation" and task.stop == "install" else "main"
        node = nodes[n]
        base = node.allowed_vehicles if node.allowed_vehicles is not None else everyone
        if (jid, cls) in hard:
            rid = hard[(jid, cls)]
            pin = frozenset({vindex[rid]}) if rid in vindex else frozenset()
        elif (jid, cls) in soft and soft[(jid, cls)] in avail and soft[(jid, cls)] in vindex:
            pin = frozenset({vindex[soft[(jid, cls)]]})
            soft_nodes.setdefault(jid, []).append(n)
        else:
            continue
        nodes[n] = dc_replace(node, allowed_vehicles=base & pin)
    return nodes, soft_nodes


def _keep_order(
    p1: RoutingProblem,
    exp: Expansion,
    dp: DispatchProblem,
    plan: Mapping[str, Any],
    routes: Mapping[str, list[_Stop]],
    van: Mapping[str, str],
    kept_breaks: Mapping[str, list[int]],
    limit: float,
    began: float,
) -> RoutingResult:
    """Routes that keep each resource's remaining stops in their planned order, new work inserted.

    Why: the old order is the minimal change, and it is nearly always still feasible;
    building from it (then a short ruin-and-recreate within the pins) beats a fresh
    construction both in speed and in how little moves. Falls back to a full search
    within the pins when the old order cannot be re-timed.
    """
    seed = dp.options.seed
    vindex = {r.id: i for i, r in enumerate(exp.resources)}
    key: dict[tuple[str, str, str], int] = {}
    units: dict[str, set[int]] = {}
    for n, task in enumerate(exp.tasks):
        if task.job is not None:
            key[(task.job, task.option, task.stop)] = n
    option = _options_in_plan(plan)
    jobs = {j.id: j for j in dp.jobs}
    seq: dict[int, list[int]] = {}
    when: dict[int, int] = {}  # node → its planned start, so breaks fall where they were
    brk_at: dict[int, list[BreakTaken]] = {}
    for rid, stops in routes.items():
        k = vindex.get(rid)
        if k is None:
            continue
        kept = kept_breaks.get(rid, [])
        brk_at[k] = [
            BreakTaken(kept.index(s.raw["break_index"]), s.start)
            for s in stops
            if s.type == "break" and s.state != "done" and s.raw.get("break_index") in kept
        ]
        order: list[int] = []
        # work that starts at the van: loads from it, items already on board
        for n, task in enumerate(exp.tasks):
            if task.job is None or n in order:
                continue
            at_van = task.stop == "load" and task.depot == van.get(rid)
            on_board = (
                task.stop == "collect" and jobs[task.job].duration_s == 0 and jobs[task.job].kind == "pickup"
            )
            allowed = p1.nodes[n].allowed_vehicles
            if (at_van or on_board) and allowed is not None and allowed == frozenset({k}):
                order.append(n)
        for s in stops:
            if s.state == "done" or s.job is None or s.job not in jobs or s.type in ("start", "end", "break"):
                continue
            if s.type == "install" and s.raw.get("crew") == "alone":
                continue
            opt = option.get(s.job, "alone")
            n = key.get((s.job, opt, s.type))
            if n is None and s.type == "deliver":
                n = key.get((s.job, opt, "deliver+install"))
            if n is None and s.type == "install":
                n = key.get((s.job, "alone", "install"))
            allowed = p1.nodes[n].allowed_vehicles if n is not None else None
            if n is None or n in order or (allowed is not None and k not in allowed):
                continue
            order.append(n)
            when[n] = s.start
        if order:
            seq[k] = order
    # a job goes into the seed only with every node of one of its options
    placed = {n for order in seq.values() for n in order}
    for n, task in enumerate(exp.tasks):
        if task.job is not None and n in placed:
            units.setdefault(task.job, set()).add(n)
    drop: set[int] = set()
    for job, nodes in units.items():
        opts = [
            {n for (j, o, _t), n in key.items() if j == job and o == opt}
            for opt in {o for (j, o, _t) in key if j == job}
        ]
        if not any(nodes == o for o in opts):
            drop |= nodes
    job_nodes: dict[str, set[int]] = {}
    for n, task in enumerate(exp.tasks):
        if task.job is not None:
            job_nodes.setdefault(task.job, set()).add(n)
    skip_vehicles: set[int] = set()
    filled: RoutingResult | None = None
    for attempt in range(4):
        vroutes = []
        for k, order in seq.items():
            veh = p1.vehicles[k]
            visits = tuple(Visit(n, max(veh.shift[0], when.get(n, 0))) for n in order if n not in drop)
            if visits and k not in skip_vehicles:
                given = {b.index: b for b in brk_at.get(k, [])}
                brk = tuple(given.get(i, BreakTaken(i, b.earliest_s)) for i, b in enumerate(veh.breaks))
                vroutes.append(VehicleRoute(k, veh.shift[0], visits, veh.shift[1], brk))
        served = {v.node for r in vroutes for v in r.visits}
        start = RoutingResult(tuple(vroutes), tuple(n for n in p1.visits if n not in served), 0)
        filled = insert_dropped(p1, start, seed=seed, deadline_s=max(0.5, 0.2 * limit))
        bad = [v for v in check_result(p1, filled) if "mandatory" not in v]
        if not bad:
            break
        # routes that do not fit together (an install waiting for a delivery now later):
        # take the jobs named out of the seed and let the insertion place them again
        log.info("replan: planned order does not fit (%s); attempt %d", bad[0], attempt + 1)
        for msg in bad:
            m = re.match(r"node (\d+)", msg)
            if m and exp.tasks[int(m[1])].job is not None:
                drop |= job_nodes[exp.tasks[int(m[1])].job]
            pr = re.match(r"precedence (\d+) -> (\d+)", msg)
            if pr and exp.tasks[int(pr[2])].job is not None:
                drop |= job_nodes[exp.tasks[int(pr[2])].job]
            v = re.match(r"vehicle (\d+)", msg)
            if v:
                skip_vehicles.add(int(v[1]))
        filled = None
    if filled is None:
        log.warning("replan: the planned order cannot be kept; searching within the pins")
        left = max(0.5, limit - (time.monotonic() - began))
        return solve(p1, settings_for(dp, "fast", limit), time_limit_s=left, seed=seed)
    remaining = limit - (time.monotonic() - began) - 0.5
    if remaining > 0.3:
        filled = lns(p1, filled, seed=seed, time_limit_s=0.8 * remaining)
    return filled
