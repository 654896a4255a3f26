"""One read of the change feed per process, shared by every open live stream.

Each server-sent-event stream used to ask the database for its changes every half second,
so a thousand customers watching their technician meant two thousand queries a second. The
hub reads the feed once every ``interval_s`` while anyone is waiting, keeps the recent
changes in memory, and wakes the streams; each stream picks its own changes (its zone, its
job) from memory. A stream that is further behind than the memory reaches (a resume with
an old ``Last-Event-ID``) reads the database itself until it catches up.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import time
from collections.abc import Callable

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from .models import LiveChange

#: Seconds between the hub's reads of the feed.
INTERVAL_S = 0.25
#: Changes kept in memory for the streams.
KEEP = 20_000
#: Most changes taken from the feed in one read.
BATCH = 2_000
#: Seconds a missing id may hold back the changes after it (a transaction still open).
GAP_WAIT_S = 2.0


class ChangeHub:
    """The recent changes (ids above ``floor``) and an event that fires when more arrive."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        interval_s: float = INTERVAL_S,
        keep: int = KEEP,
        gap_wait_s: float = GAP_WAIT_S,
    ) -> None:
        self.sessions = sessions
        self.interval_s = interval_s
        self.keep = keep
        self.gap_wait_s = gap_wait_s
        #: Read but held back behind a missing id; and (missing id, since when).
        self._pending: dict[int, LiveChange] = {}
        self._gap: tuple[int, float] | None = None
        self.floor: int | None = None  # changes with ids above this are in memory
        self.newest = 0
        self._ids: list[int] = []
        self._changes: list[LiveChange] = []
        #: How many times the hub has read the database (for tests and benchmarks).
        self.reads = 0
        self.waiting = 0
        self._moved = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    def _newest_id(self) -> int:
        with self.sessions() as s:
            return int(s.scalar(select(func.max(LiveChange.id))) or 0)

    def _read_after(self, after: int) -> list[LiveChange]:
        with self.sessions() as s:
            q = select(LiveChange).where(LiveChange.id > after).order_by(LiveChange.id).limit(BATCH)
            return list(s.scalars(q))

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def start(self) -> None:
        """Know where the feed stands now, so a new stream starts from there: while the hub
        runs it does; when it sleeps (nobody was waiting) it starts over from the newest id."""
        if self.running:
            return
        async with self._lock:
            if self.running:
                return
            self.newest = await run_in_threadpool(self._newest_id)
            self.reads += 1
            self.floor = self.newest
            self._ids.clear()
            self._changes.clear()
            self._pending.clear()
            self._gap = None

    async def read(self) -> None:
        """Take what is new from the feed into memory; wake the waiting streams if anything was.

        Ids come from a sequence, but transactions commit in their own order: a change with
        a lower id can appear after a higher one. Changes are released to the streams in id
        order only; a missing id holds back those after it for up to ``gap_wait_s`` (then it
        is taken for a rolled-back one), so no stream passes a change before it is visible.
        """
        fresh = await run_in_threadpool(self._read_after, self.newest)
        self.reads += 1
        for c in fresh:
            self._pending.setdefault(c.id, c)
        released: list[LiveChange] = []
        expected = self.newest + 1
        now = time.monotonic()
        for ident in sorted(self._pending):
            if ident != expected:
                if self._gap is None or self._gap[0] != expected:
                    self._gap = (expected, now)
                if now - self._gap[1] < self.gap_wait_s:
                    break
            self._gap = None
            released.append(self._pending.pop(ident))
            expected = ident + 1
        if not released:
            return
        self._ids.extend(c.id for c in released)
        self._changes.extend(released)
        self.newest = released[-1].id
        if len(self._ids) > self.keep:
            cut = len(self._ids) - self.keep
            self.floor = self._ids[cut - 1]
            del self._ids[:cut], self._changes[:cut]
        moved, self._moved = self._moved, asyncio.Event()
        moved.set()

    def covers(self, after: int) -> bool:
        """Whether every change above ``after`` that exists is in memory."""
        return self.floor is not None and after >= self.floor

    def since(self, after: int, wanted: Callable[[LiveChange], bool]) -> list[LiveChange]:
        """The changes in memory above ``after`` that ``wanted`` keeps, in order."""
        start = bisect.bisect_right(self._ids, after)
        return [c for c in self._changes[start:] if wanted(c)]

    async def _run(self) -> None:
        while self.waiting:
            # the database blinked: streams fall back on their own timeout
            with contextlib.suppress(Exception):
                await self.read()
            await asyncio.sleep(self.interval_s)

    async def wait_past(self, seen: int, timeout: float) -> None:
        """Return once the feed has changes above ``seen`` in memory, or after ``timeout`` s."""
        if self.newest > seen:
            return
        self.waiting += 1
        try:
            if self._task is None or self._task.done():
                self._task = asyncio.create_task(self._run())
            moved = self._moved
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(moved.wait(), timeout)
        finally:
            self.waiting -= 1

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
