"""The domain: depots, technicians, couriers and jobs, validated and immutable.

Times are integer seconds from local midnight of the plan's date (see
``timebase``). This module holds the single source of truth for the rules a
plan must keep that depend on meaning: which resource may do which job
(``can_do``), the windows of a job (its own windows, narrowed by a promise),
and what each job kind carries.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any, Literal

from pydantic import ValidationError

from .errors import FieldError, RequestError, format_loc
from .schema import CourierIn, JobIn, PlanRequestIn, TechnicianIn
from .timebase import Timebase

Point = tuple[float, float]
Span = tuple[int, int]
#: An amount in the user's unit: an int when whole, else a float (``0.35`` m³).
Amount = int | float

COURIER_KINDS = frozenset({"delivery", "haul_away", "exchange", "pickup"})
TECHNICIAN_KINDS = frozenset({"installation", "repair", "inspection"})
#: Durations default to this for courier kinds (DESIGN.md).
COURIER_DEFAULT_DURATION_S = 300
PRIORITY_WEIGHT = {"standard": 1, "promise": 10, "urgent": 100}


@dataclass(frozen=True, slots=True)
class Depot:
    id: str
    kind: Literal["warehouse", "service_center", "recycling"]
    location: Point
    service_s: int = 0
    name: str | None = None


@dataclass(frozen=True, slots=True)
class BreakRule:
    """A rest of ``duration_s`` taken wholly inside ``window``."""

    window: Span
    duration_s: int


@dataclass(frozen=True, slots=True)
class Cost:
    fixed: float = 0.0
    per_hour: float = 0.0
    per_km: float = 0.0


@dataclass(frozen=True, slots=True)
class Resource:
    """A technician or a courier: who they are, what they may do, when and where."""

    id: str
    kind: Literal["technician", "courier"]
    brands: frozenset[str]
    skills: frozenset[str]
    start: Point
    end: Point
    shift: Span
    breaks: tuple[BreakRule, ...] = ()
    max_jobs: int | None = None
    cost: Cost = field(default_factory=Cost)
    capacity: Mapping[str, Amount] = field(default_factory=dict)
    depot: str | None = None
    start_depot: str | None = None
    end_depot: str | None = None
    name: str | None = None
    zones: tuple[str, ...] | None = None

    @property
    def label(self) -> str:
        return f"{self.kind} {self.id}"


@dataclass(frozen=True, slots=True)
class Promise:
    kind: str
    ordered_at_s: int

    def deadline_s(self) -> int:
        """The 211 rule: by 11:00 → 23:00 that day; by 23:00 → 15:00 next day."""
        day = self.ordered_at_s // 86_400
        tod = self.ordered_at_s - day * 86_400
        if tod <= 11 * 3600:
            return day * 86_400 + 23 * 3600
        if tod <= 23 * 3600:
            return (day + 1) * 86_400 + 15 * 3600
        return (day + 2) * 86_400 + 15 * 3600  # after 23:00 counts as next day's order


@dataclass(frozen=True, slots=True)
class Job:
    """One customer job as the dispatcher sees it."""

    id: str
    kind: str
    location: Point
    windows: tuple[Span, ...]
    duration_s: int
    handover_s: int = 300
    brand: str | None = None
    skills: frozenset[str] = frozenset()
    items: Mapping[str, Amount] = field(default_factory=dict)
    returned_items: Mapping[str, Amount] = field(default_factory=dict)
    from_depot: str | None = None
    to_depot: str | None = None
    after: str | None = None
    priority: str = "standard"
    promise: Promise | None = None
    customer: str | None = None
    address: str | None = None
    notes: str | None = None

    @property
    def weight(self) -> int:
        return PRIORITY_WEIGHT[self.priority]


@dataclass(frozen=True, slots=True)
class Options:
    preset: str = "balanced"
    time_limit_s: float | None = None
    objective: str = "time"
    travel: Mapping[str, Any] | None = None
    seed: int = 0
    solution_limit: int | None = None


@dataclass(frozen=True, slots=True)
class DispatchProblem:
    """A validated day: the one object planning, building and checking start from."""

    timebase: Timebase
    depots: tuple[Depot, ...]
    resources: tuple[Resource, ...]
    jobs: tuple[Job, ...]
    options: Options
    zones: Mapping[str, Any] | None = None

    def depot(self, depot_id: str | None) -> Depot | None:
        return self._depots_by_id().get(depot_id) if depot_id else None

    def _depots_by_id(self) -> dict[str, Depot]:
        return {d.id: d for d in self.depots}

    def job(self, job_id: str) -> Job | None:
        return {j.id: j for j in self.jobs}.get(job_id)

    @property
    def dimensions(self) -> tuple[str, ...]:
        names: set[str] = set()
        for r in self.resources:
            names.update(r.capacity)
        for j in self.jobs:
            names.update(j.items)
            names.update(j.returned_items)
        return tuple(sorted(names))


# --- rules shared by expansion, pre-checks and the validator -------------------


def authorised(resource: Resource, brand: str | None, skills: frozenset[str]) -> bool:
    """Brand authorisation and skills: the brand must be listed, skills covered."""
    if brand is not None and brand not in resource.brands:
        return False
    return skills <= resource.skills


def can_do_alone(resource: Resource, job: Job) -> bool:
    """May this resource do the whole job by itself (one crew)?"""
    if job.kind in COURIER_KINDS:
        return resource.kind == "courier" and authorised(resource, job.brand, job.skills)
    if job.kind in TECHNICIAN_KINDS:
        return resource.kind == "technician" and authorised(resource, job.brand, job.skills)
    # delivery_installation alone: a courier whose brands and skills cover it.
    return resource.kind == "courier" and authorised(resource, job.brand, job.skills)


def can_deliver_half(resource: Resource, job: Job) -> bool:
    """The courier half of a split delivery_installation needs only a courier."""
    return resource.kind == "courier"


def can_install_half(resource: Resource, job: Job) -> bool:
    """The technician half of a split delivery_installation: brand and skills."""
    return resource.kind == "technician" and authorised(resource, job.brand, job.skills)


def fits(capacity: Mapping[str, Amount], items: Mapping[str, Amount]) -> bool:
    """Items fit in a capacity; a dimension the vehicle lacks holds nothing."""
    return all(exact(amount) <= exact(capacity.get(dim, 0)) for dim, amount in items.items() if amount > 0)


# --- amounts: the user's decimals, the solver's integers ---------------------------

#: The solver counts amounts in thousandths of the user's unit (DESIGN.md: exact to 0.001).
AMOUNT_SCALE = 1000


def exact(amount: Amount) -> Decimal:
    """The amount as the user wrote it (``0.1`` is one tenth, not 0.1000000000000000055)."""
    return Decimal(amount) if isinstance(amount, int) else Decimal(repr(float(amount)))


def solver_units(amount: Amount, *, capacity: bool = False) -> int:
    """Thousandths for the solver: items round up, capacities down, so no plan overloads."""
    q = exact(amount) * AMOUNT_SCALE
    return int(q.to_integral_value(rounding=ROUND_FLOOR if capacity else ROUND_CEILING))


def needs_rounding(amount: Amount) -> bool:
    """More than three decimals: the solver cannot count it exactly."""
    q = exact(amount) * AMOUNT_SCALE
    return q != q.to_integral_value()


def user_amount(value: Decimal | int) -> Amount:
    """A load for the plan in the user's unit, to 0.001: whole numbers stay ints."""
    d = Decimal(value).quantize(Decimal("0.001"))
    return int(d) if d == d.to_integral_value() else float(d)


