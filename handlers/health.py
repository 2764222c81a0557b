"""Liveness and readiness probes."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from service.keys import readonly_key


async def healthz(_request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    try:
        # The read pool: on SQLite the write connection may be busy with a long transaction.
        async with request.app[readonly_key]() as session:
            await session.execute(text("SELECT 1"))
    except (SQLAlchemyError, OSError) as exc:
        body = {"status": "unavailable", "database": type(exc).__name__}
        return web.json_response(body, status=503)
    return web.json_response({"status": "ok", "database": "ok"})
