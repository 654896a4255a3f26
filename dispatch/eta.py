"""Live arrival estimates for one resource's remaining stops.

Why a separate, tiny computation: after every progress event or position ping the
API needs fresh ETAs for a handful of stops, in milliseconds, without touching the
plan. The route's order is taken as it is; times are re-derived from where the
resource is now, with the request's own travel provider, so a late courier's later
stops move and the ones that will miss their window are flagged for the dispatcher.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .model import effective_windows, parse_request
from .planner import travel_model_for

log = logging.getLogger(__name__)

__all__ = ["Eta", "etas"]

_CUSTOMER = frozenset({"deliver", "install", "swap", "collect", "visit"})


@dataclass(frozen=True, slots=True)
class Eta:
    """One remaining stop: when the resource will arrive, and whether it will miss the window.

    ``window`` is the job window the stop was planned in (None for depot stops);
    ``late_by_s`` how many seconds after that window closes the stop would start.
    """

    job: str
    stop_type: str
    eta: str
    start: str
    window: tuple[str, str] | None
    late: bool
    late_by_s: int

    def to_json(self) -> dict[str, Any]:
        return {
            "job": self.job,
            "stop_type": self.stop_type,
            "eta": self.eta,
            "start": self.start,
            "window": list(self.window) if self.window else None,
            "late": self.late,
            "late_by_s": self.late_by_s,
        }


def etas(
    request: Mapping[str, Any],
    plan: Mapping[str, Any],
    resource_id: str,
    *,
    now: str,
    position: Sequence[float] | None = None,
    done: Collection[str] = (),
) -> list[Eta]:
    """Arrival estimates for ``resource_id``'s stops after the last stop of a ``done`` job.

    The resource is taken to be at ``position`` at ``now`` (else at the place of its
    last done stop, else its start). Each customer stop starts at the later of arrival,
    its window's opening and the end of the stop it waits for on another route (a split
    delivery before its installation, an ``after`` link); a depot stop at the later of
    arrival and its planned start; breaks still ahead are taken at their place, as
    planned, or on the spot once their planned start has passed. On time, the ETAs are
    the plan's own times (both follow ``routing.earliest_schedule``'s rule).
    """
    dp = parse_request(request)
    tb = dp.timebase
    t_now = tb.seconds(now)
    jobs = {j.id: j for j in dp.jobs}
    route = next((r for r in plan.get("routes", []) if r["resource"] == resource_id), None)
    if route is None:
        return []
    stops = route["stops"]
    # everything up to the last stop of a done job is behind the resource (routes run in order)
    last = max((i for i, s in enumerate(stops) if s.get("job") in done and s["type"] in _CUSTOMER), default=0)
    ahead = [
        s
        for s in stops[last + 1 :]
        if s["type"] != "end" and not (s.get("job") in done and s["type"] in _CUSTOMER)
    ]
    here = position if position is not None else stops[last]["location"]
    points = [tuple(here)] + [tuple(s["location"]) for s in ahead]
    model = travel_model_for(dp.options.travel)
    m = model.matrices([(float(p[0]), float(p[1])) for p in points]).durations_s
    # work that waits for another route: a split installation for its delivery, an `after` job
    # for its predecessor's customer stop (as planned: their ETAs are the other route's)
    ends: dict[tuple[str, str], int] = {}
    for r in plan.get("routes", []):
        for st in r["stops"]:
            if st.get("job") and st["type"] in _CUSTOMER:
                t_end = tb.seconds_of(datetime.fromisoformat(st["end"]))
                ends[(st["job"], st["type"])] = max(ends.get((st["job"], st["type"]), t_end), t_end)
    out: list[Eta] = []
    cur, at = t_now, 0
    for k, s in enumerate(ahead, start=1):
        planned = tb.seconds_of(datetime.fromisoformat(s["start"]))
        length = tb.seconds_of(datetime.fromisoformat(s["end"])) - planned
        if s["type"] == "break":
            if tb.seconds_of(datetime.fromisoformat(s["end"])) <= t_now:
                continue  # taken, or given up: either way behind us
            # a break is taken at its place: where the previous stop was, or on arrival at the next
            cur = max(cur + max(0, int(m[at, k])), planned) + length
            at = k
            continue
        leg = int(m[at, k])
        at = k
        arrival = cur + max(0, leg)
        job = jobs.get(s.get("job") or "")
        window = None
        start = arrival
        late_by = 0
        if s["type"] not in _CUSTOMER:
            start = max(arrival, planned)  # a load waits for its planned time, at the depot
        if s["type"] in _CUSTOMER and job is not None:
            ready = arrival
            if s["type"] == "install" and s.get("crew") != "alone":
                ready = max(ready, ends.get((job.id, "deliver"), ready))
            if job.after is not None:
                ready = max([ready] + [t for (j, _), t in ends.items() if j == job.after])
            wins = effective_windows(job, 10**9)
            # a window bounds the start of the work (DESIGN.md): the first one still open
            fit = next(((a, b) for a, b in wins if ready <= b), None)
            if fit is not None:
                start = max(ready, fit[0])
                window = fit
            elif wins:
                window = max((w for w in wins if w[0] <= ready), default=wins[0], key=lambda w: w[1])
                late_by = ready - window[1]
        cur = start + length
        out.append(
            Eta(
                s["job"],
                s["type"],
                tb.iso(arrival),
                tb.iso(start),
                (tb.iso(window[0]), tb.iso(window[1])) if window else None,
                late_by > 0,
                max(0, late_by),
            )
        )
    log.debug("eta: %s, %d stops ahead, %d late", resource_id, len(out), sum(e.late for e in out))
    return out