def load_change(stop_type: str, job: Job) -> dict[str, Decimal]:
    """How a plan stop changes what the vehicle carries (DESIGN.md job kinds), exactly."""
    items, returned = job.items, job.returned_items
    if stop_type in ("load", "collect"):
        return {d: exact(a) for d, a in items.items()}
    if stop_type == "deliver":
        return {d: -exact(a) for d, a in items.items()}
    if stop_type == "unload":
        gone = returned if job.kind == "exchange" else items
        return {d: -exact(a) for d, a in gone.items()}
    if stop_type == "swap":
        out = {d: -exact(a) for d, a in items.items()}
        for d, a in returned.items():
            out[d] = out.get(d, Decimal(0)) + exact(a)
        return out
    return {}


def _amounts(values: Mapping[str, float]) -> dict[str, Amount]:
    return {k: int(v) if float(v).is_integer() else float(v) for k, v in values.items()}


def effective_windows(job: Job, horizon_s: int) -> tuple[Span, ...]:
    """The job's windows narrowed by its promise; whole horizon when neither is given."""
    windows = job.windows or ((0, horizon_s),)
    if job.promise is not None:
        lo, hi = job.promise.ordered_at_s, job.promise.deadline_s()
        windows = tuple((max(a, lo), min(b, hi)) for a, b in windows if max(a, lo) <= min(b, hi))
    return windows


# --- parsing -------------------------------------------------------------------


