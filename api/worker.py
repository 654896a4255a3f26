"""Plan runs in the background: claim a run with a lease, solve it in a child process,
heartbeat while it solves, store the outcome. ``onestop worker`` runs this loop alone;
the server runs it in a thread beside itself (the embedded default).

A run is claimed by one conditional UPDATE (``status='queued'`` or an expired lease), after
``SELECT … FOR UPDATE SKIP LOCKED`` on PostgreSQL, so no run is solved twice at once. Lease
instants are the database's clock (``db_epoch``: ``now()`` / ``julianday('now')`` inside the
UPDATE), never a worker's own, so workers on hosts with skewed clocks agree on expiry. A run
whose worker died is taken again once its lease expires; after ``max_attempts`` it fails.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import queue
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any, Protocol

from sqlalchemy import or_, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from .db import db_epoch, is_sqlite, session_scope
from .models import (
    RUN_CANCELLED,
    RUN_FAILED,
    RUN_QUEUED,
    RUN_RUNNING,
    RUN_SUCCEEDED,
    Event,
    PlanRun,
    utcnow,
)
from .settings import Settings

log = logging.getLogger(__name__)


class Executor(Protocol):
    """Where plan runs go once stored. One method matters: ``submit``."""

    def submit(self, run_id: str) -> None: ...

    def start(self) -> None: ...

    def stop(self) -> None: ...


class ExternalExecutor:
    """Runs are solved by ``onestop worker`` processes polling the database; nothing to do here."""

    def submit(self, run_id: str) -> None:
        return None

    def start(self) -> None:
        return None

    def stop(self) -> None:
        return None


class EmbeddedExecutor:
    """Worker threads beside the server, each the same loop ``onestop worker`` runs."""

    def __init__(self, sessions: sessionmaker[Session], settings: Settings, threads: int = 1) -> None:
        self.workers = [Worker(sessions, settings) for _ in range(threads)]
        self._threads: list[threading.Thread] = []

    def submit(self, run_id: str) -> None:
        for w in self.workers:
            w.wake()

    def start(self) -> None:
        for w in self.workers:
            t = threading.Thread(target=w.run_forever, name=f"plan-worker-{w.owner}", daemon=True)
            t.start()
            self._threads.append(t)

    def stop(self) -> None:
        for w in self.workers:
            w.stop()
        for t in self._threads:
            t.join(timeout=10)


class _Child:
    """A solver process and a thread turning its stdout lines into messages."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "onestop.api.solver_child"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=None,
            close_fds=True,
        )
        self.messages: queue.Queue[dict[str, Any] | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            try:
                self.messages.put(json.loads(line))
            except ValueError:
                log.warning("solver said something unreadable: %r", line[:200])
        self.messages.put(None)  # the child closed its end: finished or died

    def alive(self) -> bool:
        return self.process.poll() is None

    def send(self, task: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(task).encode() + b"\n")
        self.process.stdin.flush()

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            log.warning("solver process %d did not stop", self.process.pid)
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()


class Worker:
    """Claims queued runs and solves them one at a time."""

    def __init__(self, sessions: sessionmaker[Session], settings: Settings, owner: str | None = None) -> None:
        self.sessions = sessions
        self.settings = settings
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._spare: _Child | None = None
        self._sqlite = is_sqlite(sessions.kw["bind"])
        #: The run whose outcome is in hand but not yet stored (the database is away).
        self.pending: str | None = None

    # --- the loop ---------------------------------------------------------------------

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    def run_forever(self) -> None:
        log.info("worker %s started", self.owner)
        if self.settings.warm_solver:
            self._spare = self._spawn()  # the first run starts solving at once
        try:
            while not self._stop.is_set():
                try:
                    run_id = self.claim()
                except Exception:
                    log.exception("claiming a run failed")
                    run_id = None
                if run_id is None:
                    self._wake.wait(self.settings.poll_s)
                    self._wake.clear()
                    continue
                try:
                    self.execute(run_id)
                except Exception:
                    log.exception("run %s failed in the worker", run_id)
                    try:
                        failed = _error("internal", "the worker failed; see its log")
                        self._finish(run_id, RUN_FAILED, error=failed)
                    except Exception:  # the database is away too: the lease will expire
                        log.exception("run %s: could not record the failure", run_id)
        finally:
            if self._spare is not None:
                self._spare.kill()
                self._spare = None
            log.info("worker %s stopped", self.owner)

    def run_once(self) -> bool:
        """Claim and solve one run if there is one; True when a run was handled."""
        run_id = self.claim()
        if run_id is None:
            return False
        self.execute(run_id)
        return True

    # --- claiming ---------------------------------------------------------------------

    def claim(self) -> str | None:
        """Take one queued run, or a running one whose lease expired."""
        claimable = or_(
            PlanRun.status == RUN_QUEUED,
            (PlanRun.status == RUN_RUNNING) & (PlanRun.lease_expires_at < db_epoch()),
        )
        with session_scope(self.sessions) as s:
            query = select(PlanRun.id).where(claimable).order_by(PlanRun.created_at).limit(4)
            if not self._sqlite:
                query = query.with_for_update(skip_locked=True)
            for run_id in s.scalars(query).all():
                taken = s.execute(
                    update(PlanRun)
                    .where(PlanRun.id == run_id, claimable)
                    .values(
                        status=RUN_RUNNING,
                        lease_owner=self.owner,
                        lease_expires_at=db_epoch() + self.settings.lease_s,
                        attempts=PlanRun.attempts + 1,
                        started_at=utcnow(),
                        phase="claimed",
                    )
                ).rowcount
                if taken == 1:
                    s.add(Event(kind="run_started", run_id=run_id, data={"worker": self.owner}))
                    return run_id
        return None

    # --- solving ----------------------------------------------------------------------

    def _child(self) -> _Child:
        """A spare child (already importing the planner), replaced at once by a new spare."""
        child = self._spare if self._spare is not None and self._spare.alive() else None
        self._spare = None
        if child is None:
            child = self._spawn()
        if self.settings.warm_solver and not self._stop.is_set():
            self._spare = self._spawn()
        return child

    def _spawn(self) -> _Child:
        return _Child()

    def _prepare(self, run_id: str) -> tuple[dict[str, Any], int] | None:
        """A claimed run's solver task and attempt number; None when there is nothing to solve
        (not ours any more, or cancelled or abandoned: then it is finished here)."""
        with session_scope(self.sessions) as s:
            run = s.get(PlanRun, run_id)
            if run is None or run.lease_owner != self.owner:
                return None
            cancelled, attempts = run.cancel_requested, run.attempts
            task = task_of(s, run)
        if cancelled:
            self._finish(run_id, RUN_CANCELLED)
            return None
        if attempts > self.settings.max_attempts:
            lost = _error("abandoned", f"the run's worker was lost {attempts - 1} times")
            self._finish(run_id, RUN_FAILED, error=lost)
            return None
        return task, attempts

    def execute(self, run_id: str) -> None:
        prepared = self._prepare(run_id)
        if prepared is None:
            return
        task, _attempts = prepared
        limit = task["time_limit_s"] or self.settings.max_solve_s
        deadline = time.monotonic() + 1.5 * float(limit) + 120.0
        child = self._child()
        try:
            child.send(task)
            self._supervise(run_id, child, deadline)
        finally:
            child.kill()

    def _supervise(self, run_id: str, child: _Child, deadline: float) -> None:
        beat = max(0.2, self.settings.lease_s / 3)
        next_beat = time.monotonic() + beat
        progress: tuple[str, float, int | None] | None = None
        dirty = False
        last_write = 0.0
        while True:
            if self._stop.is_set():
                self._release(run_id)
                return
            try:
                message = child.messages.get(timeout=0.2)
                got = True
            except queue.Empty:
                message, got = None, False
            if got and message is None:
                code = child.process.wait()
                self._finish(
                    run_id, RUN_FAILED, error=_error("solver_crashed", f"the solver process exited ({code})")
                )
                return
            if message is not None:
                tag = message.get("tag")
                if tag == "progress":
                    progress = (message["phase"], message["fraction"], message["best"])
                    dirty = True
                elif tag in ("done", "error"):
                    self._store(run_id, message, progress[2] if progress else None)
                    return
            now = time.monotonic()
            if now > deadline:
                overdue = _error("timeout", "the solver ran far past its time limit and was stopped")
                self._finish(run_id, RUN_FAILED, error=overdue)
                return
            if now >= next_beat or (dirty and now - last_write >= 0.5):
                try:
                    state = self._heartbeat(run_id, progress if dirty else None)
                except Exception:  # the database blinked; the lease has slack for the next beat
                    log.warning("run %s: heartbeat failed", run_id, exc_info=True)
                    state = "ok"
                next_beat = now + beat
                last_write = now
                dirty = False
                if state == "lost":
                    log.warning("run %s: lease lost; leaving it to its new owner", run_id)
                    return
                if state == "cancel":
                    self._finish(run_id, RUN_CANCELLED)
                    return

    def _store(self, run_id: str, message: dict[str, Any], best: int | None) -> None:
        """A solver's answer (``done`` or ``error``, see ``dispatch.runner``) as the run's outcome."""
        if message.get("tag") == "done":
            violations = message.get("violations")
            self._finish(
                run_id,
                RUN_SUCCEEDED,
                plan=message["plan"],
                violations=None if violations is None else {"items": violations},
                best=best,
                request=message.get("request"),
                then=None if violations else _publish_if_asked,
            )
            return
        kind = message.get("kind", "internal")
        titles = {
            "request": "the request cannot be planned",
            "travel": "the travel data cannot be used",
            "travel_unavailable": "the travel provider could not be reached",
            "internal": "the solver failed",
        }
        self._finish(run_id, RUN_FAILED, error=_error(kind, titles.get(kind, kind), message.get("errors")))

    def _heartbeat(self, run_id: str, progress: tuple[str, float, int | None] | None) -> str:
        values: dict[str, Any] = {"lease_expires_at": db_epoch() + self.settings.lease_s}
        if progress is not None:
            values.update(phase=progress[0], progress=round(progress[1], 4))
            if progress[2] is not None:
                values["best_objective"] = progress[2]
        with session_scope(self.sessions) as s:
            mine = (PlanRun.id == run_id, PlanRun.lease_owner == self.owner, PlanRun.status == RUN_RUNNING)
            if s.execute(update(PlanRun).where(*mine).values(**values)).rowcount != 1:
                return "lost"
            cancel = s.scalar(select(PlanRun.cancel_requested).where(PlanRun.id == run_id))
        return "cancel" if cancel else "ok"

    def _finish(
        self,
        run_id: str,
        status: str,
        *,
        plan: dict[str, Any] | None = None,
        error: dict[str, Any] | None = None,
        violations: dict[str, Any] | None = None,
        best: int | None = None,
        request: dict[str, Any] | None = None,
        then: Callable[[Session, str], None] | None = None,
    ) -> bool:
        """Store the outcome if this worker still holds the run; ``then(session, run_id)`` runs
        in the same transaction (a publish: nobody sees the run succeeded but not published).

        A solved plan is worth more than the attempt it took: while the database is away the
        outcome is kept here and the write retried (backoff up to 5 s, for at most
        ``store_retry_s``, or until the worker stops), instead of failing the run or leaving it
        to be solved again after its lease. Once a write has failed, the outcome is stored if
        the run is still running, whoever holds its lease by then (a worker that claimed it
        meanwhile finds its lease lost and stops)."""
        deadline = time.monotonic() + self.settings.store_retry_s
        pause = 0.25
        failed = False
        try:
            while True:
                try:
                    return self._write(
                        run_id, status, plan=plan, error=error, violations=violations, best=best,
                        request=request, then=then, any_owner=failed,
                    )
                except DBAPIError as exc:
                    if not _database_away(exc) or self._stop.is_set() or time.monotonic() > deadline:
                        raise
                    if not failed:
                        log.warning("run %s: the database is away; keeping the outcome (%s), retrying",
                                    run_id, status)
                    failed = True
                    self.pending = run_id
                    self._stop.wait(pause)
                    pause = min(5.0, pause * 2)
        finally:
            self.pending = None

    def _write(
        self,
        run_id: str,
        status: str,
        *,
        plan: dict[str, Any] | None,
        error: dict[str, Any] | None,
        violations: dict[str, Any] | None,
        best: int | None,
        request: dict[str, Any] | None,
        then: Callable[[Session, str], None] | None,
        any_owner: bool,
    ) -> bool:
        """One try of ``_finish``'s write."""
        values: dict[str, Any] = {
            "status": status,
            "finished_at": utcnow(),
            "lease_owner": None,
            "lease_expires_at": None,
            "phase": "done" if status == RUN_SUCCEEDED else status,
        }
        if status == RUN_SUCCEEDED:
            values["progress"] = 1.0
        if plan is not None:
            values["plan"] = plan
        if error is not None:
            values["error"] = error
        if violations is not None:
            values["violations"] = violations
        if best is not None:
            values["best_objective"] = best
        if request is not None:
            values["request"] = request
        held = PlanRun.status == RUN_RUNNING
        if not any_owner:
            held = held & (PlanRun.lease_owner == self.owner)
        with session_scope(self.sessions) as s:
            done = s.execute(update(PlanRun).where(PlanRun.id == run_id, held).values(**values)).rowcount
            if done:
                s.add(Event(kind=f"run_{status}", run_id=run_id))
                if then is not None:
                    s.flush()
                    then(s, run_id)
        if done and violations and violations.get("items"):
            log.warning("run %s: the plan breaks %d rules", run_id, len(violations["items"]))
        if any_owner:
            log.info("run %s: the outcome (%s) was stored once the database was back", run_id, status)
        return bool(done)

    def _release(self, run_id: str) -> None:
        """Shutting down: hand the run back to the queue instead of waiting out the lease."""
        with session_scope(self.sessions) as s:
            s.execute(
                update(PlanRun)
                .where(PlanRun.id == run_id, PlanRun.lease_owner == self.owner, PlanRun.status == RUN_RUNNING)
                .values(
                    status=RUN_QUEUED,
                    lease_owner=None,
                    lease_expires_at=None,
                    attempts=PlanRun.attempts - 1,
                    phase=None,
                )
            )


def _database_away(exc: DBAPIError) -> bool:
    """The database could not be reached or dropped the connection (worth retrying), as opposed
    to a statement it refused."""
    from sqlalchemy.exc import InterfaceError, OperationalError

    return exc.connection_invalidated or isinstance(exc, OperationalError | InterfaceError)


def _publish_if_asked(s: Session, run_id: str) -> None:
    """A re-plan queued with ``publish``: make it the day's plan, unless the live plan moved on
    since it was queued (then it stays a stored run, and an event says why)."""
    from . import runs  # runs → crud, living; imported late: the solver child needs none of it

    run = s.get(PlanRun, run_id)
    if run is None or not (run.task or {}).get("publish"):
        return
    runs.publish_if_still_live(s, run, run.created_by)


def task_of(session: Session, run: PlanRun) -> dict[str, Any]:
    """What the solver gets for a claimed run (see ``onestop.dispatch.runner``)."""
    if run.task and run.task.get("kind") == "replan":
        base = session.get(PlanRun, run.task["base"])
        if base is None or base.plan is None:
            raise LookupError(f"the re-plan's base run {run.task['base']} is gone")
        fields = ("at", "progress", "positions", "new_jobs", "cancelled", "unavailable")
        return {
            "kind": "replan",
            "request": base.request,
            "plan": base.plan,
            **{k: run.task.get(k) for k in fields},
            "preset": run.preset,
            "time_limit_s": run.time_limit_s,
        }
    return {
        "request": run.request,
        "preset": run.preset,
        "time_limit_s": run.time_limit_s,
        "solution_limit": run.solution_limit,
    }


def _error(kind: str, detail: str, errors: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"reason": kind, "detail": detail}
    if errors:
        out["errors"] = errors
    return out


if __name__ == "__main__":  # `python -m onestop.api.worker`: the command lives in worker_cli
    import runpy

    runpy.run_module("onestop.api.worker_cli", run_name="__main__", alter_sys=True)
