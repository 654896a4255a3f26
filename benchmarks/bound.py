"""An upper bound on how many jobs of a day any plan can hold.

Usage (from the repository root)::

    python -m benchmarks.bound --sizes 60,200,600 --seed 0 [--booking slots|free] [--time-limit 60]

"Feasible on its own" says nothing about a day whose evening slots hold more work than
the people working in the evening can do. This bound answers "could *any* plan hold
more jobs than OneStop's?" without solving the routing problem: CP-SAT maximises the
number of jobs assigned to resources under a relaxation of the day's hard rules, so its
best bound is a number no valid plan can beat.

The relaxation, per resource (vehicle of the expanded routing problem):

- every stop of a job goes to one resource allowed to do it; a job counts when every
  stop of one of its options is assigned; pickup and delivery of a pair share the
  resource; a job linked ``after`` another counts only when that one does;
- ``max_jobs``;
- *energy* in the whole shift and in every interval [a, b] of up to four hours between
  the day's window and shift bounds: the service
  of the stops that can only happen inside [a, b] (their earliest start, clamped to the
  shift and the drive from the resource's start, to their latest end), plus for each the
  shortest drive into it from anywhere this resource could come from (all but the first
  of those drives happen inside [a, b], so the longest of them is forgiven), plus the
  break when its window lies inside [a, b], fits in ``b - a``.

It leaves out capacity, the order of stops and most of the time coupling between
resources, so it is loose where those bind; it is tight where a day is short of people
at the right hour, which is what it is for.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent

#: Most interval bounds per side used for the energy constraints of one resource.
MAX_BOUNDS = 24
#: Longest interval checked besides the whole shift: crowding shows in a few hours, and
#: longer intervals multiply the model's size (6.5 M terms on a 600-job day without it).
MAX_SPAN_S = 4 * 3600


@dataclass(frozen=True, slots=True)
class Bound:
    """CP-SAT's answer: no plan holds more than ``upper`` jobs; it found ``found``."""

    upper: int
    found: int
    jobs: int
    status: str
    seconds: float
    #: The jobs of the relaxed solution found (what a plan reaching the bound might hold).
    served: tuple[str, ...] = ()


def _hull(windows: tuple[tuple[int, int], ...], service: int, shift: tuple[int, int]) -> tuple[int, int]:
    if not windows:
        return shift
    return windows[0][0], windows[-1][1] + service


def _thin(values: list[int]) -> list[int]:
    """At most ``MAX_BOUNDS`` of sorted ``values``, spread evenly, first and last kept."""
    if len(values) <= MAX_BOUNDS:
        return values
    last = len(values) - 1
    return sorted({values[round(i * last / (MAX_BOUNDS - 1))] for i in range(MAX_BOUNDS)})


