"""What courier and technician apps fetch: their route on the published plan."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query

from .. import crud
from ..deps import PrincipalDep, SessionDep, require_dispatcher
from ..errors import Problem, forbidden
from ..fastpath import route_out
from ..models import Courier, Technician
from ..schemas import RouteOut

router = APIRouter(prefix="/resources", tags=["routes"])


@router.get(
    "/{resource_id}/route", response_model=RouteOut, summary="A resource's route on the published plan"
)
def resource_route(
    resource_id: str,
    session: SessionDep,
    who: PrincipalDep,
    date: Annotated[dt.date, Query(description="the plan's date, YYYY-MM-DD")],
) -> Any:
    """Stops with times, addresses, items and job details; an empty list on a day off.

    A verified courier's or technician's own fetch is usually answered before this runs, by
    ``fastpath.RouteFastPath`` with the same body; this route answers everything else.
    """
    if who.role in ("courier", "technician"):
        if who.resource_id != resource_id:
            raise forbidden("this key may read only its own route")
        kind = who.role
    else:
        row = session.get(Courier, resource_id) or session.get(Technician, resource_id)
        require_dispatcher(who, row.zone if row is not None else None, any_zone=row is None)
        kind = None
        if row is not None:
            kind = "courier" if isinstance(row, Courier) else "technician"
    found = crud.route_of(session=session, resource_id=resource_id, date=date)
    if found is None:
        raise Problem(404, "No published plan", f"no plan is published for {date}", kind="no-published-plan")
    return route_out(resource_id=resource_id, date=date, kind=kind, found=found)


def routers() -> list[APIRouter]:
    return [router]
