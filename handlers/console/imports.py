"""Importing a review document in the console: the upload, the draft it makes, the
imported review's page (what was guessed, the repaired text, offering the file), and the
file itself for staff.

The upload may be up to 20 MB, over the app's 1 MiB for every other body: ``upload_limit``
raises the limit for this one route, and only for a signed-in member of staff, before the
CSRF middleware reads the form (aiohttp spools its files to disk, not memory).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import date
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

from handlers.console.common import page, see_other, signed_in, staff_key, staff_only
from handlers.page_cache import page_cache_key
from handlers.reviews import download
from learnhub.keys import clock_key, readonly_key, sessions_key, tagging_key
from service.briefs.documents import service as documents
from service.briefs.documents.isolation import read_isolated
from service.briefs.documents.limits import MAX_BYTES
from service.briefs.documents.models import BriefDocument
from service.briefs.documents.reader import size_label
from service.briefs.documents.text import DocumentError
from service.errors import DomainError

routes = web.RouteTableDef()
PATH = "/staff/briefs/import"
ID = "{id:[0-9a-fA-F-]{32,36}}"
BODY_LIMIT = MAX_BYTES + 64 * 1024  # the file and the form's other fields
TOO_LARGE = "the file is larger than 20 MB, the most that can be imported"
CHOOSE = "Choose a PDF or Word document (.docx) to import"


class TooLarge(DomainError):
    code = "too_large"
    status = 413


@web.middleware
def upload_limit(request: web.Request, handler: Handler) -> Awaitable[web.StreamResponse]:
    """The larger body limit of the upload, for signed-in staff; 413 in one sentence. Any
    other request goes on as the inner handler's awaitable (no coroutine of this one's)."""
    if request.method != "POST" or request.path != PATH:
        return handler(request)
    return _limited(request, handler)


async def _limited(request: web.Request, handler: Handler) -> web.StreamResponse:
    if (request.content_length or 0) > BODY_LIMIT:
        raise TooLarge(TOO_LARGE)
    if await signed_in(request) is not None:
        request = request.clone(client_max_size=BODY_LIMIT)
    try:
        return await handler(request)
    except web.HTTPRequestEntityTooLarge:
        raise TooLarge(TOO_LARGE) from None


@routes.get(PATH)
@staff_only()
async def import_form(request: web.Request) -> web.Response:
    return _form(request)


@routes.post(PATH)
@staff_only()
async def import_document(request: web.Request) -> web.Response:
    post = await request.post()
    field = post.get("document")
    if not isinstance(field, web.FileField) or not field.filename:
        return _form(request, CHOOSE)
    try:
        data = await asyncio.to_thread(field.file.read, MAX_BYTES + 1)
    finally:
        field.file.close()
    if len(data) > MAX_BYTES:
        raise TooLarge(TOO_LARGE)
    try:
        reading = await read_isolated(data)
    except DocumentError as exc:
        return _form(request, _sentence(str(exc)))
    app = request.app
    async with app[sessions_key].begin() as session:
        brief = await documents.create_draft(
            session,
            documents.Upload(field.filename, data),
            reading,
            staff=request[staff_key],
            tagging=app[tagging_key],
            now=app[clock_key](),
        )
    return see_other(f"/staff/briefs/{brief.id}/edit?imported=yes")


def _form(request: web.Request, error: str | None = None) -> web.Response:
    errors = {"document": error} if error else {}
    context = {"errors": errors, "error_summary": errors}
    return page("console/import.html", request, context, status=422 if error else 200)


def _sentence(text: str) -> str:
    """A reader's clause as the form's sentence: "this PDF…" -> "This PDF…."."""
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


@dataclass(frozen=True)
class Imported:
    """What the editor and the brief's console page show of an imported review."""

    document: BriefDocument
    label: str  # "PDF, 1.2 MB"
    just_now: bool  # the editor right after the upload

    def guessed(self, key: str) -> str | None:
        """A guess as the editor shows it: the date as a date ("14 March 2025")."""
        guess = self.document.guesses.get(key)
        if not guess:
            return None
        value = str(guess["value"])
        if key == "published":
            year, month, *day = (int(part) for part in value.split("-"))
            shown = date(year, month, day[0] if day else 1)
            return shown.strftime("%-d %B %Y" if day else "%B %Y (no day found)")
        return value


async def imported(session: Any, brief_id: uuid.UUID, query: Any = None) -> Imported | None:
    document = await documents.get(session, brief_id)
    if document is None:
        return None
    just_now = query is not None and query.get("imported") == "yes"
    return Imported(document, size_label(document.media_type, document.size), just_now)


def _id(request: web.Request) -> uuid.UUID:
    try:
        return uuid.UUID(request.match_info["id"])
    except ValueError:
        raise web.HTTPNotFound() from None


@routes.get(f"/staff/briefs/{ID}/review")
@staff_only()
async def review_page(request: web.Request) -> web.Response:
    """The imported review: the guesses and where they were found, the repaired text, and
    whether the brief's page offers the file."""
    brief_id = _id(request)
    async with request.app[readonly_key]() as session:
        found = await imported(session, brief_id)
        text = await documents.text(session, brief_id)
    if found is None:
        raise web.HTTPNotFound()
    done = {"offered": "The brief's page offers the full review.",
            "withdrawn": "The brief's page no longer offers the full review."}  # fmt: skip
    context = {
        "imported": found,
        "text": text or "",
        "brief_id": brief_id,
        "done": done.get(request.query.get("done", ""), ""),
    }
    return page("console/review.html", request, context)


@routes.post(f"/staff/briefs/{ID}/review")
@staff_only()
async def offer_review(request: web.Request) -> web.Response:
    brief_id = _id(request)
    offered = (await request.post()).get("offered") == "yes"
    async with request.app[sessions_key].begin() as session:
        if not await documents.offer(session, brief_id, offered):
            raise web.HTTPNotFound()
    # Offering the file writes no event: the brief's cached page is dropped here, and other
    # instances render it again within a minute (the cache's max_age).
    request.app[page_cache_key].invalidate()
    done = "offered" if offered else "withdrawn"
    return see_other(f"/staff/briefs/{brief_id}/review?done={done}")


@routes.get(f"/staff/briefs/{ID}/review/file")
@staff_only()
async def review_file(request: web.Request) -> web.Response:
    """The original file, for staff, whether or not the brief's page offers it."""
    async with request.app[readonly_key]() as session:
        document = await documents.content(session, _id(request))
    if document is None:
        raise web.HTTPNotFound()
    return download(document)
