"""Every failure leaves as the contract's JSON error; no traceback ever reaches a client."""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web

from handlers.access_log import redact
from handlers.pages import render, wants_html
from service.errors import DomainError

log = logging.getLogger(__name__)

CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    410: "gone",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "too_many_requests",
}


class ApiError(Exception):
    """An HTTP error carrying the contract's code, message and details."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        details: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code or CODES.get(status, "error")
        self.message = message
        self.details = details
        self.headers = headers


def error_response(
    status: int, code: str, message: str, details: Any = None, headers: Any = None
) -> web.Response:
    body = {"error": {"code": code, "message": message, "details": details}}
    return web.json_response(body, status=status, headers=headers)


HEADINGS: dict[int | str, str] = {
    400: "There is a problem with the request",
    403: "You can't do that from here",
    404: "Page not found",
    "invalid_token": "This link can't be used",
    405: "Page not found",
    409: "That can't be done now",
    413: "That was too large",
    429: "Too many requests",
    500: "Sorry, there is a problem with the service",
}


@web.middleware
async def error_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as exc:
        return _respond(request, exc.status, exc.code, exc.message, exc.details, exc.headers)
    except DomainError as exc:
        return _respond(request, exc.status, exc.code, exc.message, exc.details, exc.headers)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        message = exc.reason if exc.status != 413 else "the request body is larger than 1 MiB"
        headers = {k: v for k, v in exc.headers.items() if k in ("Allow", "Retry-After")}
        code = CODES.get(exc.status, "error")
        return _respond(request, exc.status, code, message, None, headers)
    except Exception:
        # The path may hold a token (a manage or sign-in link): cut short, as the access log does.
        log.exception("unhandled error on %s %s", request.method, redact(request.path))
        message = "something went wrong on our side; it has been logged"
        return _respond(request, 500, "internal", message)


def _respond(
    request: web.Request,
    status: int,
    code: str,
    message: str,
    details: Any = None,
    headers: Any = None,
) -> web.Response:
    if not wants_html(request):
        return error_response(status, code, message, details, headers)
    if status == 404 and code == "not_found":
        message = "If you typed the web address, check it is correct."
    heading = HEADINGS.get(code) or HEADINGS.get(status) or HEADINGS[500]
    context = {"heading": heading, "message": message[:1].upper() + message[1:]}
    response = render("error.html", request, context, status=status)
    response.headers.update(headers or {})
    return response
