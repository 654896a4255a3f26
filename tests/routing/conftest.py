"""Shared builders for routing tests: Solomon reader and small problem helpers."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from onestop.routing import Node, RoutingProblem, Vehicle

SOLOMON_DIR = Path("/work/shared/instances/solomon")


def read_solomon(path: Path, *, max_customers: int | None = None) -> RoutingProblem:
    """A Solomon VRPTW instance, DIMACS style (coordinates x10, truncated)."""
    lines = [ln.split() for ln in path.read_text().splitlines() if ln.strip()]
    nveh, cap = int(lines[3][0]), int(lines[3][1])
    rows = [list(map(int, ln)) for ln in lines[6:] if ln[0].isdigit()]
    if max_customers is not None:
        rows = rows[: max_customers + 1]
    xy = np.array([(r[1], r[2]) for r in rows], dtype=np.float64)
    diff = xy[:, None, :] - xy[None, :, :]
    dist = np.floor(np.sqrt((diff**2).sum(-1)) * 10).astype(np.int64)
    depot = rows[0]
    nodes = [
        Node(location=r[0], windows=((r[4] * 10, r[5] * 10),), service_s=r[6] * 10,
             demand=(r[3],), penalty=None)
        for r in rows[1:]
    ]
    nodes.append(Node(location=0))
    vehicles = tuple(
        Vehicle(start=len(nodes) - 1, end=len(nodes) - 1, shift=(depot[4] * 10, depot[5] * 10),
                capacity=(cap,))
        for _ in range(nveh)
    )
    return RoutingProblem(
        durations=dist, distances=dist, nodes=tuple(nodes), vehicles=vehicles,
        dimensions=("demand",),
    )


def euclid(points: list[tuple[float, float]]) -> np.ndarray:
    """Integer Euclidean matrix (truncated) over points."""
    n = len(points)
    return np.array(
        [[int(math.dist(points[i], points[j])) for j in range(n)] for i in range(n)],
        dtype=np.int64,
    )
