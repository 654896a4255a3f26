"""Depots, technicians and couriers: create, read, replace, list, delete where safe."""

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel

from .. import crud
from ..deps import DispatcherDep, PrincipalDep, SessionDep, SettingsDep, require_dispatcher
from ..errors import conflict, field_error, forbidden, validation_problem
from ..models import Courier, Depot, Technician
from ..schemas import (
    CourierCreate,
    CourierOut,
    CourierPage,
    DepotCreate,
    DepotOut,
    DepotPage,
    TechnicianCreate,
    TechnicianOut,
    TechnicianPage,
    Zone,
)
from ..security import revoke_subject

Limit = Annotated[int, Query(ge=1, le=1000)]
Offset = Annotated[int, Query(ge=0, le=10_000_000)]


def _router(
    section: str,
    table: Any,
    create_model: type[BaseModel],
    out_model: type[BaseModel],
    page_model: type[BaseModel],
    what: str,
) -> APIRouter:
    router = APIRouter(prefix=f"/{section}", tags=[section])

    def _check(session: Any, settings: Any, body: Any, ident: str) -> tuple[dict[str, Any], str | None]:
        data = crud.wire_data(body)
        data["id"] = ident
        crud.check_in_request(session=session, section=section, item=data, timezone=settings.timezone)
        if crud.id_taken_by_other_kind(session=session, section=section, ident=ident):
            raise validation_problem(
                [field_error("id", f"id {ident!r} is already a {what} of the other kind", "duplicate")]
            )
        del data["id"]
        return data, body.zone

    def _store(row: Any, data: dict[str, Any], zone: str | None) -> None:
        row.data = data
        row.zone = zone
        if table is Depot:
            row.kind = data["kind"]
        if table is Courier:
            row.depot_id = data["depot"]

    @router.post("", status_code=201, response_model=out_model, summary=f"Create a {what}")
    def create(body: create_model, session: SessionDep, settings: SettingsDep, who: DispatcherDep):  # type: ignore[valid-type]
        require_dispatcher(who, body.zone)
        if session.get(table, body.id) is not None:
            raise conflict(f"{what} {body.id!r} exists; use PUT to replace it")
        data, zone = _check(session, settings, body, body.id)
        row = table(id=body.id)
        _store(row, data, zone)
        session.add(row)
        session.flush()
        return crud.resource_out(row)

    @router.get("", response_model=page_model, summary=f"List {section}")
    def list_(
        session: SessionDep,
        who: DispatcherDep,
        zone: Annotated[Zone | None, Query()] = None,
        limit: Limit = 100,
        offset: Offset = 0,
    ):
        if who.zone is not None:
            if zone is not None and zone != who.zone:
                raise forbidden(f"this key is limited to zone {who.zone!r}")
            zone = who.zone
        filters = [table.zone == zone] if zone is not None else []
        rows, total = crud.list_rows(
            session=session, table=table, filters=filters, limit=limit, offset=offset, order=table.id
        )
        return {
            "items": [crud.resource_out(r) for r in rows],
            "total": total,
            "limit": limit,
            "offset": offset,
        }

    @router.get("/{ident}", response_model=out_model, summary=f"Read a {what}")
    def read(ident: str, session: SessionDep, who: PrincipalDep):
        row = crud.get_or_404(session, table, ident, what)
        if who.role in ("courier", "technician") and who.resource_id == ident:
            return crud.resource_out(row)
        require_dispatcher(who, row.zone)
        return crud.resource_out(row)

    @router.put("/{ident}", response_model=out_model, summary=f"Replace a {what}")
    def replace(
        ident: str, body: create_model, session: SessionDep, settings: SettingsDep, who: DispatcherDep
    ):  # type: ignore[valid-type]
        row = crud.get_or_404(session, table, ident, what)
        require_dispatcher(who, row.zone)
        require_dispatcher(who, body.zone)
        if body.id != ident:
            raise validation_problem([field_error("id", f"the body's id must be the path's id {ident!r}")])
        data, zone = _check(session, settings, body, ident)
        _store(row, data, zone)
        session.flush()
        return crud.resource_out(row)

    @router.delete("/{ident}", status_code=204, summary=f"Delete a {what} no published plan uses")
    def remove(ident: str, request: Request, session: SessionDep, who: DispatcherDep) -> Response:
        row = crud.get_or_404(session, table, ident, what)
        require_dispatcher(who, row.zone)
        if table is Depot:
            reason = crud.depot_in_use(session=session, depot_id=ident)
            if reason:
                raise conflict(f"depot {ident!r} is in use: {reason}")
        else:
            day = crud.resource_on_published_plan(session=session, resource_id=ident)
            if day:
                raise conflict(f"{what} {ident!r} has a route on the published plan of {day}")
            # its app keys go with it: a later resource under the same id gets new ones
            for key_id in revoke_subject(session, resource_id=ident, roles=(what,)):
                request.app.state.principals.forget_key(key_id)
        session.delete(row)
        return Response(status_code=204)

    return router


def routers() -> list[APIRouter]:
    return [
        _router("depots", Depot, DepotCreate, DepotOut, DepotPage, "depot"),
        _router("technicians", Technician, TechnicianCreate, TechnicianOut, TechnicianPage, "technician"),
        _router("couriers", Courier, CourierCreate, CourierOut, CourierPage, "courier"),
    ]
