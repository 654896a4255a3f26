"""Per-key limits: open streams, events and quotes a key may use, answered with 429 and
``Retry-After`` past them, so one key (a runaway app, a leaked token) cannot take the
service from everyone else.

Counters live in the server process (no database round trip on the hot path): with N server
processes a key gets at most N times its limit. Streams are counted while open; events and
quotes by a token bucket per key (``per_minute`` taken at once, refilled evenly).
"""

from __future__ import annotations

import math
import threading
import time

from fastapi import Depends, Request

from .deps import PrincipalDep
from .errors import Problem
from .security import Principal


def too_many(detail: str, retry_after_s: float) -> Problem:
    """A 429 problem telling the client when to try again (whole seconds, at least 1)."""
    wait = str(max(1, math.ceil(retry_after_s)))
    return Problem(429, "Too many requests", detail, kind="too-many-requests", headers={"Retry-After": wait})


class RateLimiter:
    """Token buckets per key: ``per_minute`` requests at once, then one every 60/per_minute s."""

    def __init__(self, per_minute: int, *, size: int = 100_000) -> None:
        self.per_minute = per_minute
        self.size = size
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, at)
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """0 when the request may go on (a token is taken), else seconds until a token is back."""
        rate = self.per_minute / 60.0
        now = time.monotonic()
        with self._lock:
            tokens, at = self._buckets.get(key, (float(self.per_minute), now))
            tokens = min(float(self.per_minute), tokens + (now - at) * rate)
            if tokens >= 1.0:
                if len(self._buckets) >= self.size and key not in self._buckets:
                    self._buckets.clear()  # bounded memory; forgetting only lets keys in
                self._buckets[key] = (tokens - 1.0, now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / rate


class StreamSlots:
    """Open streams per key; a slot is given back when its stream ends however it ends."""

    def __init__(self, per_key: int) -> None:
        self.per_key = per_key
        self._open: dict[str, int] = {}
        self._lock = threading.Lock()

    def acquire(self, key: str) -> StreamSlot:
        with self._lock:
            if self._open.get(key, 0) >= self.per_key:
                raise too_many(
                    f"this key already has {self.per_key} open streams; close one or resume later", 5
                )
            self._open[key] = self._open.get(key, 0) + 1
        return StreamSlot(self, key)

    def _release(self, key: str) -> None:
        with self._lock:
            left = self._open.get(key, 0) - 1
            if left > 0:
                self._open[key] = left
            else:
                self._open.pop(key, None)

    def open_count(self, key: str) -> int:
        return self._open.get(key, 0)


class StreamSlot:
    """One open stream's place; ``release`` may be called more than once (taken back once)."""

    def __init__(self, slots: StreamSlots, key: str) -> None:
        self._slots = slots
        self._key = key
        self._held = True

    def release(self) -> None:
        if self._held:
            self._held = False
            self._slots._release(self._key)


def _state(request: Request, name: str, make: type, limit: int) -> object:
    holder = request.app.state
    found = getattr(holder, name, None)
    if found is None:
        found = make(limit)
        setattr(holder, name, found)
    return found


def stream_slot(request: Request, who: Principal) -> StreamSlot:
    """A slot for a new stream of ``who``'s key, or 429 when it has ``stream_limit_per_key`` open."""
    slots = _state(request, "stream_slots", StreamSlots, request.app.state.settings.stream_limit_per_key)
    assert isinstance(slots, StreamSlots)
    return slots.acquire(who.key_id)


def _limited(name: str, setting: str, what: str):  # type: ignore[no-untyped-def]
    async def check(request: Request, who: PrincipalDep) -> None:
        per_minute = getattr(request.app.state.settings, setting)
        limiter = _state(request, name, RateLimiter, per_minute)
        assert isinstance(limiter, RateLimiter)
        wait = limiter.take(who.key_id)
        if wait > 0:
            raise too_many(f"this key sent more than {per_minute} {what} a minute; retry later", wait)

    return check


#: Route dependencies: ``dependencies=[EventLimit]`` on the events route, ``[QuoteLimit]`` on quotes.
EventLimit = Depends(_limited("event_limiter", "events_per_minute_per_key", "events"))
QuoteLimit = Depends(_limited("quote_limiter", "quotes_per_minute_per_key", "quotes"))
