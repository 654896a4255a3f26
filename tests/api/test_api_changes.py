"""The shared read of the change feed behind live streams, on a real database."""

from __future__ import annotations

import asyncio

import pytest
from conftest import BACKENDS
from onestop.api.changes import ChangeHub
from onestop.api.db import make_engine, migrate, session_factory
from onestop.api.models import LiveChange


def _add(sessions, n: int, zone: str = "north") -> None:
    with sessions.begin() as s:
        for i in range(n):
            s.add(LiveChange(kind="position", zone=zone if i % 2 == 0 else "south", resource_id=f"r{i}"))


def _sessions(url: str):
    engine = make_engine(url)
    migrate(engine)
    return engine, session_factory(engine)


def test_hub_keeps_recent_changes_and_knows_how_far_back(db_url):
    """Started on a feed of 8 changes, the hub holds what comes after; with room for 5 it keeps
    the newest 5 and says a stream further back must read the database."""
    engine, sessions = _sessions(db_url)
    try:
        _add(sessions, 8)
        hub = ChangeHub(sessions, keep=5)

        async def scenario():
            await hub.start()
            assert hub.newest == hub.floor
            start = hub.newest
            _add(sessions, 8)
            await hub.read()
            assert hub.newest == start + 8
            assert not hub.covers(start) and hub.covers(start + 3)
            ids = [c.id for c in hub.since(start + 3, lambda c: True)]
            assert ids == list(range(start + 4, start + 9))
            north = hub.since(start + 3, lambda c: c.zone == "north")
            assert {c.zone for c in north} == {"north"} and len(north) in (2, 3)
            # a waiter is woken by a new change, not by its timeout
            waiting = asyncio.create_task(hub.wait_past(hub.newest, timeout=30))
            await asyncio.sleep(0.1)
            _add(sessions, 1)
            await asyncio.wait_for(waiting, timeout=10)
            assert hub.newest == start + 9
            await hub.aclose()

        asyncio.run(scenario())
    finally:
        engine.dispose()


@pytest.mark.parametrize("backend", [b for b in BACKENDS if getattr(b, "values", (b,))[0] == "postgresql"])
def test_changes_are_released_in_id_order_across_transactions(backend, databases):
    """PostgreSQL hands out ids before commit: a change with a lower id can become visible after
    a higher one. The hub holds the higher one back until the lower one is there (or, rolled
    back, for ``gap_wait_s``), so a stream never passes a change it has not seen."""
    # PostgreSQL only: SQLite serialises writers, so its ids always commit in order
    engine, sessions = _sessions(databases.new(backend))
    try:
        _add(sessions, 2)
        hub = ChangeHub(sessions, gap_wait_s=0.3)

        async def scenario():
            await hub.start()
            start = hub.newest
            slow = sessions()
            slow.add(LiveChange(kind="status", job_id="slow"))
            slow.flush()  # has its id, not committed yet
            _add(sessions, 1)  # a later id, committed first
            await hub.read()
            assert hub.newest == start and hub.since(start, lambda c: True) == []
            slow.commit()
            slow.close()
            await hub.read()
            assert [c.job_id for c in hub.since(start, lambda c: True)] == ["slow", None]
            mark = hub.newest
            gone = sessions()
            gone.add(LiveChange(kind="status", job_id="gone"))
            gone.flush()
            gone.rollback()  # its id is never used
            gone.close()
            _add(sessions, 1)
            await hub.read()
            assert hub.newest == mark  # held back behind the missing id for a while
            await asyncio.sleep(0.4)
            await hub.read()
            assert hub.newest > mark and len(hub.since(mark, lambda c: True)) == 1

        asyncio.run(scenario())
    finally:
        engine.dispose()
