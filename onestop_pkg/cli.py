"""The `onestop` console script: dispatch's commands plus the service's.

It sits above the four layers so that dispatch never imports api. The service's commands are
defined once, in their modules (``add_arguments`` / ``run_args`` of ``onestop.api.serve``,
``.worker_cli`` and ``.keys``), so ``onestop worker --dask ADDRESS`` and
``python -m onestop.api.worker --dask ADDRESS`` accept exactly the same options.
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Sequence
from typing import Any

from onestop.dispatch.cli import main as dispatch_main

#: command → (module, help)
SERVICE_COMMANDS = {
    "serve": ("onestop.api.serve", "run the HTTP API"),
    "worker": ("onestop.api.worker_cli", "run a plan worker (or hand runs to a Dask cluster with --dask)"),
    "keys": ("onestop.api.keys", "create, list and revoke API keys"),
}


def _runner(module: str) -> Any:
    def run(args: argparse.Namespace) -> int:
        return int(importlib.import_module(module).run_args(args) or 0)

    return run


def service_commands(sub: Any) -> None:
    """`serve`, `worker` and `keys`: the HTTP service's commands, from their own modules."""
    for name, (module, text) in SERVICE_COMMANDS.items():
        parser = sub.add_parser(name, help=text, description=text)
        importlib.import_module(module).add_arguments(parser)
        parser.set_defaults(func=_runner(module))


def main(argv: Sequence[str] | None = None) -> int:
    return dispatch_main(argv, extra_commands=service_commands)
