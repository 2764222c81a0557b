"""CSRF protection for every HTML form: a random cookie, and its HMAC in a hidden field.

A page that is opened from another site can't read the cookie, so it can't compute the
field; the check is skipped only for the JSON API (bearer tokens, no cookies) and for
routes whose URL itself carries a secret token given by email.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Awaitable

from aiohttp import hdrs, web
from aiohttp.typedefs import Handler

from handlers.inputs import read_form
from learnhub.keys import settings_key

COOKIE = "lh_csrf"
FIELD = "csrf_token"
EXEMPT_PREFIXES = ("/api/", "/unsubscribe/")
cookie_key = web.RequestKey("csrf_cookie", str)
new_cookie_key = web.RequestKey("csrf_cookie_new", bool)


def token(request: web.Request) -> str:
    """The value a form on this page must send back."""
    key = request.app[settings_key].signing_key().encode()
    return hmac.new(key, _cookie(request).encode(), hashlib.sha256).hexdigest()


def _cookie(request: web.Request) -> str:
    value = request.get(cookie_key) or request.cookies.get(COOKIE)
    if not value or len(value) != 43 or not value.isascii():
        value = secrets.token_urlsafe(32)
        request[new_cookie_key] = True
    request[cookie_key] = value
    return value


@web.middleware
def csrf_middleware(request: web.Request, handler: Handler) -> Awaitable[web.StreamResponse]:
    """A form's POST is checked before its handler runs. Every other request goes straight
    on: the middleware hands back the inner handler's awaitable, adding no coroutine."""
    if request.method == "POST" and not request.path.startswith(EXEMPT_PREFIXES):
        return _checked(request, handler)
    return handler(request)


async def _checked(request: web.Request, handler: Handler) -> web.StreamResponse:
    form = await read_form(request)
    sent = str(form.get(FIELD, ""))
    expected = token(request).encode()
    if not request.cookies.get(COOKIE) or not hmac.compare_digest(sent.encode(), expected):
        raise web.HTTPForbidden(
            reason="This form has expired or came from another site. Go back, reload the "
            "page and try again."
        )
    return await handler(request)


def set_new_cookie(request: web.Request, response: web.StreamResponse) -> None:
    """The cookie of a token made for this response (error pages' forms included). Response
    hooks run once the headers are made: the Set-Cookie header is added here as aiohttp
    would have written it."""
    if request.get(new_cookie_key) and COOKIE not in response.cookies:
        secure = request.app[settings_key].base_url.startswith("https://")
        response.set_cookie(COOKIE, request[cookie_key], httponly=True, samesite="Lax",
                            secure=secure, path="/")  # fmt: skip
        response.headers.add(hdrs.SET_COOKIE, response.cookies[COOKIE].output(header="")[1:])
