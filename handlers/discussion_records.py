"""A team discussion record behind the link emailed to its recorder: the record, and each
agreed action's status (open, done, dropped) to update.

The link carries a random token of which only the SHA-256 is kept; whoever holds it may
update the actions, signed in or not. A forged link is a 404 "This link can't be used".
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from handlers.inputs import read_form
from handlers.pages import render
from learnhub.keys import clock_key, readonly_key, sessions_key, tagging_key
from practice.discussions import schemas, service
from practice.discussions.models import ActionStatus, TeamDiscussion

routes = web.RouteTableDef()


@routes.get("/discussions/{token}")
async def discussion(request: web.Request) -> web.Response:
    async with request.app[readonly_key]() as session:
        found = await service.by_token(session, request.match_info["token"])
    saved = request.query.get("saved") == "1"
    return _record(request, found, {}, saved=saved)


@routes.post("/discussions/{token}")
async def update_discussion(request: web.Request) -> web.Response:
    form = {k: v for k, v in (await read_form(request)).items() if isinstance(v, str)}
    app = request.app
    async with app[sessions_key].begin() as session:
        found = await service.by_token(session, request.match_info["token"])
        positions = [action.position for action in found.actions]
        try:
            statuses = schemas.read_statuses(form, positions)
        except ValueError as exc:
            field = str(exc)
            errors = {field: f"Select the status of action {field.rpartition('-')[2]}"}
            return _record(request, found, errors, chosen=form, status=422)
        await service.update_statuses(session, found, statuses, app[clock_key]())
    return web.Response(status=303, headers={"Location": f"{request.path}?saved=1"})


def _record(
    request: web.Request,
    found: TeamDiscussion,
    errors: dict[str, str],
    *,
    chosen: dict[str, str] | None = None,
    saved: bool = False,
    status: int = 200,
) -> web.Response:
    context = {
        "discussion": found,
        "agency": _label(request, "agencies", found.agency),
        "borough": _label(request, "boroughs", found.borough),
        "statuses": list(ActionStatus),
        "chosen": chosen or {},
        "errors": errors,
        "error_summary": errors,
        "saved": saved,
    }
    response = render("discussions/record.html", request, context, status=status)
    response.headers["Cache-Control"] = "private, no-store"  # a record is its recorder's
    return response


def _label(request: web.Request, facet: Any, code: str) -> str:
    try:
        return request.app[tagging_key].taxonomy.get(facet, code).label
    except KeyError:
        return code
