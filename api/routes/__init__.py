"""One APIRouter per resource, all under /v1."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from ..access import authorize_under
from . import appointments, events, jobs, keys, plans, replan, resources, routes, tracking, zones


def v1_router() -> APIRouter:
    # every route is checked against its row of the authorization table (api/access.py) first
    router = APIRouter(prefix="/v1", dependencies=[Depends(authorize_under("/v1"))])
    for module in (resources, zones, jobs, plans, routes, keys, events, tracking, replan, appointments):
        for r in module.routers():
            router.include_router(r)
    return router
