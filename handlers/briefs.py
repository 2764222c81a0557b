"""JSON routes for briefs: thin, each one transaction around one service call."""

from __future__ import annotations

import uuid

from aiohttp import web

from handlers.api import Api
from handlers.errors import ApiError
from learnhub.keys import (
    clock_key,
    dispatcher_key,
    readonly_key,
    sessions_key,
    settings_key,
    tagging_key,
)
from service.briefs import queries, search
from service.briefs import service as briefs
from service.briefs.models import Audience, Status
from service.briefs.schemas import (
    BriefCreate,
    BriefList,
    BriefOut,
    BriefQuery,
    BriefUpdate,
    HistoryList,
    HistoryOut,
    LifecycleRequest,
    PublishRequest,
    WithdrawRequest,
    brief_out,
)
from service.staff.models import Role, StaffMember

api = Api()
TAG = "briefs"


def _brief_id(request: web.Request) -> uuid.UUID:
    try:
        return uuid.UUID(request.match_info["id"])
    except ValueError:
        raise ApiError(404, f"no brief with id {request.match_info['id']}") from None


def _out(request: web.Request, brief: object) -> BriefOut:
    return brief_out(brief, request.app[settings_key].base_url)


@api.route(
    "POST",
    "/api/v1/briefs",
    summary="Create a draft brief; tags it when no tags are given",
    tag=TAG,
    body=BriefCreate,
    response=BriefOut,
    status=201,
    role=Role.publisher,
)
async def create_brief(request: web.Request, body: BriefCreate, staff: StaffMember) -> BriefOut:
    app = request.app
    async with app[sessions_key].begin() as session:
        brief = await briefs.create(
            session, body, staff=staff, tagging=app[tagging_key], now=app[clock_key]()
        )
        return _out(request, brief)


@api.route(
    "GET",
    "/api/v1/briefs",
    summary="Published public briefs, newest first; with q, best matches first (no cursor)",
    tag=TAG,
    query=BriefQuery,
    response=BriefList,
)
async def list_briefs(request: web.Request, query: BriefQuery) -> BriefList:
    taxonomy = request.app[tagging_key].taxonomy
    filters = queries.Filters(tuple(query.theme), tuple(query.agency), tuple(query.borough))
    filters.check(taxonomy)
    async with request.app[readonly_key]() as session:
        if query.q:
            # Ranked results come as one page: the best `limit` matches, no cursor.
            if query.cursor:
                raise ApiError(400, "a cursor can't be combined with q; raise limit instead")
            page = await search.search(session, query.q, filters, taxonomy, limit=query.limit)
            return BriefList(items=[_out(request, b) for b in page.items], next_cursor=None)
        items, cursor = await queries.list_public(
            session, filters, taxonomy, cursor=query.cursor, limit=query.limit
        )
        return BriefList(items=[_out(request, b) for b in items], next_cursor=cursor)


@api.route(
    "GET",
    "/api/v1/briefs/{id}",
    summary="One published public brief (staff see any); 410 once withdrawn",
    tag=TAG,
    response=BriefOut,
)
async def get_brief(request: web.Request, staff: StaffMember | None) -> BriefOut:
    brief_id = _brief_id(request)
    async with request.app[readonly_key]() as session:
        brief = await briefs.get(session, brief_id)
        if staff is not None:
            return _out(request, brief)
        # Restored as a draft, it stays withdrawn for readers until published again.
        gone = brief.withdrawn_at is not None and brief.status != Status.published
        if gone and brief.audience == Audience.public:
            raise ApiError(410, f"brief {brief_id} has been withdrawn")
        if brief.status != Status.published or brief.audience != Audience.public:
            raise ApiError(404, f"no brief with id {brief_id}")
        return _out(request, brief)


@api.route(
    "PATCH",
    "/api/v1/briefs/{id}",
    summary="Edit; significant: true re-notifies",
    tag=TAG,
    body=BriefUpdate,
    response=BriefOut,
    role=Role.publisher,
)
async def update_brief(request: web.Request, body: BriefUpdate, staff: StaffMember) -> BriefOut:
    app = request.app
    async with app[sessions_key].begin() as session:
        brief = await briefs.update(
            session,
            _brief_id(request),
            body,
            staff=staff,
            tagging=app[tagging_key],
            now=app[clock_key](),
        )
    app[dispatcher_key].wake()
    return _out(request, brief)


@api.route(
    "GET",
    "/api/v1/briefs/{id}/history",
    summary="Every revision and lifecycle move",
    tag=TAG,
    response=HistoryList,
    role=Role.publisher,
)
async def brief_history(request: web.Request, staff: StaffMember) -> HistoryList:
    brief_id = _brief_id(request)
    async with request.app[readonly_key]() as session:
        await briefs.get(session, brief_id)
        entries = await briefs.history(session, brief_id)
    return HistoryList(
        items=[
            HistoryOut(
                revision=entry.revision,
                action=entry.action,
                staff=email,
                occurred_at=entry.occurred_at,
                changes=entry.changes.get("fields", []),
                change_note=entry.change_note,
                significant=entry.significant,
            )
            for entry, email in entries
        ]
    )


def _lifecycle(action: str, move: briefs.Lifecycle, summary: str) -> None:
    @api.route(
        "POST",
        f"/api/v1/briefs/{{id}}/{action}",
        summary=summary,
        tag=TAG,
        body=LifecycleRequest,
        response=BriefOut,
        role=Role.publisher,
    )
    async def view(request: web.Request, body: LifecycleRequest, staff: StaffMember) -> BriefOut:
        app = request.app
        async with app[sessions_key].begin() as session:
            brief = await move(
                session, _brief_id(request), staff=staff, now=app[clock_key](), note=body.note
            )
        app[dispatcher_key].wake()
        return _out(request, brief)


@api.route(
    "POST",
    "/api/v1/briefs/{id}/publish",
    summary="Publish a draft: subscribers are told (urgent learning: every one of them, at once)",
    tag=TAG,
    body=PublishRequest,
    response=BriefOut,
    role=Role.publisher,
)
async def publish_brief(request: web.Request, body: PublishRequest, staff: StaffMember) -> BriefOut:
    app = request.app
    async with app[sessions_key].begin() as session:
        brief = await briefs.publish(
            session,
            _brief_id(request),
            staff=staff,
            now=app[clock_key](),
            note=body.note,
            urgency=body,
        )
    app[dispatcher_key].wake()
    return _out(request, brief)


@api.route(
    "POST",
    "/api/v1/briefs/{id}/withdraw",
    summary="Withdraw a published brief; reason is public, note is for staff",
    tag=TAG,
    body=WithdrawRequest,
    response=BriefOut,
    role=Role.publisher,
)
async def withdraw_brief(
    request: web.Request, body: WithdrawRequest, staff: StaffMember
) -> BriefOut:
    app = request.app
    async with app[sessions_key].begin() as session:
        brief = await briefs.withdraw(
            session,
            _brief_id(request),
            staff=staff,
            now=app[clock_key](),
            note=body.note,
            reason=body.reason,
        )
    app[dispatcher_key].wake()
    return _out(request, brief)


_lifecycle("restore", briefs.restore, "Bring a withdrawn brief back as a draft")
