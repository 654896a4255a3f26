"""Run benchmark suites: one CSV row per (instance, solver, settings, limit, seed).

Usage (from the repository root)::

    python -m benchmarks run --suite solomon --preset balanced --time-limit 10 \\
        --seeds 0-4 --procs 2 --out results.csv --solutions sols/

The protocol is written down in ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from onestop.routing import DEFAULT_PRESET, PRESETS, RoutingProblem, RoutingResult, SolverSettings
from onestop.routing.instances import (
    SUITES,
    Bks,
    cost_in_convention,
    family,
    format_cost,
    gap_pct,
    read_bks,
    read_instance,
    write_sol,
)

from .validate import check

REPO = Path(__file__).resolve().parent.parent

COLUMNS = (
    "instance",
    "suite",
    "family",
    "solver",
    "settings",
    "time_limit_s",
    "seed",
    "runtime_s",
    "vehicles",
    "distance",
    "bks",
    "gap_pct",
    "bks_vehicles",
    "vehicles_vs_bks",
    "bks_distance_vehicles",
    "dropped",
    "feasible",
    "validator_ok",
    "validator",
    "violations",
    "note",
)

#: Solver callable: (problem, settings, time limit, seed) → result.
SolveFn = Callable[[RoutingProblem, SolverSettings | None, float, int], RoutingResult]


def instances_root() -> Path:
    """``$ONESTOP_INSTANCES``, else ``shared/instances`` beside the repository."""
    env = os.environ.get("ONESTOP_INSTANCES")
    return Path(env) if env else REPO.parent / "shared" / "instances"


def _solve_onestop(
    problem: RoutingProblem, settings: SolverSettings | None, limit: float, seed: int
) -> RoutingResult:
    """OneStop's own solver, imported late so the CLI works before it exists."""
    from onestop.routing import solve  # type: ignore[attr-defined]

    return solve(problem, settings, time_limit_s=limit, seed=seed)  # type: ignore[no-any-return]


def _peer(name: str) -> SolveFn:
    """Adapt a peer to the common signature (peers ignore OneStop settings)."""

    def run(p: RoutingProblem, _s: SolverSettings | None, limit: float, seed: int) -> RoutingResult:
        from .peers import PEERS

        return PEERS[name](p, limit, seed)

    return run


#: Solver name → callable. Tests replace "onestop" with a stand-in.
SOLVERS: dict[str, SolveFn] = {
    "onestop": _solve_onestop,
    "pyvrp": _peer("pyvrp"),
    "vroom": _peer("vroom"),
}


@dataclass(frozen=True, slots=True)
class Config:
    """One column of a comparison: a solver with settings under a label."""

    solver: str
    label: str
    settings: SolverSettings | None = None


@dataclass(frozen=True, slots=True)
class Task:
    """One solve: an instance file under one config, limit and seed."""

    path: str
    config: Config
    time_limit_s: float
    seed: int
    round_func: str | None = None
    penalty: int | None = None
    bks: dict[str, Bks] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Outcome:
    """A finished task: its CSV row and the routes (for ``--solutions``)."""

    row: dict[str, Any]
    routes: tuple[tuple[int, ...], ...] = ()


# ------------------------------------------------------------------ parsing


def parse_seeds(text: str) -> list[int]:
    """``"0-4"`` → [0, 1, 2, 3, 4]; ``"1,3"`` → [1, 3]."""
    out: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        lo, sep, hi = part.partition("-")
        out.extend(range(int(lo), int(hi) + 1) if sep else [int(lo)])
    if not out:
        raise ValueError("seeds must name at least one seed.")
    return out


def parse_limits(text: str) -> list[float]:
    """``"1,5,10"`` → [1.0, 5.0, 10.0]."""
    out = [float(t) for t in text.split(",") if t.strip()]
    if not out or any(x <= 0 for x in out):
        raise ValueError("time limits must be > 0.")
    return out


_SHORT = {
    "PATH_CHEAPEST_ARC": "PCA",
    "PARALLEL_CHEAPEST_INSERTION": "PCI",
    "LOCAL_CHEAPEST_INSERTION": "LCI",
    "SEQUENTIAL_CHEAPEST_INSERTION": "SCI",
    "GLOBAL_CHEAPEST_ARC": "GCA",
    "SAVINGS": "SAV",
    "AUTOMATIC": "AUTO",
    "GUIDED_LOCAL_SEARCH": "GLS",
    "GREEDY_DESCENT": "GD",
    "SIMULATED_ANNEALING": "SA",
    "TABU_SEARCH": "TS",
    "GENERIC_TABU_SEARCH": "GTS",
}


