"""Service zones: polygons that limit which resources serve which jobs."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from onestop import geodata
from sqlalchemy import func, or_, select

from .. import crud
from ..deps import DispatcherDep, SessionDep, require_dispatcher
from ..errors import conflict, field_error, validation_problem
from ..models import Courier, Job, ServiceZone, Technician
from ..schemas import ZoneCreate, ZoneOut, ZonePage

router = APIRouter(prefix="/zones", tags=["zones"])


def _check(body: ZoneCreate) -> dict[str, Any]:
    feature = {"type": "Feature", "id": body.id, "properties": {}, "geometry": body.geometry}
    try:
        geodata.ZoneSet.from_geojson({"type": "FeatureCollection", "features": [feature]})
    except geodata.TravelDataError as exc:
        raise validation_problem([field_error("geometry", str(exc), "zone")]) from None
    return body.model_dump(mode="json", exclude={"id"}, exclude_none=True)


def _out(row: ServiceZone) -> dict[str, Any]:
    return {**row.data, "id": row.id, "created_at": row.created_at, "updated_at": row.updated_at}


@router.post("", status_code=201, response_model=ZoneOut, summary="Create a service zone")
def create_zone(body: ZoneCreate, session: SessionDep, who: DispatcherDep) -> Any:
    require_dispatcher(who, body.id)
    if session.get(ServiceZone, body.id) is not None:
        raise conflict(f"zone {body.id!r} exists; use PUT to replace it")
    row = ServiceZone(id=body.id, data=_check(body))
    session.add(row)
    session.flush()
    return _out(row)


@router.get("", response_model=ZonePage, summary="List service zones")
def list_zones(
    session: SessionDep,
    who: DispatcherDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> Any:
    filters = [ServiceZone.id == who.zone] if who.zone is not None else []
    rows, total = crud.list_rows(
        session=session, table=ServiceZone, filters=filters, limit=limit, offset=offset, order=ServiceZone.id
    )
    return {"items": [_out(r) for r in rows], "total": total, "limit": limit, "offset": offset}


@router.get("/{zone_id}", response_model=ZoneOut, summary="Read a service zone")
def read_zone(zone_id: str, session: SessionDep, who: DispatcherDep) -> Any:
    row = crud.get_or_404(session, ServiceZone, zone_id, "zone")
    require_dispatcher(who, zone_id)
    return _out(row)


@router.put("/{zone_id}", response_model=ZoneOut, summary="Replace a service zone")
def replace_zone(zone_id: str, body: ZoneCreate, session: SessionDep, who: DispatcherDep) -> Any:
    row = crud.get_or_404(session, ServiceZone, zone_id, "zone")
    require_dispatcher(who, zone_id)
    if body.id != zone_id:
        raise validation_problem([field_error("id", f"the body's id must be the path's id {zone_id!r}")])
    row.data = _check(body)
    session.flush()
    return _out(row)


@router.delete("/{zone_id}", status_code=204, summary="Delete a service zone nothing uses")
def delete_zone(zone_id: str, session: SessionDep, who: DispatcherDep) -> Response:
    row = crud.get_or_404(session, ServiceZone, zone_id, "zone")
    require_dispatcher(who, zone_id)
    for table in (Job, Technician, Courier):
        if session.scalar(select(func.count()).select_from(table).where(table.zone == zone_id)):
            raise conflict(f"zone {zone_id!r} still has {table.__tablename__}")
    for table in (Technician, Courier):
        for r in session.scalars(select(table).where(or_(table.zone.is_(None), table.zone != zone_id))):
            if zone_id in (r.data.get("zones") or ()):
                raise conflict(f"{table.__tablename__[:-1]} {r.id!r} serves zone {zone_id!r}")
    session.delete(row)
    return Response(status_code=204)


def routers() -> list[APIRouter]:
    return [router]
