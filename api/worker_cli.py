"""``onestop worker``: the plan worker as a command, solving runs itself or handing them to a
Dask cluster. Kept apart from ``worker`` so that ``cluster`` (a kind of worker) and ``worker``
do not import each other: this module picks one of them.
"""

from __future__ import annotations

import argparse
import logging
import signal
from typing import Any

from .db import make_engine, migrate, session_factory
from .settings import Settings
from .worker import Worker

log = logging.getLogger("onestop.api.worker")


def run(
    *,
    database_url: str | None = None,
    lease_s: float | None = None,
    poll_s: float | None = None,
    once: bool = False,
    dask: str | None = None,
) -> int:
    """Run a worker in this process until SIGINT/SIGTERM (``onestop worker``); 0 on a clean stop."""
    overrides: dict[str, Any] = {}
    if database_url:
        overrides["database_url"] = database_url
    if lease_s:
        overrides["lease_s"] = lease_s
    if poll_s:
        overrides["poll_s"] = poll_s
    settings = Settings(**overrides)
    engine = make_engine(settings.database_url, pool_size=2)
    migrate(engine)
    dask = dask or settings.dask_scheduler
    if dask:
        from .cluster import ClusterWorker

        worker: Worker = ClusterWorker(session_factory(engine), settings, dask)
        once = False
    else:
        worker = Worker(session_factory(engine), settings)
    if once:
        worker.run_once()
        engine.dispose()
        return 0

    def _stop(signum: int, _frame: Any) -> None:
        log.info("signal %d: stopping after handing the current run back", signum)
        worker.stop()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    worker.run_forever()
    engine.dispose()
    return 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``onestop worker`` and ``python -m onestop.api.worker`` alike."""
    parser.add_argument("--database-url", help="overrides DATABASE_URL")
    parser.add_argument("--lease", type=float, help="lease seconds (default 30)")
    parser.add_argument("--poll", type=float, help="seconds between looks for work (default 1)")
    parser.add_argument("--once", action="store_true", help="solve at most one run, then exit")
    parser.add_argument(
        "--dask",
        metavar="ADDRESS",
        help="hand runs to a Dask cluster (tcp://host:8786, or local[:N] for N processes here); "
        "default ONESTOP_DASK_SCHEDULER",
    )


def run_args(args: argparse.Namespace) -> int:
    from .commands import load_settings
    from .logs import setup_logging

    load_settings(database_url=args.database_url)  # one line of error for a bad setting
    setup_logging(_level(args))
    return run(
        database_url=args.database_url, lease_s=args.lease, poll_s=args.poll, once=args.once, dask=args.dask
    )


def _level(args: argparse.Namespace) -> str:
    """The service logs INFO unless the command line says -v (DEBUG) or -q (WARNING)."""
    if getattr(args, "verbose", False):
        return "DEBUG"
    return "WARNING" if getattr(args, "quiet", False) else "INFO"


def main(argv: list[str] | None = None) -> int:
    from .commands import standalone

    return standalone("onestop worker", "Solve queued plan runs.", add_arguments, run_args, argv)


if __name__ == "__main__":
    raise SystemExit(main())
