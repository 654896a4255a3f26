"""One logging set-up for ``onestop serve`` and ``onestop worker``.

The CLI's own ``basicConfig`` (WARNING unless ``--verbose``) ran first, so a second
``basicConfig`` in the service was a no-op and its INFO lines were lost. This one
``dictConfig`` (also handed to uvicorn as its ``log_config``, so every server process applies
it) replaces the root handlers: the service's loggers and uvicorn's write the same lines.
"""

from __future__ import annotations

import logging.config
from typing import Any

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def log_config(level: str = "INFO") -> dict[str, Any]:
    """The dictConfig for the service: root and uvicorn's loggers to stderr at ``level``."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"plain": {"format": FORMAT}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "plain", "stream": "ext://sys.stderr"}},
        "root": {"handlers": ["stderr"], "level": level},
        "loggers": {
            # uvicorn's loggers go up to the root's handler instead of their own
            "uvicorn": {"handlers": [], "level": level, "propagate": True},
            "uvicorn.error": {"handlers": [], "level": level, "propagate": True},
            "uvicorn.access": {"handlers": [], "level": level, "propagate": True},
        },
    }


def setup_logging(level: str = "INFO") -> dict[str, Any]:
    """Apply ``log_config(level)`` now; returns it (for uvicorn's ``log_config``)."""
    config = log_config(level)
    logging.config.dictConfig(config)
    return config
