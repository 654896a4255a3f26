"""The OneStop HTTP service: FastAPI over SQLAlchemy, plan runs in the background, API keys.

Entry points for the CLI: ``serve.run(host, port)``, ``worker.run(...)`` and
``keys.create(role, zone, resource)``.
"""

from .main import create_app as create_app
from .settings import Settings as Settings
from .worker import Executor as Executor
from .worker import Worker as Worker

__all__ = ["Executor", "Settings", "Worker", "create_app"]