def parse_settings(text: str, base: str = DEFAULT_PRESET) -> list[Config]:
    """``"first_solution=PATH_CHEAPEST_ARC,metaheuristic=GUIDED_LOCAL_SEARCH;..."``.

    Each ``;``-separated spec changes the ``base`` preset (or ``preset=NAME``
    in the spec). Naming a ``first_solution`` without a ``construction``
    implies ``construction=ortools``: otherwise OneStop's own construction
    seeds the search and the strategy would not be used at all.
    """
    out = []
    for spec in text.split(";"):
        spec = spec.strip()
        if not spec:
            continue
        kv: dict[str, Any] = {}
        for item in spec.split(","):
            key, sep, value = item.partition("=")
            if not sep:
                raise ValueError(f"setting {item!r} must be key=value.")
            kv[key.strip()] = value.strip()
        preset = kv.pop("preset", base)
        if preset not in PRESETS:
            raise ValueError(f"preset must be one of {', '.join(PRESETS)}.")
        if "first_solution" in kv and "construction" not in kv:
            kv["construction"] = "ortools"
        if ("first_solution" in kv or "metaheuristic" in kv) and "backend" not in kv:
            kv["backend"] = "ortools"  # naming OR-Tools settings means comparing OR-Tools
        for key in ("time_limit_s", "lns_time_limit_s"):
            if key in kv:
                kv[key] = float(kv[key])
        if "log_search" in kv:
            kv["log_search"] = kv["log_search"].lower() in ("1", "true", "yes")
        settings = PRESETS[preset].replace(**kv)
        parts = [_SHORT.get(str(v), str(v)) for k, v in kv.items() if k not in ("construction", "backend")]
        if set(kv) == {"backend"}:
            parts = [f"own+{kv['backend']}"]
        label = "+".join(parts) if parts else preset
        if preset != base:
            label = f"{preset}:{label}"
        out.append(Config("onestop", label, settings))
    return out


def resolve_instances(suite: str | None, names: Sequence[str], root: Path) -> list[Path]:
    """Files for names (case-insensitive, in the suite's folder) or paths."""
    if not names:
        if suite is None:
            raise ValueError("give --suite or --instances.")
        return sorted((root / suite).glob("*.txt"), key=lambda p: _natural(p.stem))
    folders = [root / suite] if suite else [root / s for s in SUITES]
    out = []
    for name in names:
        p = Path(name)
        if p.is_file():
            out.append(p)
            continue
        if p.is_dir():
            out += sorted(p.glob("*.txt"), key=lambda q: _natural(q.stem))
            continue
        hits = [f for d in folders if d.is_dir() for f in d.glob("*.txt") if f.stem.lower() == name.lower()]
        if not hits:
            raise ValueError(f"instance {name!r} not found under {', '.join(map(str, folders))}.")
        out.append(hits[0])
    return out


