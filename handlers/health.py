"""Liveness and readiness probes."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy.exc import SQLAlchemyError

from learnhub.keys import readonly_key
from service.db import ping


async def healthz(_request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    try:
        # The read pool: on SQLite the write connection may be busy with a long transaction.
        async with request.app[readonly_key]() as session:
            await ping(session)
    except (SQLAlchemyError, OSError) as exc:
        body = {"status": "unavailable", "database": type(exc).__name__}
        return web.json_response(body, status=503)
    return web.json_response({"status": "ok", "database": "ok"})
