"""Plan runs on a Dask distributed cluster: one run (one day of one zone) per task.

For many regions at once: the claiming, leases, heartbeats and stored outcomes are the
same as ``onestop worker``'s (:class:`~onestop.api.worker.Worker`), but instead of one
child process at a time, a :class:`ClusterWorker` keeps as many runs in flight as the
cluster has worker threads and hands each to Dask as a pure-Python task
(:func:`solve_on_cluster`, which calls :func:`onestop.dispatch.runner.run_task`). Every
machine of the cluster needs OneStop installed, nothing else: the task carries the whole
request and returns the plan, so workers never touch the database.

A task whose Dask worker dies is run again on another one by the scheduler (up to its
``distributed.scheduler.allowed-failures``, 3 by default; then the run fails as
abandoned). If the process holding the runs dies, its leases expire and another worker or
cluster worker claims them. Each task solves in a solver child process on its Dask worker;
cancelling a run sets the task's Dask ``Event``, the task kills its solver and the core is
free again within about half a second.

Addresses: ``tcp://host:8786`` for a running scheduler (``dask scheduler`` /
``dask worker``), or ``local`` / ``local:N`` for a ``LocalCluster`` of N single-threaded
worker processes on this machine (tests, one big box).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from .models import RUN_CANCELLED, RUN_FAILED
from .settings import Settings
from .worker import Worker, _Child, _error

log = logging.getLogger(__name__)

#: Seconds between progress updates a task sends (the solve reports far more often).
PROGRESS_EVERY_S = 0.5
#: Seconds between a task's looks at its cancel event.
CANCEL_CHECK_S = 0.5
#: Seconds to wait for the scheduler, and between tries when it cannot be reached.
CONNECT_TIMEOUT_S = 5.0
RECONNECT_S = 5.0


def solve_on_cluster(
    task: dict[str, Any], progress_name: str, cancel_name: str | None = None
) -> dict[str, Any]:
    """The Dask task: plan one run in a solver child process (``onestop.api.solver_child``, which
    calls ``dispatch.runner.run_task``), send its progress through a Dask ``Variable``, and kill
    it when the Dask ``Event`` ``cancel_name`` is set: a cancelled run frees its core at once."""
    import queue

    from distributed import Event, Variable

    var = Variable(progress_name)
    stop = Event(cancel_name) if cancel_name else None
    last = 0.0
    child = _Child()
    try:
        child.send(task)
        while True:
            try:
                message = child.messages.get(timeout=CANCEL_CHECK_S)
            except queue.Empty:
                message = {}
            if message is None:
                code = child.process.wait()
                return {
                    "tag": "error",
                    "kind": "internal",
                    "errors": [{"loc": "", "message": f"the solver process exited ({code})"}],
                }
            tag = message.get("tag")
            if tag in ("done", "error"):
                return message
            if tag == "progress" and time.monotonic() - last >= PROGRESS_EVERY_S:
                last = time.monotonic()
                try:
                    var.set({k: message[k] for k in ("phase", "fraction", "best")})
                except Exception:  # progress is a courtesy; the plan is what matters
                    log.debug("progress not sent", exc_info=True)
            if stop is not None and stop.is_set():
                return {"tag": "cancelled"}
    finally:
        child.kill()


@dataclass
class _Flight:
    """A run handed to the cluster."""

    future: Any
    progress_name: str
    cancel_name: str
    deadline: float
    progress: tuple[str, float, int | None] | None = None
    next_beat: float = field(default=0.0)


class ClusterWorker(Worker):
    """Claims runs and keeps the cluster's worker threads busy with them."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        settings: Settings,
        address: str,
        owner: str | None = None,
    ) -> None:
        super().__init__(sessions, settings, owner)
        self.address = address
        self.client: Any = None
        self._cluster: Any = None
        self.flights: dict[str, _Flight] = {}

    # --- the cluster ------------------------------------------------------------------

    def connect(self) -> None:
        from distributed import Client, LocalCluster

        if self.address == "local" or self.address.startswith("local:"):
            n = int(self.address.partition(":")[2] or 2)
            self._cluster = LocalCluster(
                n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None
            )
            self.client = Client(self._cluster)
        else:
            self.client = Client(self.address, timeout=CONNECT_TIMEOUT_S)
        log.info("cluster worker %s: %s", self.owner, self.client)

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None

    def capacity(self) -> int:
        """Runs to keep in flight: the cluster's worker threads (at least one)."""
        try:
            return max(1, sum(self.client.nthreads().values()))
        except Exception:
            return 1

    # --- the loop ---------------------------------------------------------------------

    def run_forever(self) -> None:
        log.info("cluster worker %s started", self.owner)
        try:
            while self.client is None and not self._stop.is_set():
                try:
                    self.connect()
                except Exception as exc:  # runs wait queued; the service stays up
                    log.error(
                        "cannot reach the Dask scheduler at %s (%s); trying again in %.0f s",
                        self.address,
                        exc,
                        RECONNECT_S,
                    )
                    self.client = None
                    self._wake.wait(RECONNECT_S)
                    self._wake.clear()
            while not self._stop.is_set():
                try:
                    for _ in range(self.capacity() - len(self.flights)):  # one ask of the scheduler
                        run_id = self.claim()
                        if run_id is None:
                            break
                        self.launch(run_id)
                except Exception:
                    log.exception("claiming a run failed")
                for run_id in list(self.flights):
                    try:
                        self.check(run_id)
                    except Exception:
                        log.exception("run %s: checking its task failed", run_id)
                wait = 0.2 if self.flights else self.settings.poll_s
                self._wake.wait(wait)
                self._wake.clear()
        finally:
            for run_id in list(self.flights):
                flight = self.flights.pop(run_id)
                self._stop_task(flight)
                try:
                    self._release(run_id)
                except Exception:
                    log.exception("run %s: could not hand it back", run_id)
            self.close()
            log.info("cluster worker %s stopped", self.owner)

    def launch(self, run_id: str) -> None:
        """Send a claimed run to the cluster (or finish it when it was cancelled or abandoned)."""
        prepared = self._prepare(run_id)
        if prepared is None:
            return
        task, attempts = prepared
        name = f"onestop-progress-{run_id}-{attempts}"
        cancel = f"onestop-cancel-{run_id}-{attempts}"
        future = self.client.submit(
            solve_on_cluster, task, name, cancel, key=f"onestop-run-{run_id}-{attempts}", pure=False
        )
        limit = float(task.get("time_limit_s") or self.settings.max_solve_s)
        self.flights[run_id] = _Flight(future, name, cancel, time.monotonic() + 1.5 * limit + 120.0)

    def _stop_task(self, flight: _Flight) -> None:
        """Kill the task's solver (through its cancel event) and drop the task."""
        from distributed import Event

        try:
            Event(flight.cancel_name, client=self.client).set()
        except Exception:
            log.debug("cancel event %s not set", flight.cancel_name, exc_info=True)
        flight.future.cancel()

    def _progress(self, flight: _Flight) -> tuple[str, float, int | None] | None:
        from distributed import Variable

        try:
            got = Variable(flight.progress_name, client=self.client).get(timeout=0)
        except Exception:  # not set yet
            return None
        return (got["phase"], got["fraction"], got["best"])

    def _land(self, run_id: str) -> _Flight:
        flight = self.flights.pop(run_id)
        from distributed import Variable

        try:
            Variable(flight.progress_name, client=self.client).delete()
        except Exception:
            log.debug("progress variable of %s not deleted", run_id, exc_info=True)
        return flight

    def check(self, run_id: str) -> None:
        """Store a finished task's outcome; heartbeat, cancel or time out a running one."""
        flight = self.flights[run_id]
        status = flight.future.status
        if status == "finished":
            message = flight.future.result()
            self._land(run_id)
            if message.get("tag") == "cancelled":
                self._finish(run_id, RUN_CANCELLED)
                return
            self._store(run_id, message, flight.progress[2] if flight.progress else None)
            return
        if status == "error":
            exc = flight.future.exception()
            self._land(run_id)
            if type(exc).__name__ == "KilledWorker":
                error = _error("abandoned", "the cluster lost the workers solving this run too often")
            else:
                error = _error("internal", f"the task failed: {type(exc).__name__}: {exc}")
            self._finish(run_id, RUN_FAILED, error=error)
            return
        if status in ("cancelled", "lost"):
            self._land(run_id)
            self._release(run_id)  # the cluster dropped it: back to the queue
            return
        now = time.monotonic()
        if now > flight.deadline:
            self._stop_task(flight)
            self._land(run_id)
            overdue = _error("timeout", "the solver ran far past its time limit and was stopped")
            self._finish(run_id, RUN_FAILED, error=overdue)
            return
        if now < flight.next_beat:
            return
        flight.next_beat = now + max(0.2, min(1.0, self.settings.lease_s / 3))
        seen = self._progress(flight)
        fresh = seen is not None and seen != flight.progress
        if fresh:
            flight.progress = seen
        try:
            state = self._heartbeat(run_id, seen if fresh else None)
        except Exception:
            log.warning("run %s: heartbeat failed", run_id, exc_info=True)
            return
        if state in ("lost", "cancel"):
            self._stop_task(flight)
            self._land(run_id)
            if state == "cancel":
                self._finish(run_id, RUN_CANCELLED)
            else:
                log.warning("run %s: lease lost; leaving it to its new owner", run_id)


class DaskExecutor:
    """The service's executor when ``ONESTOP_DASK_SCHEDULER`` is set: a cluster worker beside it."""

    def __init__(self, sessions: sessionmaker[Session], settings: Settings, address: str) -> None:
        self.worker = ClusterWorker(sessions, settings, address)
        self._thread: threading.Thread | None = None

    def submit(self, run_id: str) -> None:
        self.worker.wake()

    def start(self) -> None:
        self._thread = threading.Thread(target=self.worker.run_forever, name="plan-cluster", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.worker.stop()
        if self._thread is not None:
            self._thread.join(timeout=30)
