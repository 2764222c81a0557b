"""Who is reading: the practitioner behind the session cookie, looked up once per request.

Every page can then show who is signed in, and the site shows restricted briefs to them.
A response to a signed-in practitioner is never stored by a shared cache, since it may
carry restricted learning; a stale cookie is deleted on the way out.
"""

from __future__ import annotations

from collections.abc import Awaitable
from urllib.parse import urlencode

from aiohttp import web
from aiohttp.typedefs import Handler

from learnhub.keys import clock_key, readonly_key, sessions_key, settings_key
from service.practitioners import sessions

COOKIE = "lh_practitioner"
# Machine routes and static files never show restricted learning or who is signed in.
SKIP_PREFIXES = ("/api/", "/feeds/", "/static/", "/healthz", "/readyz", "/metrics")
practitioner_key = web.RequestKey("practitioner", str)
PRIVATE = "private, no-store"


def setup(app: web.Application) -> None:
    """The lookup runs inside the error and CSRF middlewares. ``private_responses`` must run
    as every response is prepared, error pages included (a 410 may name a restricted
    brief): the app factory makes it one of its response steps."""
    app.middlewares.append(reader_middleware)


def practitioner(request: web.Request) -> str | None:
    """The signed-in practitioner's address, or None."""
    return request.get(practitioner_key)


def sign_in_url(request: web.Request) -> str | None:
    """Where the header's sign-in link goes: back to this page afterwards. None on the staff
    console, which has a sign-in of its own."""
    if request.path.startswith("/staff"):
        return None
    if request.method != "GET":
        return "/practitioners/sign-in"
    return sign_in_link(request.path_qs)


def sign_in_link(path_qs: str) -> str:
    """The sign-in link of the page at ``path_qs``, returning to it."""
    path = path_qs.split("?", 1)[0]
    # Pages behind emailed links carry a token in their path: it must not travel into a
    # sign-in link's stored next path (nor the Referer of the page that follows).
    private = path.startswith(
        ("/practitioners/", "/subscriptions/", "/unsubscribe/", "/acknowledge/")
    )
    private = private or (path.startswith("/discussions/") and path != "/discussions/new")
    if path == "/" or private:
        return "/practitioners/sign-in"
    return "/practitioners/sign-in?" + urlencode({"next": path_qs})


async def look_up(app: web.Application, token: str) -> tuple[str | None, bool]:
    """The session's address, and whether it was just touched. A write transaction only when
    the session must be touched or ended (at most once a minute), so that pages do not
    queue for SQLite's write lock."""
    now, domains = app[clock_key](), app[settings_key].practitioner_domains
    async with app[readonly_key]() as session:
        seen = await sessions.peek(session, token, now, domains)
    if not seen.stale:
        return seen.email, False
    async with app[sessions_key].begin() as session:
        return await sessions.current(session, token, now, domains), True


@web.middleware
def reader_middleware(request: web.Request, handler: Handler) -> Awaitable[web.StreamResponse]:
    """Without a session cookie, or on a machine route, the request goes straight on (the
    inner handler's awaitable, no coroutine of this middleware's)."""
    token = request.cookies.get(COOKIE)
    if not token or request.path.startswith(SKIP_PREFIXES):
        return handler(request)
    return _as_reader(request, handler, token)


async def _as_reader(request: web.Request, handler: Handler, token: str) -> web.StreamResponse:
    email, touched = await look_up(request.app, token)
    if email is not None:
        request[practitioner_key] = email
    response = await handler(request)
    if COOKIE in response.cookies:
        pass  # signed in or out by this very request
    elif email is None:
        delete_cookie(response)  # the session has ended: the browser may forget it too
    elif touched:
        set_cookie(request.app, response, token)  # 30 more days, as the session has
    return response


def private_responses(request: web.Request, response: web.StreamResponse) -> None:
    """A response to a signed-in practitioner is theirs alone: no shared cache keeps it."""
    if practitioner(request) is not None:
        response.headers["Cache-Control"] = PRIVATE


# A response that sets or deletes the session cookie is one person's, whatever page it
# carries (an ended session's visitor gets the shared cached page): a shared cache that kept
# it would replay the cookie to everyone.


def set_cookie(app: web.Application, response: web.StreamResponse, token: str) -> None:
    secure = app[settings_key].base_url.startswith("https://")
    response.set_cookie(COOKIE, token, httponly=True, samesite="Lax", secure=secure, path="/",
                        max_age=int(sessions.IDLE.total_seconds()))  # fmt: skip
    response.headers["Cache-Control"] = PRIVATE


def delete_cookie(response: web.StreamResponse) -> None:
    response.del_cookie(COOKIE, path="/")
    response.headers["Cache-Control"] = PRIVATE
