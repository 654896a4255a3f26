"""One look at the change feed per process, shared by every open live stream.

Each server-sent-event stream used to ask the database for its changes every half second,
so a thousand customers watching their technician meant two thousand queries a second
doing nothing. The hub asks one cheap question (the newest change id) every
``interval_s`` while anyone is waiting, and wakes the streams only when it moved; each
stream then reads its own filtered changes once.
"""

from __future__ import annotations

import asyncio
import contextlib

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from .models import LiveChange

#: Seconds between the hub's looks at the newest change id.
INTERVAL_S = 0.25


class ChangeHub:
    """Wakes waiting streams when the newest change id moves past what they have seen."""

    def __init__(self, sessions: sessionmaker[Session], interval_s: float = INTERVAL_S) -> None:
        self.sessions = sessions
        self.interval_s = interval_s
        self.newest = 0
        #: How many times the hub has asked the database (for tests and benchmarks).
        self.looks = 0
        self.waiting = 0
        self._moved = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def _read_newest(self) -> int:
        with self.sessions() as s:
            return int(s.scalar(select(func.max(LiveChange.id))) or 0)

    async def look(self) -> int:
        """Ask the database now; wake the waiters when something new arrived."""
        newest = await run_in_threadpool(self._read_newest)
        self.looks += 1
        if newest != self.newest:
            self.newest = newest
            moved, self._moved = self._moved, asyncio.Event()
            moved.set()
        return newest

    async def _run(self) -> None:
        while self.waiting:
            # the database blinked: streams fall back on their own timeout
            with contextlib.suppress(Exception):
                await self.look()
            await asyncio.sleep(self.interval_s)

    async def wait_past(self, seen: int, timeout: float) -> None:
        """Return once the newest change id is above ``seen``, or after ``timeout`` seconds."""
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
