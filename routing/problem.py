"""The generic routing problem: index-based, immutable, knows nothing of jobs.

Times are integer seconds from an origin chosen by the caller; distances are
integer metres (or any integer length unit); costs are integers in the caller's
unit. Every node has a location index into the two matrices, so many nodes may
share one place (a warehouse visited for many loads).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from .errors import InvalidProblem

#: A window is (earliest start, latest start) of service, inclusive.
Window = tuple[int, int]


@dataclass(frozen=True, slots=True)
class Node:
    """A place a vehicle may stop at: a visit, or a vehicle's start or end.

    Parameters
    ----------
    location
        Row/column index into the problem's matrices.
    windows
        Sorted, disjoint (earliest, latest) bounds on the *start* of service.
        Empty means no bound beyond the vehicle's shift.
    service_s
        Seconds spent at the node.
    demand
        Load change per capacity dimension when the node is served: positive
        picks up, negative drops off. Empty means no load change.
    allowed_vehicles
        Vehicle indices that may serve the node; ``None`` means all.
    penalty
        Cost of leaving the node out. ``None`` makes it mandatory. For a node
        in a :class:`Group` the group's penalty counts, not this one.
    counts_as_stop
        Whether the node counts toward a vehicle's ``max_stops``.
    """

    location: int
    windows: tuple[Window, ...] = ()
    service_s: int = 0
    demand: tuple[int, ...] = ()
    allowed_vehicles: frozenset[int] | None = None
    penalty: int | None = None
    counts_as_stop: bool = True

    def __post_init__(self) -> None:
        if self.location < 0:
            raise InvalidProblem("location must be >= 0.")
        if self.service_s < 0:
            raise InvalidProblem("service_s must be >= 0.")
        if self.penalty is not None and self.penalty < 0:
            raise InvalidProblem("penalty must be >= 0.")
        prev_late = None
        for early, late in self.windows:
            if late < early:
                raise InvalidProblem("window late must be >= early.")
            if prev_late is not None and early <= prev_late:
                raise InvalidProblem("windows must be sorted and disjoint.")
            prev_late = late


@dataclass(frozen=True, slots=True)
class Break:
    """A rest of ``duration_s`` that must start and end inside [earliest, latest]."""

    earliest_s: int
    latest_s: int
    duration_s: int

    def __post_init__(self) -> None:
        if self.duration_s < 0:
            raise InvalidProblem("break duration_s must be >= 0.")
        if self.latest_s - self.earliest_s < self.duration_s:
            raise InvalidProblem("break window must be at least its duration long.")


@dataclass(frozen=True, slots=True)
class Vehicle:
    """One vehicle (a person with or without a van): where and when it works.

    Parameters
    ----------
    start, end
        Node indices of its start and end; these nodes are not visits.
    shift
        (earliest departure, latest return) in seconds.
    capacity
        Per dimension, same length as the problem's ``dimensions``.
    breaks
        Rests it must take while its route runs.
    max_stops
        Most nodes with ``counts_as_stop`` it may serve; ``None`` is no limit.
    fixed_cost
        Added once when the vehicle serves at least one node.
    cost_per_travel_s, cost_per_m, cost_per_span_s
        Arc costs per travel second and per metre, and a cost per second of
        route span (start to end, waiting included).
    """

    start: int
    end: int
    shift: tuple[int, int]
    capacity: tuple[int, ...] = ()
    breaks: tuple[Break, ...] = ()
    max_stops: int | None = None
    fixed_cost: int = 0
    cost_per_travel_s: int = 1
    cost_per_m: int = 0
    cost_per_span_s: int = 0

    def __post_init__(self) -> None:
        if self.shift[1] < self.shift[0]:
            raise InvalidProblem("shift end must be >= shift start.")
        if any(c < 0 for c in self.capacity):
            raise InvalidProblem("capacity must be >= 0.")
        if self.max_stops is not None and self.max_stops < 0:
            raise InvalidProblem("max_stops must be >= 0.")
        if min(self.fixed_cost, self.cost_per_travel_s, self.cost_per_m, self.cost_per_span_s) < 0:
            raise InvalidProblem("costs must be >= 0.")


@dataclass(frozen=True, slots=True)
class Group:
    """Nodes served all together or not at all, dropped at one ``penalty``.

    ``alternatives`` lists other node sets that may stand in for ``nodes``:
    exactly one option (``nodes`` or one alternative) is served, or none.
    Nodes of different options must differ. ``penalty`` ``None`` = mandatory.
    """

    nodes: tuple[int, ...]
    penalty: int | None = None
    alternatives: tuple[tuple[int, ...], ...] = ()

    @property
    def options(self) -> tuple[tuple[int, ...], ...]:
        return (self.nodes, *self.alternatives)


@dataclass(frozen=True, slots=True)
class Precedence:
    """If ``after`` is served, ``before`` is served too and ``after`` starts
    no earlier than ``before`` ends (start + service), on any vehicles."""

    before: int
    after: int


@dataclass(frozen=True, slots=True)
class RoutingProblem:
    """An immutable vehicle-routing problem with time windows and side rules.

    Parameters
    ----------
    durations, distances
        Square integer matrices over locations (travel seconds, metres).
        A negative entry marks a pair with no route.
    nodes
        Every node: visits and vehicle terminals alike.
    vehicles
        The fleet.
    pairs
        (pickup, delivery) node pairs: same vehicle, pickup first. A node may
        sit in several pairs (a swap is the delivery of one and the pickup of
        the next).
    groups
        All-or-nothing node sets, with alternatives.
    precedences
        Cross-route ordering.
    dimensions
        Names of the capacity dimensions, for messages and output.
    horizon_s
        Latest time anything may happen.
    """

    durations: np.ndarray
    distances: np.ndarray
    nodes: tuple[Node, ...]
    vehicles: tuple[Vehicle, ...]
    pairs: tuple[tuple[int, int], ...] = ()
    groups: tuple[Group, ...] = ()
    precedences: tuple[Precedence, ...] = ()
    dimensions: tuple[str, ...] = ()
    horizon_s: int = 7 * 86_400
    _visits: tuple[int, ...] = field(default=(), init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for name in ("durations", "distances"):
            m = np.array(getattr(self, name), dtype=np.int64, copy=True)
            m.setflags(write=False)
            object.__setattr__(self, name, m)
        object.__setattr__(self, "nodes", tuple(self.nodes))
        object.__setattr__(self, "vehicles", tuple(self.vehicles))
        terminals = {v.start for v in self.vehicles} | {v.end for v in self.vehicles}
        visits = tuple(i for i in range(len(self.nodes)) if i not in terminals)
        object.__setattr__(self, "_visits", visits)
        self.validate()

    @property
    def visits(self) -> tuple[int, ...]:
        """Indices of nodes that are not a vehicle's start or end."""
        return self._visits

    @property
    def num_nodes(self) -> int:
        return len(self.nodes)

    @property
    def num_vehicles(self) -> int:
        return len(self.vehicles)

    def replace(self, **changes: object) -> RoutingProblem:
        """A copy with some fields changed (validated again)."""
        return replace(self, **changes)  # type: ignore[arg-type]

    def travel_s(self, a: int, b: int) -> int:
        """Travel seconds from node ``a`` to node ``b``."""
        return int(self.durations[self.nodes[a].location, self.nodes[b].location])

    def distance_m(self, a: int, b: int) -> int:
        return int(self.distances[self.nodes[a].location, self.nodes[b].location])

    def validate(self) -> None:
        """Checks across objects; raises :class:`InvalidProblem`."""
        d, m = self.durations, self.distances
        if d.ndim != 2 or d.shape[0] != d.shape[1]:
            raise InvalidProblem("durations must be a square matrix.")
        if m.shape != d.shape:
            raise InvalidProblem("distances must have the shape of durations.")
        n_loc = d.shape[0]
        if n_loc and (np.diagonal(d) != 0).any():
            raise InvalidProblem("durations diagonal must be all zero.")
        if n_loc and (np.diagonal(m) != 0).any():
            raise InvalidProblem("distances diagonal must be all zero.")
        n_dims = len(self.dimensions)
        for i, node in enumerate(self.nodes):
            if node.location >= n_loc:
                raise InvalidProblem(f"node {i} references invalid location.")
            if node.demand and len(node.demand) != n_dims:
                raise InvalidProblem(f"node {i} demand must have {n_dims} dimensions.")
            if node.allowed_vehicles is not None and any(
                not 0 <= v < len(self.vehicles) for v in node.allowed_vehicles
            ):
                raise InvalidProblem(f"node {i} allows an invalid vehicle.")
        visits = set(self._visits)
        for k, veh in enumerate(self.vehicles):
            for idx in (veh.start, veh.end):
                if not 0 <= idx < len(self.nodes):
                    raise InvalidProblem(f"vehicle {k} references invalid node.")
            if len(veh.capacity) != n_dims:
                raise InvalidProblem(f"vehicle {k} capacity must have {n_dims} dimensions.")
        for p, q in self.pairs:
            if p not in visits or q not in visits or p == q:
                raise InvalidProblem("pairs must join two different visit nodes.")
        seen: set[int] = set()
        for g in self.groups:
            members = [i for opt in g.options for i in opt]
            if not all(opt for opt in g.options):
                raise InvalidProblem("group options must not be empty.")
            if len(set(members)) != len(members) or seen.intersection(members):
                raise InvalidProblem("a node may sit in one group option only.")
            if not visits.issuperset(members):
                raise InvalidProblem("groups must hold visit nodes only.")
            seen.update(members)
        for pr in self.precedences:
            if pr.before not in visits or pr.after not in visits or pr.before == pr.after:
                raise InvalidProblem("precedences must join two different visit nodes.")

    def group_of(self) -> dict[int, int]:
        """Map visit node → index of the group holding it."""
        out: dict[int, int] = {}
        for gi, g in enumerate(self.groups):
            for opt in g.options:
                for i in opt:
                    out[i] = gi
        return out
