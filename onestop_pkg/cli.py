"""The `onestop` console script: dispatch's commands plus the service's.

It sits above the four layers so that dispatch never imports api.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from onestop.dispatch.cli import InputError
from onestop.dispatch.cli import main as dispatch_main


def _serve(args: argparse.Namespace) -> int:
    from onestop.api.serve import run

    run(args.host, args.port, workers=args.workers)
    return 0


def _worker(args: argparse.Namespace) -> int:
    from onestop.api.worker_cli import main

    argv = ["--once"] if args.once else []
    if args.database_url:
        argv += ["--database-url", args.database_url]
    return int(main(argv) or 0)


def _keys(args: argparse.Namespace) -> int:
    from onestop.api.keys import create

    try:
        key = create(args.role, zone=args.zone, resource=args.resource)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    sys.stdout.write(key + "\n")
    sys.stderr.write("store this key now: it is shown only once\n")
    return 0


def service_commands(sub: Any) -> None:
    """`serve`, `worker` and `keys`: the HTTP service's commands."""
    s = sub.add_parser("serve", help="run the HTTP API")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8000)
    s.add_argument("--workers", type=int, default=1, help="server processes")
    s.set_defaults(func=_serve)

    s = sub.add_parser("worker", help="run a plan worker")
    s.add_argument("--database-url", help="overrides DATABASE_URL")
    s.add_argument("--once", action="store_true", help="solve at most one queued run, then exit")
    s.set_defaults(func=_worker)

    s = sub.add_parser("keys", help="create an API key")
    s.add_argument("action", choices=["create"])
    s.add_argument("--role", required=True, choices=["dispatcher", "courier", "technician", "customer"])
    s.add_argument("--zone")
    s.add_argument("--resource")
    s.set_defaults(func=_keys)


def main(argv: Sequence[str] | None = None) -> int:
    return dispatch_main(argv, extra_commands=service_commands)
