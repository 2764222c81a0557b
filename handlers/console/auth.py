"""Signing in by an emailed one-time link, and signing out: the session cookie's routes.

The check on every console page is ``staff_only`` in ``handlers.console.common``.
"""

from __future__ import annotations

from aiohttp import web

from handlers.common import limit, wake_requests
from handlers.console.common import COOKIE, page, see_other
from learnhub.keys import clock_key, sessions_key, settings_key
from service.staff import sessions

routes = web.RouteTableDef()


@routes.get("/staff")
async def home(request: web.Request) -> web.Response:
    raise web.HTTPSeeOther("/staff/briefs")


@routes.get("/staff/sign-in")
async def sign_in_form(request: web.Request) -> web.Response:
    return page("console/sign_in.html", request, {"email": "", "errors": {}})


@routes.post("/staff/sign-in")
async def ask_for_link(request: web.Request) -> web.Response:
    form = await request.post()
    email = str(form.get("email", "")).strip()
    if "@" not in email or len(email) > 320:  # no address is longer (RFC 5321)
        errors = {"email": "Enter your work email address, like name@merseyside.police.uk"}
        context = {"email": email, "errors": errors, "error_summary": errors}
        return page("console/sign_in.html", request, context, status=422)
    await limit(request, email)
    app = request.app
    async with app[sessions_key].begin() as session:
        await sessions.ask(session, email, app[clock_key]())
    wake_requests(app)
    # The same page whether or not the address belongs to staff: it reveals nobody.
    raise web.HTTPSeeOther("/staff/sign-in/check-your-email")


@routes.get("/staff/sign-in/check-your-email")
async def check_email(request: web.Request) -> web.Response:
    return page("console/message.html", request, {
        "heading": "Check your email",
        "paragraphs": [
            "If that address belongs to a member of staff, we have sent it a sign-in link.",
            "The link works once, for 15 minutes.",
        ],
    })  # fmt: skip


@routes.get("/staff/sign-in/{token}")
async def link_page(request: web.Request) -> web.Response:
    app = request.app
    async with app[sessions_key]() as session:
        await sessions.read_link(session, request.match_info["token"], app[clock_key]())
    # A GET never signs in: mail scanners open links before people do.
    return page("console/confirm.html", request, {
        "heading": "Sign in to the staff console",
        "paragraphs": ["Press the button to sign in. You stay signed in while you work, "
                       "for up to 12 hours; after 30 minutes without activity you sign in again."],
        "button": "Sign in",
        "action": request.path,
    })  # fmt: skip


@routes.post("/staff/sign-in/{token}")
async def sign_in(request: web.Request) -> web.Response:
    app = request.app
    async with app[sessions_key].begin() as session:
        secret = await sessions.sign_in(session, request.match_info["token"], app[clock_key]())
    response = see_other("/staff/briefs")
    secure = app[settings_key].base_url.startswith("https://")
    response.set_cookie(COOKIE, secret, httponly=True, samesite="Lax", secure=secure,
                        path="/staff")  # fmt: skip
    return response


@routes.post("/staff/sign-out")
async def sign_out(request: web.Request) -> web.Response:
    token = request.cookies.get(COOKIE)
    if token:
        async with request.app[sessions_key].begin() as session:
            await sessions.end(session, token)
    response = see_other("/staff/signed-out")
    response.del_cookie(COOKIE, path="/staff")
    return response


@routes.get("/staff/signed-out")
async def signed_out(request: web.Request) -> web.Response:
    return page("console/message.html", request, {
        "heading": "You have signed out",
        "paragraphs": [],
        "link": ("Sign in again", "/staff/sign-in"),
    })  # fmt: skip