def _natural(name: str) -> tuple[Any, ...]:
    """Sort C101 < C201 < R101 and c1_2_1 < c1_10_1."""
    import re

    return tuple(int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", name))


# ------------------------------------------------------------------ one task


def run_task(task: Task) -> Outcome:
    """Read, solve, recompute the distance, check; never raises."""
    path = Path(task.path)
    row: dict[str, Any] = dict.fromkeys(COLUMNS, "")
    row.update(
        instance=path.stem,
        solver=task.config.solver,
        settings=task.config.label,
        time_limit_s=task.time_limit_s,
        seed=task.seed,
        family=family(path.stem),
        feasible=False,
        validator_ok=False,
    )
    try:
        inst = read_instance(path, task.round_func, penalty=task.penalty)
    except Exception as exc:  # a bad file is a row, not a crash of the suite
        row["note"] = f"read failed: {exc}"
        return Outcome(row)
    row["suite"] = inst.suite
    dist_bks, hier_bks = task.bks.get("distance"), task.bks.get("hierarchical")
    if dist_bks is not None:
        row["bks"] = dist_bks.distance
        row["bks_distance_vehicles"] = "" if dist_bks.vehicles is None else dist_bks.vehicles
    if hier_bks is not None and hier_bks.vehicles is not None:
        row["bks_vehicles"] = hier_bks.vehicles
    began = time.perf_counter()
    try:
        result = SOLVERS[task.config.solver](inst.problem, task.config.settings, task.time_limit_s, task.seed)
    except Exception as exc:
        row["runtime_s"] = round(time.perf_counter() - began, 3)
        row["note"] = f"solver failed: {type(exc).__name__}: {exc}"
        return Outcome(row)
    row["runtime_s"] = round(time.perf_counter() - began, 3)
    used = [r for r in result.routes if r.visits]
    distance = cost_in_convention(inst.problem, result, inst.round_func)
    row["vehicles"] = len(used)
    row["distance"] = format_cost(distance, inst.round_func)
    row["dropped"] = len(result.dropped)
    row["feasible"] = not result.dropped
    try:
        violations, checker = check(inst.problem, result)
    except Exception as exc:
        violations, checker = [f"checker failed: {type(exc).__name__}: {exc}"], "error"
    row["validator"] = checker
    row["validator_ok"] = not violations
    row["violations"] = len(violations)
    if violations:
        row["note"] = violations[0]
    elif result.dropped:
        row["note"] = f"dropped {len(result.dropped)} customers"
    if dist_bks is not None:
        row["gap_pct"] = round(gap_pct(distance, dist_bks.distance), 3)
    if row["bks_vehicles"] != "":
        row["vehicles_vs_bks"] = len(used) - row["bks_vehicles"]
    routes = tuple(tuple(v.node for v in r.visits) for r in used)
    return Outcome(row, routes)


def valid(row: dict[str, Any]) -> bool:
    """Whether a row's solution serves every customer and passes the validator."""
    return _true(row.get("feasible")) and _true(row.get("validator_ok"))


def counts(row: dict[str, Any]) -> bool:
    """Whether a row enters averages: valid and with a gap to a BKS."""
    return valid(row) and row.get("gap_pct") not in ("", None)


def _true(v: Any) -> bool:
    return v is True or str(v).lower() == "true"


# ------------------------------------------------------------------ the run


def iter_outcomes(tasks: Sequence[Task], procs: int) -> Iterator[Outcome]:
    """Outcomes as tasks finish, in parallel processes when ``procs`` > 1."""
    if procs <= 1 or len(tasks) <= 1:
        for t in tasks:
            yield run_task(t)
        return
    import multiprocessing as mp

    # spawn: OR-Tools and PyVRP hold threads; a fork of a threaded parent is unsafe.
    with mp.get_context("spawn").Pool(procs, maxtasksperchild=20) as pool:
        yield from pool.imap_unordered(run_task, tasks)


def progress_line(i: int, n: int, row: dict[str, Any]) -> str:
    """One stderr line per finished task."""
    gap = f"{row['gap_pct']:+.2f}%" if row["gap_pct"] != "" else "n/a"
    if valid(row):
        status = "ok"
    elif row["validator"] == "":
        status = "FAILED"
    else:
        status = "INVALID" if not row["validator_ok"] else "infeasible"
    text = (
        f"[{i}/{n}] {row['instance']} {row['solver']}/{row['settings']} "
        f"t={row['time_limit_s']:g}s seed={row['seed']}: {row['distance'] or '-'} "
        f"({row['vehicles'] or '-'} veh, gap {gap}) {status} in {row['runtime_s']}s"
    )
    if row["note"] and not valid(row):
        text += f" — {row['note']}"
    return text


def run(
    tasks: Sequence[Task],
    *,
    procs: int = 1,
    out: str | Path | None = None,
    solutions_dir: str | Path | None = None,
    quiet: bool = False,
) -> list[dict[str, Any]]:
    """Run every task, write rows to ``out`` as they finish, return the rows."""
    rows: list[dict[str, Any]] = []
    best: dict[tuple[str, str, str, float], tuple[float, Outcome]] = {}
    fh = open(out, "w", newline="") if out else None  # noqa: SIM115 - kept open over the run
    try:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS) if fh else None
        if writer:
            writer.writeheader()
        for i, outcome in enumerate(iter_outcomes(tasks, procs), start=1):
            row = outcome.row
            rows.append(row)
            if writer and fh:
                writer.writerow(row)
                fh.flush()
            if not quiet:
                print(progress_line(i, len(tasks), row), file=sys.stderr, flush=True)
            if valid(row):
                key = (row["instance"], row["solver"], row["settings"], row["time_limit_s"])
                dist = float(row["distance"])
                if key not in best or dist < best[key][0]:
                    best[key] = (dist, outcome)
    finally:
        if fh:
            fh.close()
    if solutions_dir:
        write_solutions(tasks, best, Path(solutions_dir))
    return rows


