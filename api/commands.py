"""What the service's commands share, so ``onestop serve|worker|keys`` and
``python -m onestop.api.serve|worker|keys`` are one definition each.

Each command module exposes ``add_arguments(parser)`` and ``run_args(args) -> int``; the
console script (``onestop.cli``) adds them as subcommands, and each module's ``main`` wraps
them with ``standalone``. Both paths accept the same options, answer bad input with one
``error:`` line and exit code 2, and never print a traceback.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from typing import Any

from onestop.dispatch.cli import EXIT_INPUT, EXIT_INTERNAL, InputError, add_common_options
from pydantic import ValidationError

from .settings import Settings


def load_settings(**overrides: Any) -> Settings:
    """The settings from the environment (plus ``overrides``); a bad value is one line of input
    error naming the variable, e.g. a bootstrap key shorter than 32 characters."""
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        first = exc.errors()[0]
        name = "ONESTOP_" + str(first["loc"][0]).upper() if first.get("loc") else "settings"
        message = str(first.get("msg", exc)).removeprefix("Value error, ")
        raise InputError(f"{name}: {message}") from None


def standalone(
    prog: str,
    description: str,
    add_arguments: Callable[[argparse.ArgumentParser], None],
    run_args: Callable[[argparse.Namespace], int],
    argv: Sequence[str] | None = None,
) -> int:
    """``python -m onestop.api.<command>``: the same parser and exit codes as ``onestop <command>``."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    add_arguments(parser)
    add_common_options(parser)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else EXIT_INPUT
    verbose = getattr(args, "verbose", False)
    quiet = getattr(args, "quiet", False)
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(run_args(args) or 0)
    except InputError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return EXIT_INPUT
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # never a traceback
        logging.getLogger(prog).debug("internal error", exc_info=True)
        sys.stderr.write(f"internal error: {type(exc).__name__}: {exc} (run with -v for details)\n")
        return EXIT_INTERNAL
