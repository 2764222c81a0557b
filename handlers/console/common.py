"""What the console's route modules share: the signed-in member of staff, checked on every
page (``staff_only``), console pages, and redirects that keep their cookies.

The sign-in routes that set and end the session cookie are in ``handlers.console.auth``.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from handlers.pages import render
from learnhub.keys import clock_key, sessions_key
from service.staff import sessions
from service.staff.models import Role, StaffMember

COOKIE = "lh_staff"
staff_key = web.RequestKey("console_staff", StaffMember)
View = Callable[[web.Request], Awaitable[web.StreamResponse]]


def staff_only(
    role: Role = Role.publisher, *, signed_out: View | None = None
) -> Callable[[View], View]:
    """Let a signed-in member of staff with ``role`` through; others go to sign in, or 403.

    ``signed_out`` answers instead of the redirect when there is no session (or it has
    ended): the editor keeps what was posted, autosave says so to its script.
    """

    def wrap(view: View) -> View:
        @functools.wraps(view)
        async def handle(request: web.Request) -> web.StreamResponse:
            staff = await signed_in(request)
            if staff is None and signed_out is not None:
                answer = await signed_out(request)
                answer.headers["Cache-Control"] = "no-store"
                return answer
            if staff is None:
                raise web.HTTPSeeOther("/staff/sign-in")
            if not staff.can(role):
                raise web.HTTPForbidden(reason=f"Only an {role.value} can use this page.")
            request[staff_key] = staff
            response = await view(request)
            response.headers["Cache-Control"] = "no-store"
            return response

        return handle

    return wrap


async def signed_in(request: web.Request) -> StaffMember | None:
    token = request.cookies.get(COOKIE)
    if not token:
        return None
    app = request.app
    async with app[sessions_key].begin() as session:
        return await sessions.current(session, token, app[clock_key]())


def page(
    template: str, request: web.Request, context: dict[str, Any], status: int = 200
) -> web.Response:
    """A console page: every template gets the signed-in member of staff."""
    return render(template, request, {"staff": request.get(staff_key), **context}, status=status)


def see_other(location: str) -> web.Response:
    """A redirect that can carry cookies (a raised HTTPSeeOther loses them in middleware)."""
    return web.Response(status=303, headers={"Location": location})


def sentence(message: str) -> str:
    """A domain's message as a sentence on a page: capitalised, unless it starts with an
    address (``someone@nhs.net is already…``), which is written as it is."""
    first = message.split(" ", 1)[0]
    return message if "@" in first else message[:1].upper() + message[1:]