def write_solutions(
    tasks: Sequence[Task],
    best: dict[tuple[str, str, str, float], tuple[float, Outcome]],
    where: Path,
) -> None:
    """Best valid solution per instance: ``DIR/<instance>.sol`` for one
    config and limit, else ``DIR/<solver>-<settings>-t<limit>/<instance>.sol``."""
    configs = {(k[1], k[2], k[3]) for k in best}
    paths = {Path(t.path).stem: t for t in tasks}
    for (name, solver, label, limit), (_, outcome) in best.items():
        folder = where
        if len(configs) > 1:
            folder = where / f"{solver}-{label}-t{limit:g}".replace("/", "_").replace(":", "_")
        folder.mkdir(parents=True, exist_ok=True)
        task = paths[name]
        inst = read_instance(task.path, task.round_func)
        write_sol(outcome.routes, inst.problem, folder / f"{name}.sol", inst.round_func)


def build_tasks(
    files: Sequence[Path],
    configs: Sequence[Config],
    limits: Sequence[float],
    seeds: Sequence[int],
    *,
    bks: dict[str, dict[str, Bks]] | None = None,
    round_func: str | None = None,
    penalty: int | None = None,
) -> list[Task]:
    """Every (file, config, limit, seed); deterministic peers run seed 0 only once."""
    tasks = []
    for f in files:
        for c in configs:
            for limit in limits:
                for seed in seeds:
                    if c.solver == "vroom" and seed != seeds[0]:
                        continue  # VROOM is deterministic: more seeds add nothing
                    tasks.append(
                        Task(
                            str(f),
                            c,
                            limit,
                            seed,
                            round_func,
                            penalty,
                            (bks or {}).get(f.stem.lower(), {}),
                        )
                    )
    return tasks


# ------------------------------------------------------------------ CLI


DEFAULT_COMPARE = (
    "first_solution=PATH_CHEAPEST_ARC,metaheuristic=GUIDED_LOCAL_SEARCH;"
    "first_solution=PARALLEL_CHEAPEST_INSERTION,metaheuristic=GUIDED_LOCAL_SEARCH;"
    "first_solution=SAVINGS,metaheuristic=GUIDED_LOCAL_SEARCH;"
    "first_solution=PATH_CHEAPEST_ARC,metaheuristic=SIMULATED_ANNEALING;"
    "first_solution=PATH_CHEAPEST_ARC,metaheuristic=TABU_SEARCH;"
    "backend=ortools"
)


def add_arguments(ap: argparse.ArgumentParser) -> None:
    """Options shared by ``run`` and ``compare``."""
    ap.add_argument("--suite", choices=(*SUITES, "fieldday"), help="instance suite")
    ap.add_argument(
        "--instances",
        action="append",
        default=[],
        help="instance names or file/folder paths, comma-separated or repeated (default: the whole suite)",
    )
    ap.add_argument(
        "--preset",
        default=None,
        help=f"preset name(s), comma-separated (default {DEFAULT_PRESET}; all with --compare)",
    )
    ap.add_argument(
        "--settings",
        default=None,
        help="';'-separated settings specs, each 'key=value,...' over --base-preset "
        "(default none; a first-solution × metaheuristic grid with --compare)",
    )
    ap.add_argument("--base-preset", default=DEFAULT_PRESET, help="preset --settings change")
    ap.add_argument("--time-limit", default="10", help="seconds per solve; comma list for a sweep")
    ap.add_argument("--seeds", default="0", help="e.g. 0-4 or 0,2")
    ap.add_argument("--procs", type=int, default=1, help="parallel processes (default 1)")
    ap.add_argument("--out", default="results.csv", help="CSV of rows (default results.csv)")
    ap.add_argument("--solutions", default=None, help="write DIR/<instance>.sol")
    ap.add_argument("--peers", default="", help="also run peers: pyvrp,vroom")
    ap.add_argument("--no-onestop", action="store_true", help="run only the peers")
    ap.add_argument(
        "--round-func", default=None, help="override the convention (dimacs, exact, round, trunc)"
    )
    ap.add_argument(
        "--penalty",
        type=int,
        default=None,
        help="let the solver drop customers at this cost (dropped rows count as infeasible)",
    )
    ap.add_argument("--bks", default=None, help="bks.csv (default: beside the instances)")
    ap.add_argument("--instances-root", default=None, help="default $ONESTOP_INSTANCES")
    ap.add_argument("--table", default=None, help="markdown table path (default <out>.md)")
    ap.add_argument("--plot", default=None, help="PNG path (default <out>.png); 'none' to skip")
    ap.add_argument("--quiet", action="store_true", help="no progress lines")


