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


class ChangeHub:
    """The recent changes (ids above ``floor``) and an event that fires when more arrive."""

    def __init__(
        self, sessions: sessionmaker[Session], interval_s: float = INTERVAL_S, keep: int = KEEP
    ) -> None:
        self.sessions = sessions
        self.interval_s = interval_s
        self.keep = keep
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

    async def read(self) -> None:
        """Take what is new from the feed into memory; wake the waiting streams if anything was."""
        fresh = await run_in_threadpool(self._read_after, self.newest)
        self.reads += 1
        if not fresh:
            return
        self._ids.extend(c.id for c in fresh)
        self._changes.extend(fresh)
        self.newest = fresh[-1].id
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
