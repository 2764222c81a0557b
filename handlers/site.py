"""A brief's public pages: the brief and its 7-minute briefing (served from the page cache),
and the briefing as a PDF.

A published public brief is shown to everyone; a published restricted brief (audience
"practitioners") only to a signed-in practitioner, marked "Practitioners only". Anyone else
gets a 403 page at a restricted brief's address that names nothing of it but offers sign-in.
A withdrawn brief answers 410, and so does one restored to a draft until it is published
again; other drafts and unknown ids 404.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from handlers.briefing_pdf import document as briefing_pdf_document
from handlers.listing import feeds_page, filter_pairs
from handlers.page_cache import Page, serve
from handlers.pages import labels, render, withdrawn_context
from handlers.reader import practitioner
from learnhub.keys import readonly_key, settings_key, tagging_key
from service.briefs import briefing
from service.briefs import service as briefs
from service.briefs.documents import service as documents
from service.briefs.documents.models import BriefDocument
from service.briefs.documents.reader import size_label
from service.briefs.models import Audience, Brief, BriefHistory, Status
from service.briefs.queries import SINGULAR, Filters
from service.feeds.links import feed_links
from service.feeds.service import describe
from service.taxonomy import FACETS

routes = web.RouteTableDef()


async def readable(
    app: web.Application, brief_id: uuid.UUID, signed_in: bool, path: str
) -> Brief | Page:
    """The brief at ``/briefs/{id}`` if this audience may read it, else the page to answer
    with: the same rules for the brief's page, its briefing and the briefing's PDF (sign-in
    returns to ``path``). Unknown briefs and drafts are 404."""
    async with app[readonly_key]() as session:
        brief = await session.get(Brief, brief_id)
    if brief is None or (brief.status != Status.published and brief.withdrawn_at is None):
        raise web.HTTPNotFound()
    may_read = brief.audience == Audience.public or signed_in
    if brief.status != Status.published:
        # Restored to a draft, it stays withdrawn for readers until published again; its
        # title and audience may be being rewritten, so then the page names nothing.
        named = may_read and brief.status == Status.withdrawn
        return withdrawn(app, brief, named=named)
    if not may_read:
        return restricted(path)
    return brief


def _brief_id(request: web.Request) -> uuid.UUID:
    try:
        return uuid.UUID(request.match_info["id"])
    except ValueError:
        raise web.HTTPNotFound() from None


@routes.get("/briefs/{id}")
async def brief_page(request: web.Request) -> web.Response:
    brief_id = _brief_id(request)
    path = f"/briefs/{brief_id}"

    async def build(signed_in: bool) -> Page:
        found = await readable(request.app, brief_id, signed_in, path)
        if isinstance(found, Page):
            return found
        return Page("site/brief.html", await brief_context(request.app, found, signed_in))

    return await serve(request, ("brief", brief_id), path, build)


async def brief_context(app: web.Application, brief: Brief, signed_in: bool) -> dict[str, Any]:
    taxonomy = app[tagging_key].taxonomy
    base_url = app[settings_key].base_url
    async with app[readonly_key]() as session:
        history = [entry for entry, _email in await briefs.history(session, brief.id)]
        document = await documents.get(session, brief.id)
    filters = Filters(*(tuple(brief.codes(facet)) for facet in FACETS))
    tags = labels(brief, taxonomy)
    return {
        "brief": brief,
        "tags": tags,
        "params": SINGULAR,
        "history": public_history(history, brief.audience, practitioner=signed_in),
        "feeds": [
            {"tag": tag, "url": feeds_page([(SINGULAR[tag.facet], tag.code)])} for tag in tags
        ],
        "combined_feed": feeds_page(filter_pairs(filters)) if tags else None,
        "subscribe_url": "/subscribe?" + urlencode(filter_pairs(filters)),
        "feed_links": feed_links(base_url, describe(filters, taxonomy), filters),
        "briefing_url": f"/briefs/{brief.id}/briefing",
        "full_review": _full_review(document, brief.id),
    }


def _full_review(document: BriefDocument | None, brief_id: uuid.UUID) -> dict[str, str] | None:
    """The link to the review the brief was imported from, if the publisher offers it."""
    if document is None or not document.offered:
        return None
    label = size_label(document.media_type, document.size)
    return {"href": f"/briefs/{brief_id}/review", "label": f"Full review, {label}"}


@routes.get("/briefs/{id}/briefing")
async def briefing_page(request: web.Request) -> web.Response:
    """The brief as a 7-minute briefing, to deliver in a team meeting or print on A4."""
    brief_id = _brief_id(request)
    path = f"/briefs/{brief_id}/briefing"
    base_url = request.app[settings_key].base_url

    async def build(signed_in: bool) -> Page:
        found = await readable(request.app, brief_id, signed_in, path)
        if isinstance(found, Page):
            return found
        context = {
            "brief": found,
            "sections": briefing.sections(found),
            "how_to_use": briefing.HOW_TO_USE,
            "brief_url": f"{base_url}/briefs/{found.id}",
            "pdf_url": f"/briefs/{found.id}/briefing.pdf",
        }
        return Page("site/briefing.html", context)

    return await serve(request, ("briefing", brief_id), path, build)


async def readable_now(request: web.Request, suffix: str) -> Brief | web.Response:
    """``readable`` for what is not cached (the PDF, the review's file): the brief, or the
    page to answer with, rendered for this reader."""
    brief_id = _brief_id(request)
    path = f"/briefs/{brief_id}{suffix}"
    found = await readable(request.app, brief_id, practitioner(request) is not None, path)
    if isinstance(found, Page):
        return render(found.template, request, found.context, status=found.status)
    return found


@routes.get("/briefs/{id}/briefing.pdf")
async def briefing_pdf(request: web.Request) -> web.Response:
    """The same briefing as a PDF: real text, title and language set, tagged."""
    found = await readable_now(request, "/briefing.pdf")
    if isinstance(found, web.Response):
        return found
    base_url = request.app[settings_key].base_url
    body = await asyncio.get_running_loop().run_in_executor(
        None, briefing_pdf_document, found, f"{base_url}/briefs/{found.id}"
    )
    filename = f"briefing-{slug(found.title)}.pdf"
    return web.Response(
        body=body,
        content_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{filename}"'},
    )


def slug(title: str) -> str:
    """A filename's words: ASCII letters and digits, hyphens between, 60 characters at most."""
    words = re.findall(r"[a-z0-9]+", title.lower())
    return "-".join(words)[:60].strip("-") or "brief"


def restricted(path: str) -> Page:
    """403 for a restricted brief: nothing of the brief, only the way to sign in and back.
    It follows from the events alone, so everyone not signed in shares it from the cache."""
    sign_in = "/practitioners/sign-in?" + urlencode({"next": path})
    return Page("site/restricted.html", {"sign_in_href": sign_in}, status=403)


def withdrawn(app: web.Application, brief: Brief, *, named: bool) -> Page:
    """410 for a withdrawn brief: its title and public reason only to those who may read it.
    Never kept: restoring the brief to a draft writes no event, and must unname it at once."""
    context = withdrawn_context(app[settings_key].zone, brief, named=named)
    return Page("site/withdrawn.html", context, status=410, keep=False)


@dataclass(frozen=True)
class Revision:
    when: Any
    heading: str
    note: str | None


def public_history(
    entries: list[BriefHistory], audience: str, *, practitioner: bool
) -> list[Revision]:
    """What a reader may see: publications, and updates with their change notes.

    Staff names stay private, and so do the notes of lifecycle moves (they are internal).
    Entries made while the brief was restricted are shown only to practitioners: once a brief
    is widened to the public, what was said of it before must stay with its audience.
    """
    restricted = _restricted_after(entries, audience)
    shown: list[Revision] = []
    published = False
    for entry, hidden in zip(entries, restricted, strict=True):
        if entry.action == "publish":
            if practitioner or not hidden:
                shown.append(Revision(entry.occurred_at, _published(published), None))
            published = True
        elif entry.action == "edit" and published and (practitioner or not hidden):
            heading = "Updated" if entry.significant else "Minor correction"
            shown.append(Revision(entry.occurred_at, heading, entry.change_note))
    return shown


def _published(before: bool) -> str:
    return "Published again" if before else "Published"


def _restricted_after(entries: list[BriefHistory], audience: str) -> list[bool]:
    """For each entry, whether the brief was practitioners-only after it, worked back from
    the audience it has now: an edit that changed the audience swapped it."""
    found: list[bool] = []
    current = audience
    for entry in reversed(entries):
        found.append(current == Audience.practitioners)
        if entry.action == "edit" and "audience" in entry.changes.get("fields", []):
            swapped = {Audience.public: Audience.practitioners}
            current = swapped.get(Audience(current), Audience.public)
    return found[::-1]
