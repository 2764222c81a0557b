"""Addresses that bounce or complain, for administrators: the suspended ones with the reason,
each with a button to lift its suspension, and those that complained."""

from __future__ import annotations

from aiohttp import web

from handlers.console.common import page, see_other, staff_key, staff_only
from learnhub.keys import clock_key, readonly_key, sessions_key, settings_key
from service.audit import service as audit
from service.audit.models import Action
from service.mail import bounces
from service.staff.models import Role

routes = web.RouteTableDef()
DONE = {"lifted": "The suspension has been lifted: the address will be sent email again."}


@routes.get("/staff/addresses")
@staff_only(Role.admin)
async def addresses(request: web.Request) -> web.Response:
    async with request.app[readonly_key]() as session:
        suspended = await bounces.suspended(session)
        complained = await bounces.complaints(session)
    context = {
        "suspended": suspended,
        "complained": complained,
        "done": DONE.get(request.query.get("done", "")),
        "zone": request.app[settings_key].zone,
    }
    return page("console/addresses.html", request, context)


@routes.post("/staff/addresses/lift")
@staff_only(Role.admin)
async def lift(request: web.Request) -> web.Response:
    form = await request.post()
    email = str(form.get("email", "")).strip().lower()
    now = request.app[clock_key]()
    async with request.app[sessions_key].begin() as session:
        lifted = await bounces.lift(session, email, now=now)
        if lifted is not None:
            audit.record(
                session,
                request[staff_key],
                Action.suspension_lifted,
                email,
                now=now,
                reason=lifted.reason,
            )
    if lifted is None:
        raise web.HTTPNotFound(text=f"{email} is not suspended")
    return see_other("/staff/addresses?done=lifted")
