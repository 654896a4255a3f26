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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="onestop worker", description="Solve queued plan runs.")
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
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return run(
        database_url=args.database_url, lease_s=args.lease, poll_s=args.poll, once=args.once, dask=args.dask
    )


if __name__ == "__main__":
    raise SystemExit(main())
