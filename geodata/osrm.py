"""A client of a user-run OSRM server's ``table`` service.

``GET {url}/table/v1/{profile}/{lon,lat;...}?annotations=duration,distance`` answers
``{"code": "Ok", "durations": [[s, ...]], "distances": [[m, ...]]}`` with ``null`` for
pairs without a route. Large matrices go in blocks of ``chunk`` × ``chunk`` pairs
(``sources=`` / ``destinations=``), since OSRM refuses tables above its
``--max-table-size`` (100 by default). Only the standard library is used (urllib).
"""

from __future__ import annotations

import json
import logging
import math
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import ProviderUnavailable, TravelDataError
from .travel import UNREACHABLE, Matrices, Point, check_points

log = logging.getLogger(__name__)

_PROFILE_RE = re.compile(r"^[A-Za-z0-9_.-]+$")


@dataclass(frozen=True, slots=True)
class OsrmTable:
    """Travel times and distances from an OSRM server.

    Parameters
    ----------
    url
        Base URL of the server, e.g. ``"http://localhost:5000"``.
    profile
        OSRM profile in the path (default ``"driving"``).
    timeout_s
        Seconds to wait for each HTTP answer (default 30).
    chunk
        Largest number of sources (and of destinations) per request (default 100).
    parallel
        Requests in flight at once (default 4).

    Raises
    ------
    TravelDataError
        A setting is malformed (at construction).
    ProviderUnavailable
        The server cannot be reached, times out, or answers anything but a valid table.
    """

    url: str
    profile: str = "driving"
    timeout_s: float = 30.0
    chunk: int = 100
    parallel: int = 4
    name: str = "osrm"

    def __post_init__(self) -> None:
        parsed = urllib.parse.urlsplit(self.url) if isinstance(self.url, str) else None
        if parsed is None or parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise TravelDataError("url must be an http(s) URL such as http://host:5000.", "url")
        object.__setattr__(self, "url", self.url.rstrip("/"))
        if not (isinstance(self.profile, str) and _PROFILE_RE.match(self.profile)):
            raise TravelDataError("profile must be a name such as \"driving\".", "profile")
        t = self.timeout_s
        if isinstance(t, bool) or not isinstance(t, int | float) or not (
            math.isfinite(t) and t > 0
        ):
            raise TravelDataError("timeout_s must be a number > 0.", "timeout_s")
        for fld in ("chunk", "parallel"):
            val = getattr(self, fld)
            if isinstance(val, bool) or not isinstance(val, int) or val < 1:
                raise TravelDataError(f"{fld} must be an integer >= 1.", fld)

    def describe(self) -> dict[str, Any]:
        return {"provider": self.name, "url": self.url, "profile": self.profile}

    def matrices(self, points: Sequence[Point]) -> Matrices:
        """Ceil seconds and rounded metres between all points, ``UNREACHABLE`` for null."""
        arr = check_points(points)
        n = len(arr)
        dur = np.zeros((n, n), dtype=np.int64)
        dis = np.zeros((n, n), dtype=np.int64)
        blocks = [
            (i, j) for i in range(0, n, self.chunk) for j in range(0, n, self.chunk)
        ]

        def run(block: tuple[int, int]) -> None:
            i, j = block
            rows = np.arange(i, min(i + self.chunk, n))
            cols = np.arange(j, min(j + self.chunk, n))
            d, m = self._table(arr, rows, cols)
            dur[np.ix_(rows, cols)] = d
            dis[np.ix_(rows, cols)] = m

        if len(blocks) <= 1 or self.parallel == 1:
            for b in blocks:
                run(b)
        else:
            with ThreadPoolExecutor(max_workers=min(self.parallel, len(blocks))) as pool:
                list(pool.map(run, blocks))
        np.fill_diagonal(dur, 0)
        np.fill_diagonal(dis, 0)
        return Matrices(dur, dis, self.name, self.describe())

    def _table(
        self, arr: np.ndarray, rows: np.ndarray, cols: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """One request: rows × cols, sending each distinct point once."""
        if rows[0] == cols[0] and len(rows) == len(cols):
            coords = arr[rows]
            query: dict[str, str] = {}
        else:
            coords = np.concatenate((arr[rows], arr[cols]))
            query = {
                "sources": ";".join(str(k) for k in range(len(rows))),
                "destinations": ";".join(str(len(rows) + k) for k in range(len(cols))),
            }
        query["annotations"] = "duration,distance"
        path = ";".join(f"{lon:.7f},{lat:.7f}" for lon, lat in coords)
        qs = urllib.parse.urlencode(query, safe=";,")
        url = f"{self.url}/table/v1/{self.profile}/{path}?{qs}"
        body = self._get(url)
        return (
            self._matrix(body, "durations", len(rows), len(cols), np.ceil),
            self._matrix(body, "distances", len(rows), len(cols), np.rint),
        )

    def _get(self, url: str) -> dict[str, Any]:
        """The decoded JSON answer; ProviderUnavailable for anything else."""
        req = urllib.request.Request(url, headers={"Accept": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=self.timeout_s) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as exc:
            # OSRM answers 400 with a JSON body for e.g. "TooBig" or "InvalidQuery".
            try:
                raw = exc.read()
            except OSError:
                raw = b""
            detail = _error_detail(raw) or f"HTTP {exc.code}"
            raise ProviderUnavailable(
                f"OSRM at {self.url} refused the table request: {detail}"
            ) from exc
        except TimeoutError as exc:
            raise ProviderUnavailable(
                f"OSRM at {self.url} did not answer within {self.timeout_s:g} s."
            ) from exc
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            if isinstance(reason, TimeoutError):
                raise ProviderUnavailable(
                    f"OSRM at {self.url} did not answer within {self.timeout_s:g} s."
                ) from exc
            raise ProviderUnavailable(f"OSRM at {self.url} is unreachable: {reason}") from exc
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ProviderUnavailable(
                f"OSRM at {self.url} answered something that is not JSON."
            ) from exc
        if not isinstance(body, dict):
            raise ProviderUnavailable(f"OSRM at {self.url} answered JSON that is not an object.")
        if body.get("code") != "Ok":
            detail = _error_detail(raw) or "no code"
            raise ProviderUnavailable(f"OSRM at {self.url} answered an error: {detail}")
        return body

    def _matrix(
        self, body: dict[str, Any], key: str, rows: int, cols: int, rounding: Any
    ) -> np.ndarray:
        """``body[key]`` as int64 rows × cols, null → UNREACHABLE; garbage → ProviderUnavailable."""
        data = body.get(key)
        if not isinstance(data, list) or len(data) != rows or any(
            not isinstance(r, list) or len(r) != cols for r in data
        ):
            raise ProviderUnavailable(
                f"OSRM at {self.url} answered without a {rows}x{cols} {key!r} table."
            )
        try:
            m = np.array(
                [[np.nan if x is None else float(x) for x in r] for r in data], dtype=float
            ).reshape(rows, cols)
        except (TypeError, ValueError) as exc:
            raise ProviderUnavailable(
                f"OSRM at {self.url} answered non-numbers in {key!r}."
            ) from exc
        null = np.isnan(m)
        if (m[~null] < 0).any() or np.isinf(m).any():
            raise ProviderUnavailable(f"OSRM at {self.url} answered negative or infinite {key!r}.")
        out = rounding(np.where(null, 0.0, m)).astype(np.int64)
        out[null] = UNREACHABLE
        return out


def _error_detail(raw: bytes) -> str:
    """``"Code: message"`` from an OSRM error body, or empty."""
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return ""
    if not isinstance(body, dict):
        return ""
    code = body.get("code")
    msg = body.get("message")
    return ": ".join(str(x) for x in (code, msg) if x) if (code or msg) else ""
