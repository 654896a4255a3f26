"""VRPSPD instances as v1 requests for the dispatch tests: the benchmark's own converter.

One converter for tests and figures (``benchmarks.v1``): every customer an ``exchange`` (or a
``pickup`` / ``delivery`` when one side is zero), warehouse and service centre at the depot,
the instance's fleet and matrix, ``objective: distance``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

_REPO = str(Path(__file__).resolve().parents[2])
if _REPO not in sys.path:
    sys.path.insert(0, _REPO)

from benchmarks import v1  # noqa: E402

INSTANCES = v1.default_instances_dir() / "vrpspd"


def request(path: str, *, time_limit_s: float = 10) -> dict[str, Any]:
    """The v1 request for ``<set>/<name>.vrpspd`` under the shared instances."""
    return v1.to_request(v1.read(INSTANCES / path, "vrpspd"), time_limit_s)
