"""'I've read this': the page behind the link in each alert and digest item, and its post.

``GET /acknowledge/{token}`` shows a form and changes nothing (mail scanners open every
link); ``POST`` records the acknowledgement, or updates its answer, and comes back to the
page (303). The token names the person and the brief, or, in a digest's link, the person, the
brief's id following it in the path (practice/acknowledgements); the form
carries the CSRF field, as every token form but one-click unsubscribe does. Nothing here
counts opens or clicks.
"""

from __future__ import annotations

from aiohttp import web
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.pages import render, withdrawn_page
from handlers.reader import practitioner
from learnhub.keys import clock_key, links_key, readonly_key, sessions_key, settings_key
from practice.acknowledgements import service
from practice.acknowledgements.models import MAX_ANSWER
from practice.acknowledgements.schemas import AcknowledgementIn
from service.briefs.models import Audience, Status

routes = web.RouteTableDef()


@routes.get("/acknowledge/{token}")
@routes.get("/acknowledge/{token}/{brief}")
async def page(request: web.Request) -> web.Response:
    async with request.app[readonly_key]() as session:
        opened = await _open(request, session)
    if isinstance(opened, web.Response):
        return opened
    answer = opened.existing.answer if opened.existing else None
    return _form(request, opened, answer or "", saved=request.query.get("saved") == "1")


@routes.post("/acknowledge/{token}")
@routes.post("/acknowledge/{token}/{brief}")
async def acknowledge(request: web.Request) -> web.Response:
    form = await request.post()
    given = str(form.get("answer", ""))
    try:
        data = AcknowledgementIn.model_validate({"answer": given})
    except ValidationError as exc:
        async with request.app[readonly_key]() as session:
            opened = await _open(request, session)
        if isinstance(opened, web.Response):
            return opened
        return _form(request, opened, given, error=_message(exc), status=422)
    async with request.app[sessions_key].begin() as session:
        opened = await _open(request, session)
        if isinstance(opened, web.Response):
            return opened
        await service.record(session, opened, data, request.app[clock_key]())
    raise web.HTTPSeeOther(f"{request.path}?saved=1")


async def _open(request: web.Request, session: AsyncSession) -> service.Opened | web.Response:
    """What the link opens, or the 410 page; a bad link or an unknown brief raises (the
    error pages: "This link can't be used", 404)."""
    settings = request.app[settings_key]
    try:
        return await service.open_link(
            session,
            request.app[links_key].tokens,
            request.match_info["token"],
            settings.practitioner_domains,
            request.match_info.get("brief"),
        )
    except service.Withdrawn as gone:
        return _withdrawn(request, gone)


def _withdrawn(request: web.Request, gone: service.Withdrawn) -> web.Response:
    """The site's 410 page: title and public reason only to those who may read the brief."""
    brief = gone.brief
    named = brief.status == Status.withdrawn and (
        brief.audience == Audience.public or gone.readable or practitioner(request) is not None
    )
    return withdrawn_page(request, brief, named=named)


def _message(exc: ValidationError) -> str:
    for error in exc.errors():
        if error["type"] == "string_too_long":
            return f"Your answer must be {MAX_ANSWER:,} characters or fewer"
    return "Your answer must not contain control characters"


def _form(
    request: web.Request,
    opened: service.Opened,
    answer: str,
    *,
    saved: bool = False,
    error: str | None = None,
    status: int = 200,
) -> web.Response:
    errors = {"answer": error} if error else {}
    context = {
        "title": opened.title,
        "brief_url": f"/briefs/{opened.brief_id}" if opened.readable else None,
        "existing": opened.existing,
        "answer": answer,
        "saved": saved,
        "errors": errors,
        "error_summary": errors,
        "max_answer": MAX_ANSWER,
        "action": request.path,
        "manage_url": request.app[links_key].manage(opened.subscriber),
    }
    return render("acknowledgements/acknowledge.html", request, context, status=status)
