"""`onestop` command line: solve | validate | demo | matrix | bench (serve | worker | keys
are added by ``onestop.cli``, which sits above the layers: dispatch never imports api).

Exit codes: 0 success (a plan with unassigned jobs is a success), 1 internal error (and
``validate`` / ``solve --check`` finding violations), 2 bad input (one line naming the field),
3 travel provider unreachable, 130 interrupted. Never a traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from .errors import RequestError

EXIT_OK, EXIT_INTERNAL, EXIT_INPUT = 0, 1, 2
EXIT_UNAVAILABLE, EXIT_INTERRUPTED = 3, 130
MAX_REQUEST_BYTES = 200 * 1024 * 1024

log = logging.getLogger("onestop")


class InputError(Exception):
    """Bad input from the command line: one line, exit 2."""


def _say(line: str) -> None:
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


def _out(line: str = "") -> None:
    sys.stdout.write(line + "\n")


def _read_bytes(path: str, what: str) -> bytes:
    if path == "-":
        return sys.stdin.buffer.read(MAX_REQUEST_BYTES + 1)
    p = Path(path)
    if not p.exists():
        raise InputError(f"{what} file not found: {path}")
    if p.is_dir():
        raise InputError(f"{what} is a directory, not a file: {path}")
    if p.stat().st_size > MAX_REQUEST_BYTES:
        raise InputError(f"{what} file is larger than {MAX_REQUEST_BYTES // 2**20} MiB: {path}")
    try:
        return p.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {what} file {path}: {exc.strerror}") from None


def _write_json(path: str, data: Any) -> None:
    p = Path(path)
    try:
        if p.parent and not p.parent.exists():
            p.parent.mkdir(parents=True, exist_ok=True)
        tmp = p.with_name(p.name + ".tmp")
        tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        os.replace(tmp, p)
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror}") from None


class _ProgressBar:
    """One self-rewriting line on a terminal; a line every few seconds otherwise."""

    def __init__(self, limit_s: float, enabled: bool = True) -> None:
        self.limit_s = limit_s
        self.enabled = enabled
        self.tty = sys.stderr.isatty()
        self.began = time.monotonic()
        self.last = 0.0
        self.best: int | None = None
        self.phase = ""

    def __call__(self, phase: str, fraction: float, objective: int | None) -> None:
        if not self.enabled:
            return
        if objective is not None:
            self.best = objective
        now = time.monotonic()
        if phase == self.phase and phase != "done" and now - self.last < (0.2 if self.tty else 5.0):
            return
        self.phase, self.last = phase, now
        elapsed = now - self.began
        if phase == "matrices":
            text = "computing travel times…"
        elif phase == "solving":
            width = 24
            filled = int(width * min(1.0, fraction))
            bar = "█" * filled + "·" * (width - filled)
            best = f"  best cost {self.best:,}" if self.best is not None else ""
            text = f"solving [{bar}] {elapsed:5.1f}s / {self.limit_s:.0f}s{best}"
        else:
            text = f"done in {elapsed:.1f}s"
        if self.tty:
            sys.stderr.write("\r\033[K" + text + ("\n" if phase == "done" else ""))
            sys.stderr.flush()
        else:
            _say(text)


# --- commands -------------------------------------------------------------------


def cmd_solve(args: argparse.Namespace) -> int:
    from .model import parse_request
    from .planner import plan_day, settings_for

    raw = _read_bytes(args.request, "request")
    problem = parse_request(raw)
    settings = settings_for(problem, args.preset, args.time_limit)
    bar = _ProgressBar(settings.time_limit_s, enabled=not args.quiet)
    outcome = plan_day(problem, preset=args.preset, time_limit_s=args.time_limit, on_progress=bar)
    plan = outcome.plan
    if args.output:
        _write_json(args.output, plan)
    else:
        _out(json.dumps(plan, indent=2, ensure_ascii=False))
    if not args.quiet:
        from .render import summary_table

        _say(summary_table(plan))
        if args.output:
            _say(f"plan written to {args.output}")
    if args.check:
        from .validator import validate_plan

        problems = validate_plan(problem, plan)
        for v in problems:
            _say(f"violation: {v}")
        if problems:
            return EXIT_INTERNAL
    return EXIT_OK


def cmd_validate(args: argparse.Namespace) -> int:
    from .validate_cmd import run

    return run(args.request, args.plan)


def cmd_demo(args: argparse.Namespace) -> int:
    from .generate import generate_day
    from .planner import plan_day
    from .render import render_html, render_plan, summary_table
    from .validator import validate_plan

    out = Path(args.out)
    request = generate_day(jobs=args.jobs, seed=args.seed)
    if args.travel != "haversine":
        request.setdefault("options", {})["travel"] = _travel_option(args.travel)
    limit = args.time_limit or request.get("options", {}).get("time_limit_s")
    n_res = len(request.get("technicians", [])) + len(request.get("couriers", []))
    _say(f"OneStop demo: {len(request['jobs'])} jobs, {n_res} resources, {request['date']}")
    bar = _ProgressBar(float(limit or 10), enabled=not args.quiet)
    outcome = plan_day(request, time_limit_s=limit, on_progress=bar)
    plan = outcome.plan
    _write_json(str(out / "request.json"), request)
    _write_json(str(out / "plan.json"), plan)
    violations = validate_plan(request, plan)
    road = None
    if args.travel == "osm":
        road = _road_paths(request)
    png = render_plan(request, plan, str(out / "plan.png"), road_paths=road)
    html = render_html(request, plan, str(out / "plan.html"))
    _say(summary_table(plan))
    if violations:
        for v in violations:
            _say(f"violation: {v}")
        _say(f"plan is NOT valid: {len(violations)} violation(s)")
        return EXIT_INTERNAL
    _say(f"plan is valid. Wrote {out / 'request.json'}, {out / 'plan.json'}, {png}, {html}")
    return EXIT_OK


def _travel_option(name: str) -> dict[str, Any]:
    if name == "osm":
        from onestop.geodata import bundled_extract

        return {"provider": "osm", "extract": str(bundled_extract("helsinki"))}
    raise InputError(f"--travel must be haversine or osm, not {name!r}")


def _road_paths(request: dict[str, Any]) -> Callable[..., Any] | None:
    try:
        from onestop.geodata import road_paths, travel_model
    except ImportError:
        return None
    model = travel_model(request["options"]["travel"])
    return lambda points: road_paths(model, points)


def cmd_matrix(args: argparse.Namespace) -> int:
    from onestop.geodata import UNREACHABLE, TravelDataError, travel_model

    raw = _read_bytes(args.points, "points")
    try:
        points = json.loads(raw.decode("utf-8"), parse_constant=_no_constant)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError, ValueError) as exc:
        raise InputError(f"points: not a JSON list of [lon, lat] ({exc})") from None
    if not isinstance(points, list) or not all(
        isinstance(p, list)
        and len(p) == 2
        and all(isinstance(c, int | float) and not isinstance(c, bool) for c in p)
        for p in points
    ):
        raise InputError("points: must be a JSON list of [lon, lat] pairs of numbers")
    try:
        travel = json.loads(args.travel, parse_constant=_no_constant) if args.travel else None
    except (json.JSONDecodeError, ValueError) as exc:
        raise InputError(f"--travel: not valid JSON ({exc})") from None
    if travel is not None and not isinstance(travel, dict):
        raise InputError('--travel: must be a JSON object such as {"provider": "haversine"}')
    try:
        model = travel_model(travel)
        m = model.matrices([tuple(p) for p in points])
    except TravelDataError as exc:
        field = f"travel.{exc.field}" if exc.field else "travel"
        raise InputError(f"{field}: {exc}") from None

    def rows(a: Any) -> list[list[int | None]]:
        return [[None if int(x) == UNREACHABLE else int(x) for x in row] for row in a]

    data = {
        "points": points,
        "travel": model.describe(),
        "durations_s": rows(m.durations_s),
        "distances_m": rows(m.distances_m),
    }
    if args.output:
        _write_json(args.output, data)
        provider = model.describe().get("provider")
        _say(f"{len(points)}×{len(points)} matrix from {provider} written to {args.output}")
    else:
        _out(json.dumps(data))
    return EXIT_OK


def _no_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not allowed")


def cmd_bench(args: argparse.Namespace) -> int:
    # benchmarks/ sits beside the packages in a source checkout, not in an install
    for root in (Path(__file__).resolve().parents[1], Path.cwd()):
        if (root / "benchmarks" / "__main__.py").exists() and str(root) not in sys.path:
            sys.path.insert(0, str(root))
            break
    try:
        from benchmarks.__main__ import main as bench_main
    except ImportError:
        raise InputError("benchmarks are run from a source checkout: cd to the repository first") from None
    return int(bench_main(args.rest) or 0)


# --- parsing --------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        _say(f"error: {message}")
        raise SystemExit(EXIT_INPUT)


def _positive(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not (v > 0 and v < 1e6):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, not {text!r}")
    return v


def _count(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if not 1 <= v <= 100_000:
        raise argparse.ArgumentTypeError(f"must be between 1 and 100000, not {v}")
    return v


def add_common_options(parser: argparse.ArgumentParser, *, top: bool = False) -> None:
    """``-v/--verbose`` and ``-q/--quiet``, accepted before and after the subcommand alike.

    On subcommands the defaults are suppressed so an option given before the subcommand is
    not reset by the subcommand's parser; a parser that already has one keeps its own.
    """
    default: Any = False if top else argparse.SUPPRESS
    for flags, dest, text in (
        (("-v", "--verbose"), "verbose", "log what happens"),
        (("-q", "--quiet"), "quiet", "no progress or summary, warnings only"),
    ):
        if any(f in parser._option_string_actions for f in flags):
            continue
        parser.add_argument(*flags, dest=dest, action="store_true", default=default, help=text)


def build_parser(extra_commands: Callable[[Any], None] | None = None) -> argparse.ArgumentParser:
    """The parser; ``extra_commands(subparsers)`` adds commands of outer layers (the service)."""
    from onestop import __version__

    p = _Parser(prog="onestop", description="Plan and check a day of after-sales field work.")
    add_common_options(p, top=True)
    p.add_argument("--version", action="version", version=f"onestop {__version__}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    s = sub.add_parser("solve", help="plan a day from a v1 request")
    s.add_argument("request", help="request JSON file, or - for standard input")
    s.add_argument("-o", "--output", help="write the plan here (default: standard output)")
    s.add_argument("--preset", choices=["fast", "balanced", "quality"])
    s.add_argument("--time-limit", type=_positive, metavar="S", help="seconds to search")
    s.add_argument("--check", action="store_true", help="validate the plan before exiting")
    s.set_defaults(func=cmd_solve)

    s = sub.add_parser("validate", help="check a plan against its request's hard rules")
    s.add_argument("request")
    s.add_argument("plan")
    s.set_defaults(func=cmd_validate)

    s = sub.add_parser("demo", help="generate a city day, plan it, validate it, draw it")
    s.add_argument("--jobs", type=_count, default=60)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--time-limit", type=_positive, metavar="S")
    s.add_argument("--travel", choices=["haversine", "osm"], default="haversine")
    s.add_argument(
        "-o", "--output", "--out", dest="out", default="out/demo", help="folder for request, plan, pictures"
    )
    s.set_defaults(func=cmd_demo)

    s = sub.add_parser("matrix", help="travel times and distances between points")
    s.add_argument("points", help="JSON list of [lon, lat]")
    s.add_argument(
        "--travel", help='travel options as JSON, e.g. \'{"provider": "osm", "extract": "f.pbf"}\''
    )
    s.add_argument("-o", "--output")
    s.set_defaults(func=cmd_matrix)

    s = sub.add_parser("bench", help="run benchmarks (from a source checkout)")
    s.add_argument("rest", nargs=argparse.REMAINDER)
    s.set_defaults(func=cmd_bench)

    if extra_commands is not None:
        extra_commands(sub)
    for command in sub.choices.values():
        add_common_options(command)
    return p


def main(argv: Sequence[str] | None = None, extra_commands: Callable[[Any], None] | None = None) -> int:
    """Entry point; returns the exit code (and exits with it when run as a script)."""
    parser = build_parser(extra_commands)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else EXIT_INPUT
        if argv is None:
            raise
        return code
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    code = _run(args)
    if argv is None:
        sys.exit(code)
    return code


def _run(args: argparse.Namespace) -> int:
    from onestop.geodata import ProviderUnavailable, TravelDataError

    try:
        return int(args.func(args))
    except RequestError as exc:
        for e in exc.errors[:20]:
            _say(f"error: {e}")
        if len(exc.errors) > 20:
            _say(f"error: … and {len(exc.errors) - 20} more")
        return EXIT_INPUT
    except InputError as exc:
        _say(f"error: {exc}")
        return EXIT_INPUT
    except TravelDataError as exc:
        where = f"options.travel.{exc.field}: " if exc.field else "options.travel: "
        _say(f"error: {where}{exc}")
        return EXIT_INPUT
    except ProviderUnavailable as exc:
        _say(f"error: travel provider unavailable: {exc}")
        return EXIT_UNAVAILABLE
    except KeyboardInterrupt:
        _say("interrupted")
        return EXIT_INTERRUPTED
    except Exception as exc:  # the promise: never a traceback
        log.info("internal error", exc_info=True)
        _say(f"internal error: {type(exc).__name__}: {exc} (run with -v for details)")
        return EXIT_INTERNAL
