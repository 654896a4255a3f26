"""Caches: travel matrices per (provider settings, points), in memory and on disk.

Re-planning the same day asks for the same matrices again; a road-network or OSRM matrix
for 2,000 points costs seconds, reading it back costs milliseconds. Disk entries are
``.npz`` files written to a temporary name and moved into place with ``os.replace``, so
concurrent processes never read a half-written file (the last writer wins, and every
writer writes the same bytes for the same key).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import threading
import zipfile
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .travel import Matrices, Point, TravelModel, check_points

log = logging.getLogger(__name__)

#: Bumped whenever the on-disk layout or the meaning of cached numbers changes.
MATRIX_CACHE_VERSION = 1


def cache_dir() -> Path:
    """The cache directory: ``$ONESTOP_CACHE_DIR`` or ``~/.cache/onestop``."""
    env = os.environ.get("ONESTOP_CACHE_DIR")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "onestop"


def atomic_save_npz(path: Path, **arrays: np.ndarray) -> None:
    """Write ``arrays`` to ``path`` via a temporary file and ``os.replace`` (race safe)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **arrays)  # type: ignore[arg-type]
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_npz(path: Path) -> dict[str, np.ndarray] | None:
    """The arrays in ``path``, or None when it is missing or unreadable (treated as a miss)."""
    try:
        with np.load(path, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
    except FileNotFoundError:
        return None
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        log.warning("ignoring unreadable cache file %s: %s", path, exc)
        return None


def matrix_key(settings: dict[str, Any], points: np.ndarray) -> str:
    """A stable hash of the provider settings and the exact point coordinates."""
    h = hashlib.sha256()
    h.update(f"v{MATRIX_CACHE_VERSION}".encode())
    h.update(json.dumps(settings, sort_keys=True, default=str).encode())
    h.update(np.ascontiguousarray(points, dtype="<f8").tobytes())
    return h.hexdigest()


@dataclass(slots=True)
class CacheStats:
    """Counters for tests and logs: where each ``matrices`` call was answered from."""

    memory_hits: int = 0
    disk_hits: int = 0
    misses: int = 0


@dataclass(eq=False)
class CachedModel:
    """A travel model whose matrices are remembered in memory (LRU) and on disk.

    Parameters
    ----------
    model
        The model that computes matrices on a miss.
    directory
        Where ``.npz`` entries go; default ``cache_dir() / "matrices"``. ``None`` with
        ``disk=False`` keeps the cache in memory only.
    memory_items
        How many matrices the in-memory LRU keeps (default 16).
    disk
        Whether to read and write the disk cache (default True).
    """

    model: TravelModel
    directory: Path | None = None
    memory_items: int = 16
    disk: bool = True
    stats: CacheStats = field(default_factory=CacheStats)
    _lru: OrderedDict[str, Matrices] = field(default_factory=OrderedDict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def name(self) -> str:
        return self.model.name

    def describe(self) -> dict[str, Any]:
        return self.model.describe()

    def _path(self, key: str) -> Path:
        base = self.directory if self.directory is not None else cache_dir() / "matrices"
        return Path(base) / key[:2] / f"{key}.npz"

    def matrices(self, points: Sequence[Point]) -> Matrices:
        """Matrices for ``points``, from memory, disk or the wrapped model, in that order."""
        arr = check_points(points)
        settings = self.model.describe()
        key = matrix_key(settings, arr)
        with self._lock:
            hit = self._lru.get(key)
            if hit is not None:
                self._lru.move_to_end(key)
                self.stats.memory_hits += 1
                return hit
        result: Matrices | None = None
        if self.disk:
            data = load_npz(self._path(key))
            n = len(arr)
            if data is not None and all(
                k in data and data[k].shape == (n, n) for k in ("durations_s", "distances_m")
            ):
                result = Matrices(data["durations_s"], data["distances_m"], self.name, settings)
                with self._lock:
                    self.stats.disk_hits += 1
        if result is None:
            result = self.model.matrices(points)
            with self._lock:
                self.stats.misses += 1
            if self.disk:
                try:
                    atomic_save_npz(
                        self._path(key),
                        durations_s=result.durations_s,
                        distances_m=result.distances_m,
                    )
                except OSError as exc:  # a read-only or full disk must not fail a plan
                    log.warning("could not write matrix cache %s: %s", self._path(key), exc)
        with self._lock:
            self._lru[key] = result
            self._lru.move_to_end(key)
            while len(self._lru) > max(self.memory_items, 0):
                self._lru.popitem(last=False)
        return result

    def clear_memory(self) -> None:
        """Forget the in-memory entries (the disk cache stays)."""
        with self._lock:
            self._lru.clear()


def cached(
    model: TravelModel,
    *,
    directory: Path | str | None = None,
    memory_items: int = 16,
    disk: bool = True,
) -> CachedModel:
    """Wrap ``model`` in a matrix cache; wrapping a cached model returns it unchanged."""
    if isinstance(model, CachedModel):
        return model
    return CachedModel(
        model,
        Path(directory) if directory is not None else None,
        memory_items,
        disk,
    )
