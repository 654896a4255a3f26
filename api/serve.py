"""``onestop serve``: the API under uvicorn."""

from __future__ import annotations

import argparse
import os

from .logs import setup_logging

#: Seconds uvicorn waits for open requests after SIGINT/SIGTERM before it cancels them. Live
#: streams end at once (sse-starlette watches for shutdown); this bounds everything else.
GRACEFUL_SHUTDOWN_S = 5.0


def run(
    host: str = "127.0.0.1",
    port: int = 8000,
    *,
    workers: int = 1,
    embedded_worker: bool | None = None,
    graceful_s: float = GRACEFUL_SHUTDOWN_S,
) -> int:
    """Serve the API until interrupted; migrations apply on start-up. Returns an exit code.

    Parameters
    ----------
    host, port
        Where to listen.
    workers
        Server processes (uvicorn ``--workers``); each reads the settings from the
        environment and runs its own embedded plan worker unless that is turned off.
    embedded_worker
        Overrides ``ONESTOP_EMBEDDED_WORKER`` (False when ``onestop worker`` processes solve).
    graceful_s
        Longest wait for open requests on shutdown; the server stops within about this.
    """
    import uvicorn

    if embedded_worker is not None:
        os.environ["ONESTOP_EMBEDDED_WORKER"] = "true" if embedded_worker else "false"
    config = setup_logging("INFO")
    common = {"log_config": config, "access_log": False, "timeout_graceful_shutdown": graceful_s}
    if workers > 1:
        uvicorn.run(
            "onestop.api.main:create_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            **common,
        )
        return 0
    from .main import create_app

    uvicorn.run(create_app(), host=host, port=port, **common)
    return 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``onestop serve`` and ``python -m onestop.api.serve`` alike."""
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=1, help="server processes (default 1)")
    parser.add_argument(
        "--no-embedded-worker",
        action="store_true",
        help="leave plan runs to separate `onestop worker` processes",
    )


def run_args(args: argparse.Namespace) -> int:
    """Check the settings (a short ``ONESTOP_BOOTSTRAP_KEY`` is refused here, in one line),
    then serve."""
    from .commands import load_settings

    load_settings()
    return run(
        args.host, args.port, workers=args.workers, embedded_worker=False if args.no_embedded_worker else None
    )


def main(argv: list[str] | None = None) -> int:
    from .commands import standalone

    return standalone("onestop serve", "Run the OneStop HTTP API.", add_arguments, run_args, argv)


if __name__ == "__main__":
    raise SystemExit(main())
