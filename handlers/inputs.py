"""What a request carries, read so that bad input is the client's 4xx and never our 500.

Three things the database can't take reach it otherwise: whole numbers past its integer
range (SQLite's 64 bits, PostgreSQL's 32-bit ``integer``), forms that can't be decoded, and
NUL characters (PostgreSQL refuses them in text). Each is refused here, naming the parameter
or field; JSON bodies are checked by their models (``service.schemas.Request``).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable

from aiohttp import web
from aiohttp.http_exceptions import BadHttpMessage
from aiohttp.typedefs import Handler
from multidict import MultiDictProxy

from service.errors import DomainError, NotFound
from service.schemas import MAX_ID

_WHOLE = re.compile(r"-?[0-9]{1,30}")
NUL = "must not contain NUL characters"
Form = MultiDictProxy[str | bytes | bytearray | web.FileField]


class BadInput(DomainError):
    """A 400 naming the parameter or field (a DomainError, so that the CSRF middleware,
    which the error pages import, can raise it without importing them)."""

    code = "bad_request"
    status = 400


def whole_number(value: str, name: str, *, least: int = 1, most: int = MAX_ID) -> int:
    """``value`` as a whole number from ``least`` to ``most``; a 400 naming ``name`` if not."""
    if _WHOLE.fullmatch(value) and least <= int(value) <= most:
        return int(value)
    message = f"must be a whole number from {least} to {most}"
    raise BadInput(f"{name} {message}", details=[{"field": name, "message": message}])


def path_id(request: web.Request, noun: str, name: str = "id") -> int:
    """A numeric id from the path: one past the database's range names nothing, so 404."""
    value = request.match_info[name]
    if _WHOLE.fullmatch(value) and 1 <= int(value) <= MAX_ID:
        return int(value)
    message = f"must be a whole number from 1 to {MAX_ID}"
    raise NotFound(f"no {noun} with id {value}", details=[{"field": name, "message": message}])


async def read_form(request: web.Request) -> Form:
    """The request's form, or a 400 saying why it can't be read (a body that is not in its
    charset, an unknown charset, a multipart body without its boundary...)."""
    try:
        form: Form = await request.post()
    except (ValueError, LookupError, RuntimeError, BadHttpMessage) as exc:
        reason = _reason(exc)
        raise BadInput(f"the form could not be read: {reason}") from None
    for name, value in form.items():
        if "\x00" in name or (isinstance(value, str) and "\x00" in value):
            raise BadInput(
                f"the form field {name!r} {NUL}",
                details=[{"field": name, "message": NUL}],
            )
    return form


def _reason(exc: Exception) -> str:
    if isinstance(exc, UnicodeDecodeError):
        return f"it is not valid {exc.encoding}"
    if isinstance(exc, LookupError):
        return "its charset is not one we know"
    return "it is not well-formed form data"


@web.middleware
def refuse_nul(request: web.Request, handler: Handler) -> Awaitable[web.StreamResponse]:
    """No NUL in the path's parameters or the query, before any handler looks at them (the
    request then goes on as the inner handler's awaitable: no coroutine of this one's)."""
    raw = request.raw_path  # path and query as sent: a NUL in either is written %00
    if "%00" not in raw and "\x00" not in raw:
        return handler(request)
    for where, pairs in (("path", request.match_info.items()), ("query", request.query.items())):
        for name, value in pairs:
            if "\x00" in name or "\x00" in value:
                raise BadInput(
                    f"the {where} parameter {name!r} {NUL}",
                    details=[{"field": name, "message": NUL}],
                )
    return handler(request)
