"""``onestop serve``: the API under uvicorn."""

from __future__ import annotations

import argparse
import logging


def run(host: str = "127.0.0.1", port: int = 8000, *, workers_embedded: bool | None = None) -> int:
    """Serve the API until interrupted; migrations apply on start-up. Returns an exit code."""
    import uvicorn

    from .main import create_app
    from .settings import Settings

    settings = Settings() if workers_embedded is None else Settings(embedded_worker=workers_embedded)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    uvicorn.run(create_app(settings), host=host, port=port, log_level="info", access_log=False)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="onestop serve", description="Run the OneStop HTTP API.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument(
        "--no-embedded-worker",
        action="store_true",
        help="leave plan runs to separate `onestop worker` processes",
    )
    args = parser.parse_args(argv)
    return run(args.host, args.port, workers_embedded=False if args.no_embedded_worker else None)


if __name__ == "__main__":
    raise SystemExit(main())
