"""A client of a user-run OSRM server's ``table`` service.

``GET {url}/table/v1/{profile}/{lon,lat;...}?annotations=duration,distance`` answers
``{"code": "Ok", "durations": [[s, ...]], "distances": [[m, ...]]}`` with ``null`` for
pairs without a route. Large matrices go in blocks of ``chunk`` × ``chunk`` pairs
(``sources=`` / ``destinations=``), since OSRM refuses tables above its
``--max-table-size`` (100 by default).

A 2,000-point matrix takes ~400 requests, so one matrix shares one ``httpx`` client (kept-alive
connections instead of a new one per block) and retries a request that failed in passing
(connection errors, time-outs, 429 and 5xx answers) with exponential backoff: one dropped
request must not fail the plan. OSRM's own refusals (400 ``TooBig``, ``InvalidQuery``) are
not retried, they would fail again.
"""

from __future__ import annotations

import json
import logging
import math
import random
import re
import time
import urllib.parse
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx
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
    retries
        Further tries of a request that failed in passing (default 4), after
        ``backoff_s`` × 2^k seconds (with jitter, at most 5 s each).
    backoff_s
        First pause between tries (default 0.2).

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
    retries: int = 4
    backoff_s: float = 0.2
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
        r = self.retries
        if isinstance(r, bool) or not isinstance(r, int) or not 0 <= r <= 10:
            raise TravelDataError("retries must be an integer from 0 to 10.", "retries")
        b = self.backoff_s
        if isinstance(b, bool) or not isinstance(b, int | float) or not (math.isfinite(b) and 0 <= b <= 60):
            raise TravelDataError("backoff_s must be a number from 0 to 60.", "backoff_s")

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

        workers = min(self.parallel, len(blocks))

        def run(client: httpx.Client, block: tuple[int, int]) -> None:
            i, j = block
            rows = np.arange(i, min(i + self.chunk, n))
            cols = np.arange(j, min(j + self.chunk, n))
            d, m = self._table(client, arr, rows, cols)
            dur[np.ix_(rows, cols)] = d
            dis[np.ix_(rows, cols)] = m

        with self._client(workers) as client:
            if workers <= 1:
                for b in blocks:
                    run(client, b)
            else:
                with ThreadPoolExecutor(max_workers=workers) as pool:
                    list(pool.map(lambda b: run(client, b), blocks))
        np.fill_diagonal(dur, 0)
        np.fill_diagonal(dis, 0)
        return Matrices(dur, dis, self.name, self.describe())

    def _client(self, connections: int) -> httpx.Client:
        """One client for a whole matrix: its pool keeps a connection per thread alive."""
        n = max(1, connections)
        limits = httpx.Limits(max_connections=n, max_keepalive_connections=n)
        return httpx.Client(
            timeout=httpx.Timeout(self.timeout_s),
            limits=limits,
            headers={"Accept": "application/json"},
            follow_redirects=False,
        )

    def _table(
        self, client: httpx.Client, arr: np.ndarray, rows: np.ndarray, cols: np.ndarray
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
        body = self._get(client, url)
        return (
            self._matrix(body, "durations", len(rows), len(cols), np.ceil),
            self._matrix(body, "distances", len(rows), len(cols), np.rint),
        )

    def _get(self, client: httpx.Client, url: str) -> dict[str, Any]:
        """The decoded JSON answer, retrying passing failures; ProviderUnavailable for anything else."""
        for attempt in range(self.retries + 1):
            try:
                return self._get_once(client, url)
            except _Transient as exc:
                if attempt == self.retries:
                    raise ProviderUnavailable(str(exc)) from exc.__cause__
                pause = min(5.0, self.backoff_s * 2**attempt) * (0.5 + random.random() / 2)
                log.info("OSRM request failed (%s); try %d of %d in %.2f s",
                         exc, attempt + 2, self.retries + 1, pause)
                time.sleep(pause)
        raise AssertionError("unreachable")  # pragma: no cover

    def _get_once(self, client: httpx.Client, url: str) -> dict[str, Any]:
        """One try: the JSON object, ``_Transient`` for a failure worth retrying."""
        try:
            resp = client.get(url)
        except httpx.TimeoutException as exc:
            raise _Transient(f"OSRM at {self.url} did not answer within {self.timeout_s:g} s.") from exc
        except httpx.TransportError as exc:
            raise _Transient(f"OSRM at {self.url} is unreachable: {exc or type(exc).__name__}") from exc
        raw = resp.content
        if resp.status_code == 429 or resp.status_code >= 500:
            detail = _error_detail(raw) or f"HTTP {resp.status_code}"
            raise _Transient(f"OSRM at {self.url} failed the table request: {detail}")
        if resp.status_code >= 400:
            # OSRM answers 400 with a JSON body for e.g. "TooBig" or "InvalidQuery".
            detail = _error_detail(raw) or f"HTTP {resp.status_code}"
            raise ProviderUnavailable(f"OSRM at {self.url} refused the table request: {detail}")
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


class _Transient(Exception):
    """A failure that may not happen again: the request is tried anew after a pause."""


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
