"""Signing in by an emailed one-time link, and signing out: the session cookie's routes.

The check on every console page is ``staff_only`` in ``handlers.console.common``.
"""

from __future__ import annotations

from aiohttp import web

from handlers.common import limit, wake_requests
from handlers.console.common import COOKIE, page, see_other
from handlers.console.copies import KEPT, KEPT_COOKIE, KEPT_HOURS, has_kept, kept_for
from learnhub.keys import clock_key, sessions_key, settings_key
from service.staff import sessions

routes = web.RouteTableDef()


@routes.get("/staff")
async def home(request: web.Request) -> web.Response:
    raise web.HTTPSeeOther("/staff/briefs")


@routes.get("/staff/sign-in")
async def sign_in_form(request: web.Request) -> web.Response:
    kept = KEPT if await has_kept(request) else ""
    context = {"email": "", "errors": {}, "kept": kept, "kept_hours": KEPT_HOURS}
    return page("console/sign_in.html", request, context)


@routes.post("/staff/sign-in")
async def ask_for_link(request: web.Request) -> web.Response:
    form = await request.post()
    email = str(form.get("email", "")).strip()
    if "@" not in email or len(email) > 320:  # no address is longer (RFC 5321)
        errors = {"email": "Enter your work email address, like name@merseyside.police.uk"}
        kept = KEPT if await has_kept(request) else ""
        context = {"email": email, "errors": errors, "error_summary": errors, "kept": kept,
                   "kept_hours": KEPT_HOURS}  # fmt: skip
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
    paragraphs = [
        "If that address belongs to a member of staff, we have sent it a sign-in link.",
        "The link works once, for 15 minutes.",
    ]
    if await has_kept(request):  # the kept form's cookie is in this browser only
        paragraphs.append("Open the link in this browser: your changes are kept here, and "
                          "they will be back in the editor once you have signed in.")  # fmt: skip
    return page("console/message.html", request, {
        "heading": "Check your email", "paragraphs": paragraphs,
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
    now = app[clock_key]()
    async with app[sessions_key].begin() as session:
        secret = await sessions.sign_in(session, request.match_info["token"], now)
        staff = await sessions.current(session, secret, now)
        # Back to the editor whose post was kept when the session ended: only its owner's.
        kept = await kept_for(request, session, staff) if staff is not None else None
    response = see_other(kept or "/staff/briefs")
    if kept is None and KEPT_COOKIE in request.cookies:
        response.del_cookie(KEPT_COOKIE, path="/staff")  # someone else's, or expired
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
