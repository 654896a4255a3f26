"""The OneStop HTTP service: FastAPI over SQLAlchemy, plan runs in the background, API keys.

Entry points for the CLI: ``serve.run(host, port)``, ``worker_cli.run(...)`` and
``keys.create(role, zone, resource)``. The names below load on first use, so the solver
child process and ``onestop keys`` do not import the web framework.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .main import create_app as create_app
    from .settings import Settings as Settings
    from .worker import Executor as Executor
    from .worker import Worker as Worker

__all__ = ["Executor", "Settings", "Worker", "create_app"]

_HOMES = {"create_app": ".main", "Settings": ".settings", "Executor": ".worker", "Worker": ".worker"}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        import importlib

        return getattr(importlib.import_module(_HOMES[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
