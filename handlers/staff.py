"""Staff accounts over the API (admins only)."""

from __future__ import annotations

from aiohttp import web

from handlers.api import Api
from learnhub.keys import clock_key, sessions_key
from service.staff import service
from service.staff.models import Role, StaffMember
from service.staff.schemas import StaffCreate, StaffCreated

api = Api()


@api.route(
    "POST",
    "/api/v1/staff",
    summary="Add a member of staff; the token is shown once",
    tag="staff",
    body=StaffCreate,
    response=StaffCreated,
    status=201,
    role=Role.admin,
)
async def add_staff(request: web.Request, body: StaffCreate, staff: StaffMember) -> StaffCreated:
    async with request.app[sessions_key].begin() as session:
        token = await service.create(
            session, email=body.email, role=Role(body.role), now=request.app[clock_key](), by=staff
        )
    return StaffCreated(email=service.normalise_email(body.email), role=body.role, token=token)