def _load_json(data: bytes | str) -> Any:
    """Strict JSON: rejects NaN/Infinity, bad UTF-8 and absurd nesting by name."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise RequestError.single(
                "", f"request is not valid UTF-8 (byte {exc.start})", "encoding"
            ) from None

    def _no_constant(name: str) -> Any:
        raise RequestError.single("", f"{name} is not allowed in JSON numbers", "json")

    try:
        return json.loads(data, parse_constant=_no_constant)
    except RecursionError:
        raise RequestError.single("", "request is nested too deeply", "json") from None
    except json.JSONDecodeError as exc:
        raise RequestError.single(
            "",
            f"request is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
            "json",
        ) from None


def _pydantic_errors(exc: ValidationError) -> list[FieldError]:
    out = []
    for err in exc.errors(include_url=False):
        loc = [
            p
            for p in err["loc"]
            if not (
                isinstance(p, str)
                and ("[" in p or p in ("function-after", "tagged-union", "str", "tuple[...]"))
            )
        ]
        msg = err["msg"]
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, ") :]
        if err["type"] == "extra_forbidden":
            msg = "unknown field"
        out.append(FieldError(format_loc(loc), err["type"], msg))
    # one line per field: the first message wins (unions repeat themselves)
    seen: dict[str, FieldError] = {}
    for e in out:
        seen.setdefault(e.loc, e)
    return list(seen.values())


def parse_request(data: bytes | str | Mapping[str, Any] | PlanRequestIn) -> DispatchProblem:
    """A v1 request (JSON text, parsed JSON or wire model) → DispatchProblem.

    Raises
    ------
    RequestError
        With one FieldError per problem found, each naming its field.
    """
    if isinstance(data, bytes | str):
        data = _load_json(data)
    if isinstance(data, PlanRequestIn):
        wire = data
    else:
        if not isinstance(data, Mapping):
            raise RequestError.single("", "request must be a JSON object", "type")
        try:
            wire = PlanRequestIn.model_validate(data)
        except ValidationError as exc:
            raise RequestError(_pydantic_errors(exc)) from None
        except RecursionError:
            raise RequestError.single("", "request is nested too deeply", "json") from None
    return _Builder(wire).build()


class _Builder:
    """Turns the wire model into the domain, collecting every error on the way."""

    def __init__(self, wire: PlanRequestIn) -> None:
        self.wire = wire
        self.errors: list[FieldError] = []
        self.tb: Timebase | None = None

    def err(self, loc: str, message: str, code: str = "invalid") -> None:
        self.errors.append(FieldError(loc, code, message))

    def time(self, loc: str, text: str) -> int:
        assert self.tb is not None
        try:
            return self.tb.seconds(text)
        except ValueError as exc:
            self.err(loc, str(exc), "time")
            return 0

    def span(self, loc: str, pair: tuple[str, str]) -> Span:
        a = self.time(f"{loc}[0]", pair[0])
        b = self.time(f"{loc}[1]", pair[1])
        if b < a:
            self.err(loc, "end before start", "window")
        return (a, b)

    def unique(self, loc: str, ids: list[str]) -> None:
        seen: set[str] = set()
        for i, x in enumerate(ids):
            if x in seen:
                self.err(f"{loc}[{i}].id", f"duplicate id {x!r}", "duplicate")
            seen.add(x)

    def build(self) -> DispatchProblem:
        w = self.wire
        try:
            self.tb = Timebase.parse(w.date, w.timezone)
        except ValueError as exc:
            loc = "timezone" if "zone" in str(exc) else "date"
            raise RequestError.single(loc, str(exc), "time") from None
        self.unique("depots", [d.id for d in w.depots])
        self.unique("technicians", [t.id for t in w.technicians])
        self.unique("couriers", [c.id for c in w.couriers])
        self.unique("jobs", [j.id for j in w.jobs])
        clash = {t.id for t in w.technicians} & {c.id for c in w.couriers}
        for i, c in enumerate(w.couriers):
            if c.id in clash:
                self.err(f"couriers[{i}].id", f"id {c.id!r} is also a technician's id", "duplicate")
        depots = tuple(Depot(d.id, d.kind, d.location, d.service_s, d.name) for d in w.depots)
        by_id = {d.id: d for d in depots}
        resources = [self.technician(i, t, by_id) for i, t in enumerate(w.technicians)]
        resources += [self.courier(i, c, by_id) for i, c in enumerate(w.couriers)]
        jobs = tuple(self.job(i, j) for i, j in enumerate(w.jobs))
        self.check_after(jobs)
        o = w.options
        options = Options(o.preset, o.time_limit_s, o.objective, o.travel, o.seed, o.solution_limit)
        if self.errors:
            raise RequestError(self.errors)
        return DispatchProblem(self.tb, depots, tuple(resources), jobs, options, w.zones)

    def place(self, loc: str, value: str | Point | None, by_id: dict[str, Depot]) -> tuple[Point, str | None]:
        if isinstance(value, str):
            if value not in by_id:
                self.err(loc, f"unknown depot {value!r}", "reference")
                return (0.0, 0.0), None
            return by_id[value].location, value
        assert value is not None
        return value, None

    def common(self, loc: str, r: TechnicianIn | CourierIn) -> tuple[Span, tuple[BreakRule, ...], Cost]:
        shift = self.span(f"{loc}.shift", r.shift)
        breaks = []
        for bi, b in enumerate(r.breaks):
            bl = f"{loc}.breaks[{bi}]"
            win = self.span(f"{bl}.window", b.window)
            lo, hi = max(win[0], shift[0]), min(win[1], shift[1])
            if hi - lo < b.duration:
                self.err(f"{bl}.window", "break does not fit inside the shift and its window", "break")
            breaks.append(BreakRule((lo, hi), b.duration))
        c = r.cost or None
        cost = Cost(float(c.fixed), float(c.per_hour), float(c.per_km)) if c else Cost()
        return shift, tuple(breaks), cost

    def technician(self, i: int, t: TechnicianIn, by_id: dict[str, Depot]) -> Resource:
        loc = f"technicians[{i}]"
        shift, breaks, cost = self.common(loc, t)
        start, sdep = self.place(f"{loc}.start", t.start, by_id)
        end, edep = self.place(f"{loc}.end", t.end, by_id) if t.end is not None else (start, sdep)
        return Resource(
            t.id,
            "technician",
            frozenset(t.brands),
            frozenset(t.skills),
            start,
            end,
            shift,
            breaks,
            t.max_jobs,
            cost,
            {},
            None,
            sdep,
            edep,
            t.name,
            tuple(t.zones) if t.zones is not None else None,
        )

    def courier(self, i: int, c: CourierIn, by_id: dict[str, Depot]) -> Resource:
        loc = f"couriers[{i}]"
        shift, breaks, cost = self.common(loc, c)
        home, hdep = self.place(f"{loc}.depot", c.depot, by_id)
        start, sdep = self.place(f"{loc}.start", c.start, by_id) if c.start is not None else (home, hdep)
        end, edep = self.place(f"{loc}.end", c.end, by_id) if c.end is not None else (home, hdep)
        return Resource(
            c.id,
            "courier",
            frozenset(c.brands),
            frozenset(c.skills),
            start,
            end,
            shift,
            breaks,
            c.max_jobs,
            cost,
            _amounts(c.capacity),
            c.depot,
            sdep,
            edep,
            c.name,
            tuple(c.zones) if c.zones is not None else None,
        )

    def job(self, i: int, j: JobIn) -> Job:
        loc = f"jobs[{i}]"
        windows = sorted(self.span(f"{loc}.windows[{wi}]", w) for wi, w in enumerate(j.windows))
        merged: list[Span] = []
        for a, b in windows:
            if merged and a <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], b))
            else:
                merged.append((a, b))
        duration = j.duration
        if duration is None:
            if j.kind in COURIER_KINDS:
                duration = COURIER_DEFAULT_DURATION_S
            else:
                self.err(f"{loc}.duration", f"required for a {j.kind} job", "missing")
                duration = 0
        promise = None
        if j.promise is not None:
            promise = Promise(j.promise.kind, self.time(f"{loc}.promise.ordered_at", j.promise.ordered_at))
        if j.kind == "exchange" and not j.returned_items and j.items:
            returned = _amounts(j.items)  # the old unit is the same size as the new one
        else:
            returned = _amounts(j.returned_items)
        if j.after is not None and j.after == j.id:
            self.err(f"{loc}.after", "a job cannot come after itself", "cycle")
        return Job(
            j.id,
            j.kind,
            j.location,
            tuple(merged),
            duration,
            j.handover_s,
            j.brand,
            frozenset(j.skills),
            _amounts(j.items),
            returned,
            j.from_,
            j.to,
            j.after,
            j.priority,
            promise,
            j.customer,
            j.address,
            j.notes,
        )

    def check_after(self, jobs: tuple[Job, ...]) -> None:
        """`after` links must not loop; unknown targets are left to the pre-checks."""
        index = {j.id: i for i, j in enumerate(jobs)}
        for i, j in enumerate(jobs):
            seen = {j.id}
            cur = j.after
            while cur is not None and cur in index:
                if cur in seen:
                    self.err(f"jobs[{i}].after", f"`after` links form a cycle through {cur!r}", "cycle")
                    break
                seen.add(cur)
                cur = jobs[index[cur]].after
