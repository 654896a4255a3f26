"""Tuning constants and sentinels shared by the construction's modules."""

from __future__ import annotations

_NEG = -(1 << 62)
_POS = 1 << 62
#: Vehicles each part considers before widening to every allowed vehicle.
NEAREST_VEHICLES = 40
#: Above this many units the regret loop considers fewer vehicles per part (its cost per
#: insertion grows with parts x candidates / vehicles), down to ``MIN_NEAREST``.
REGRET_FULL_UNITS = 300
MIN_NEAREST = 12
#: Vehicles the cheap completion pass evaluates per part before looking further.
GREEDY_NEAREST = 6
_BIG_REGRET = 1 << 60