def configs_from(args: argparse.Namespace) -> list[Config]:
    """Settings columns to run, from presets, settings specs and peers."""
    out: list[Config] = []
    if not args.no_onestop:
        presets = [p.strip() for p in args.preset.split(",") if p.strip()]
        for p in presets:
            if p not in PRESETS:
                raise ValueError(f"preset must be one of {', '.join(PRESETS)}.")
            out.append(Config("onestop", p, PRESETS[p]))
        out += parse_settings(args.settings, args.base_preset) if args.settings else []
    for peer in (p.strip() for p in args.peers.split(",") if p.strip()):
        if peer not in ("pyvrp", "vroom"):
            raise ValueError("peers must be pyvrp and/or vroom.")
        from .peers import available

        if not available(peer):
            print(
                f"peer {peer} is not installed; skipped (pip install pyvrp pyvroom)",
                file=sys.stderr,
            )
            continue
        out.append(Config(peer, peer))
    if not out:
        raise ValueError("nothing to run: no preset, settings or installed peer.")
    return out


def run_fieldday(args: argparse.Namespace) -> int:
    """Hand over to ``benchmarks.fieldday.run`` (owned elsewhere) if it exists."""
    if importlib.util.find_spec("benchmarks.fieldday") is None:
        print("benchmarks.fieldday is not there yet; nothing to run.", file=sys.stderr)
        return 2
    from . import fieldday  # type: ignore[attr-defined]

    ret = fieldday.run(
        instances=[n for item in args.instances for n in item.split(",") if n],
        preset=args.preset,
        time_limit_s=parse_limits(args.time_limit)[0],
        seeds=parse_seeds(args.seeds),
        procs=args.procs,
        out=args.out,
        solutions_dir=args.solutions,
    )
    return int(ret or 0)


def main(argv: Sequence[str] | None = None, *, compare: bool = False) -> int:
    """``run`` (and ``compare``) entry point; returns the exit code."""
    from .report import markdown_table, plot_gaps

    ap = argparse.ArgumentParser(
        prog=f"python -m benchmarks {'compare' if compare else 'run'}",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_arguments(ap)
    ap.add_argument("--compare", action="store_true", help="run the settings comparison")
    args = ap.parse_args(argv)
    compare = compare or args.compare
    if args.preset is None:
        args.preset = ",".join(PRESETS) if compare else DEFAULT_PRESET
    if args.settings is None:
        args.settings = DEFAULT_COMPARE if compare else ""
    if args.suite == "fieldday":
        return run_fieldday(args)
    try:
        root = Path(args.instances_root) if args.instances_root else instances_root()
        names = [n.strip() for item in args.instances for n in item.split(",") if n.strip()]
        files = resolve_instances(args.suite, names, root)
        configs = configs_from(args)
        limits, seeds = parse_limits(args.time_limit), parse_seeds(args.seeds)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    bks_path = Path(args.bks) if args.bks else root / "bks.csv"
    bks = read_bks(bks_path) if bks_path.is_file() else {}
    tasks = build_tasks(
        files, configs, limits, seeds, bks=bks, round_func=args.round_func, penalty=args.penalty
    )
    print(
        f"{len(tasks)} solves: {len(files)} instances × {len(configs)} configs × "
        f"{len(limits)} limits × {len(seeds)} seeds on {args.procs} process(es)",
        file=sys.stderr,
    )
    rows = run(tasks, procs=args.procs, out=args.out, solutions_dir=args.solutions, quiet=args.quiet)
    table = markdown_table(rows)
    print(table)
    out = Path(args.out)
    Path(args.table or out.with_suffix(".md")).write_text(table + "\n")
    if (args.plot or "").lower() != "none":
        plot_gaps(rows, args.plot or out.with_suffix(".png"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
