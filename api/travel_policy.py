"""Server-owned travel settings: what an API body may ask the server to read or connect to.

``options.travel`` in a v1 request names a provider and its settings. From the command line
that is the user's own business (their files, their OSRM). Through the API it would let any
dispatcher make the server open a file of its choosing or connect to a host of its choosing,
so here a body may only pick what the operator listed in the settings (``ONESTOP_TRAVEL_*``).
Everything is decided on the text of the body: no file is looked at and no socket opened, so
the answer for an unlisted path is the same whether the path exists or not.
"""

from __future__ import annotations

import math
import re
from typing import Any

from .errors import Problem, conflict, field_error, validation_problem
from .settings import Settings

#: An OSRM profile goes into the URL path: a plain name only (no ``/``, ``..``, ``?``).
_PROFILE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
#: The largest OSRM ``chunk`` (coordinates per table request) a body may ask for.
MAX_CHUNK = 1000


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def travel_errors(travel: Any, settings: Settings, loc: str = "options.travel") -> list[dict[str, str]]:
    """The reasons ``travel`` is not allowed through the API (empty when it is)."""
    if travel is None:
        return []
    if not isinstance(travel, dict):
        return [field_error(loc, "must be an object such as {\"provider\": \"haversine\"}", "travel")]
    provider = travel.get("provider", "haversine")
    allowed = settings.travel_providers
    if not isinstance(provider, str) or provider not in allowed:
        return [
            field_error(
                f"{loc}.provider",
                f"this server offers the travel providers {', '.join(allowed) or '(none)'}; got {provider!r}",
                "travel_not_allowed",
            )
        ]
    errors: list[dict[str, str]] = []
    if provider == "osm":
        extract = travel.get("extract")
        if not isinstance(extract, str) or extract not in settings.travel_osm_extracts:
            names = ", ".join(settings.travel_osm_extracts) or "(none)"
            errors.append(
                field_error(
                    f"{loc}.extract",
                    f"must be one of this server's extracts: {names}",
                    "travel_not_allowed",
                )
            )
    elif provider == "osrm":
        url = travel.get("url")
        if not isinstance(url, str) or url.rstrip("/") not in settings.travel_osrm_urls:
            names = ", ".join(settings.travel_osrm_urls) or "(none configured)"
            errors.append(
                field_error(
                    f"{loc}.url", f"must be one of this server's OSRM URLs: {names}", "travel_not_allowed"
                )
            )
        profile = travel.get("profile", "driving")
        if not isinstance(profile, str) or not _PROFILE.match(profile):
            errors.append(field_error(f"{loc}.profile", "must be a plain profile name such as driving"))
        if "timeout_s" in travel:
            t = _number(travel["timeout_s"])
            if t is None or not 0 < t <= settings.travel_max_timeout_s:
                errors.append(
                    field_error(
                        f"{loc}.timeout_s",
                        f"must be a number of seconds above 0 and at most {settings.travel_max_timeout_s:g}",
                    )
                )
        for key, most in (("parallel", settings.travel_max_parallel), ("chunk", MAX_CHUNK)):
            if key in travel:
                v = travel[key]
                if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= most:
                    errors.append(field_error(f"{loc}.{key}", f"must be a whole number from 1 to {most}"))
    return errors


def check_travel(options: Any, settings: Settings, loc: str = "options") -> None:
    """422 naming the field unless ``options.travel`` keeps to the server's travel settings.

    A missing OSRM ``timeout_s`` is filled in with the server's bound when that is below the
    provider's own default (30 s), so the solver never waits longer than the operator allows.
    """
    if not isinstance(options, dict):
        return
    travel = options.get("travel")
    errors = travel_errors(travel, settings, f"{loc}.travel")
    if errors:
        raise validation_problem(errors)
    if isinstance(travel, dict) and travel.get("provider") == "osrm" and "timeout_s" not in travel:
        travel["timeout_s"] = min(30.0, settings.travel_max_timeout_s)


def stored_travel_problem(request: Any, settings: Settings) -> Problem | None:
    """For a stored request (a run made before these settings, or under others): a 409 naming
    the field its travel breaks, or None. Re-plans and bookings reuse a run's travel, and the
    body that asked for them is not at fault."""
    options = request.get("options") if isinstance(request, dict) else None
    travel = options.get("travel") if isinstance(options, dict) else None
    errors = travel_errors(travel, settings, "options.travel")
    if not errors:
        return None
    first = errors[0]
    return conflict(f"the plan's {first['loc']} is not allowed on this server: {first['message']}")