def job_bound(exp: Any, *, time_limit_s: float = 60.0, workers: int = 2) -> Bound:
    """Upper bound on the jobs any valid plan of the expanded day ``exp`` holds."""
    from ortools.sat.python import cp_model

    began = time.monotonic()
    p = exp.problem
    dur = np.asarray(p.durations, dtype=np.int64)
    per_job: dict[str, dict[str, list[int]]] = {}
    for i, task in enumerate(exp.tasks):
        if task.job is not None and task.stop not in ("start", "end"):
            per_job.setdefault(task.job, {}).setdefault(task.option, []).append(i)
    job_nodes = sorted({n for opts in per_job.values() for ids in opts.values() for n in ids})
    # earliest start, pushed by precedences (the later stop starts after the earlier one ends)
    release = {n: (p.nodes[n].windows[0][0] if p.nodes[n].windows else 0) for n in job_nodes}
    for _ in range(3):
        for pr in p.precedences:
            if pr.before in release and pr.after in release:
                ready = release[pr.before] + p.nodes[pr.before].service_s
                release[pr.after] = max(release[pr.after], ready)

    m = cp_model.CpModel()
    x: dict[tuple[int, int], Any] = {}
    by_vehicle: dict[int, list[tuple[int, int, int]]] = {}  # v -> (node, lo, hi)
    for n in job_nodes:
        node = p.nodes[n]
        allowed = range(p.num_vehicles) if node.allowed_vehicles is None else sorted(node.allowed_vehicles)
        for v in allowed:
            veh = p.vehicles[v]
            lo_w, hi_w = _hull(node.windows, node.service_s, veh.shift)
            loc = node.location
            lo = max(lo_w, release[n], veh.shift[0] + int(dur[p.nodes[veh.start].location, loc]))
            hi = min(hi_w, veh.shift[1] - int(dur[loc, p.nodes[veh.end].location]))
            if lo + node.service_s > hi:
                continue  # cannot fit in this shift at all
            x[n, v] = m.new_bool_var(f"x{n}_{v}")
            by_vehicle.setdefault(v, []).append((n, lo, hi))
    served: dict[str, Any] = {}
    chosen: dict[tuple[str, str], Any] = {}
    for job, opts in per_job.items():
        z = m.new_bool_var(f"z_{job}")
        served[job] = z
        picks = []
        for name, ids in opts.items():
            s = m.new_bool_var(f"s_{job}_{name}")
            chosen[job, name] = s
            picks.append(s)
            for n in ids:
                m.add(sum(x[n, v] for v in range(p.num_vehicles) if (n, v) in x) == s)
        m.add(sum(picks) == z)
    for a, b in p.pairs:
        for v in range(p.num_vehicles):
            xa, xb = x.get((a, v)), x.get((b, v))
            if xa is None and xb is None:
                continue
            m.add((xa if xa is not None else 0) == (xb if xb is not None else 0))
    node_job = {n: exp.tasks[n].job for n in job_nodes}
    for pr in p.precedences:
        ja, jb = node_job.get(pr.before), node_job.get(pr.after)
        if ja is not None and jb is not None and ja != jb:
            m.add_implication(served[jb], served[ja])

    for v, items in by_vehicle.items():
        veh = p.vehicles[v]
        nodes = [n for n, _, _ in items]
        locs = np.array([p.nodes[n].location for n in nodes])
        sub = dur[np.ix_(locs, locs)].astype(float)
        same = np.arange(len(nodes))
        sub[same, same] = np.inf  # a stop does not drive into itself
        from_start = dur[p.nodes[veh.start].location, locs].astype(float)
        t_in = np.minimum(sub.min(axis=0), from_start).astype(np.int64)
        t_in = np.maximum(t_in, 0)
        if veh.max_stops is not None:
            m.add(sum(x[n, v] for n in nodes if p.nodes[n].counts_as_stop) <= veh.max_stops)
        used = m.new_bool_var(f"used{v}")
        for n in nodes:
            m.add_implication(x[n, v], used)
        lows = _thin(sorted({veh.shift[0], *(lo for _, lo, _ in items)}))
        highs = _thin(sorted({veh.shift[1], *(hi for _, _, hi in items)}))
        for a in lows:
            for b in highs:
                if b <= a or (b - a > MAX_SPAN_S and (a, b) != veh.shift):
                    continue
                inside = [(k, n) for k, (n, lo, hi) in enumerate(items) if lo >= a and hi <= b]
                if not inside:
                    continue
                rest = sum(br.duration_s for br in veh.breaks if br.earliest_s >= a and br.latest_s <= b)
                energy = [(p.nodes[n].service_s + int(t_in[k]), x[n, v]) for k, n in inside]
                spare = max(int(t_in[k]) for k, _ in inside)  # the first stop's drive may come before a
                if sum(e for e, _ in energy) + rest <= b - a + spare:
                    continue  # cannot bind
                m.add(sum(e * var for e, var in energy) + rest * used <= b - a + spare)
    m.maximize(sum(served.values()))
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = float(time_limit_s)
    solver.parameters.num_workers = workers
    solver.parameters.random_seed = 0
    status = solver.solve(m)
    name = solver.status_name(status)
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        # the bound CP-SAT reports before its presolve settles can exceed the job count
        upper = min(len(per_job), int(np.floor(solver.best_objective_bound + 1e-6)))
        found = int(round(solver.objective_value))
        chosen_jobs = tuple(sorted(j for j, z in served.items() if solver.value(z)))
    else:
        upper, found, chosen_jobs = len(per_job), 0, ()
    return Bound(upper, found, len(per_job), name, round(time.monotonic() - began, 1), chosen_jobs)


def bound_day(
    size: int, seed: int = 0, *, city: str = "helsinki", time_limit_s: float = 60.0, booking: str = "slots"
) -> Bound:
    """The bound on a generated field day (``benchmarks.fieldday``'s days)."""
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    from onestop.dispatch.expand import expand
    from onestop.dispatch.generate import generate_day
    from onestop.dispatch.model import parse_request
    from onestop.dispatch.planner import travel_model_for, zones_of

    problem = parse_request(generate_day(size, seed, city=city, booking=booking))
    exp = expand(problem, travel_model_for(problem.options.travel).matrices, zones_of(problem))
    return job_bound(exp, time_limit_s=time_limit_s)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m benchmarks.bound",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("--sizes", default="60,200,600", help="jobs per day, comma list")
    ap.add_argument("--seed", default="0", help="seed(s), comma list")
    ap.add_argument("--city", default="helsinki")
    ap.add_argument("--booking", default="slots", choices=("slots", "free"), help="as benchmarks.fieldday")
    ap.add_argument("--time-limit", type=float, default=60.0, help="CP-SAT seconds per day (default 60)")
    a = ap.parse_args(argv)
    try:
        sizes = [int(s) for s in a.sizes.split(",") if s.strip()]
        seeds = [int(s) for s in a.seed.split(",") if s.strip()]
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print("| jobs | seed | jobs in the routing problem | upper bound | CP-SAT status | s |")
    print("|---|---|---|---|---|---|")
    for size in sizes:
        for seed in seeds:
            b = bound_day(size, seed, city=a.city, time_limit_s=a.time_limit, booking=a.booking)
            print(f"| {size} | {seed} | {b.jobs} | {b.upper} | {b.status} | {b.seconds} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
