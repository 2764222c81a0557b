"""The public reading site: the list of briefs with search and filters, and one brief's page.

Published public briefs are shown to everyone; published restricted briefs (audience
"practitioners") only to a signed-in practitioner, marked "Practitioners only". Anyone else
gets a 403 page at a restricted brief's address that names nothing of it but offers sign-in.
A withdrawn brief answers 410, and so does one restored to a draft until it is published
again; other drafts and unknown ids 404.
"""

from __future__ import annotations

import asyncio
import html
import re
import uuid
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import urlencode

import nh3
from aiohttp import web

from handlers.briefing_pdf import document as briefing_pdf_document
from handlers.inputs import whole_number
from handlers.pages import labels, render, withdrawn_page
from handlers.reader import practitioner
from learnhub.keys import readonly_key, settings_key, tagging_key
from service.briefs import briefing, search
from service.briefs import service as briefs
from service.briefs.documents import service as documents
from service.briefs.documents.models import BriefDocument
from service.briefs.documents.reader import size_label
from service.briefs.models import Audience, Brief, BriefHistory, Status
from service.briefs.queries import SINGULAR, Filters, audiences_for
from service.feeds.links import feed_links
from service.feeds.service import describe
from service.taxonomy import FACETS, Facet, Taxonomy

routes = web.RouteTableDef()
PAGE_SIZE = 20
EXCERPT = 240
LEGENDS = {"themes": "Theme", "agencies": "Agency", "boroughs": "Borough"}


def excerpt(brief: Brief) -> str:
    text = " ".join(html.unescape(nh3.clean(brief.summary_html, tags=set())).split())
    return text if len(text) <= EXCERPT else text[:EXCERPT].rsplit(" ", 1)[0] + "…"


def read_filters(query: Any, taxonomy: Taxonomy) -> Filters:
    """The filters of a page's query; a page shrugs off codes it does not know."""
    chosen = {
        facet: tuple(
            dict.fromkeys(
                c for c in query.getall(SINGULAR[facet], []) if c in taxonomy.codes(facet)
            )
        )
        for facet in FACETS
    }
    return Filters(**chosen)


def _feeds_page(pairs: list[tuple[str, str]]) -> str:
    """The feeds page showing these choices' feed addresses, to copy (a feed's own address
    opened in a browser shows its XML)."""
    return "/feeds?" + urlencode(pairs) + "#your-feed" if pairs else "/feeds"


def _home(pairs: list[tuple[str, str]]) -> str:
    return "/?" + urlencode(pairs) if pairs else "/"


def _pairs(filters: Filters) -> list[tuple[str, str]]:
    return [(SINGULAR[facet], code) for facet in FACETS for code in filters.by_facet[facet]]


@routes.get("/")
async def index(request: web.Request) -> web.Response:
    taxonomy = request.app[tagging_key].taxonomy
    base_url = request.app[settings_key].base_url
    filters = read_filters(request.query, taxonomy)
    q = request.query.get("q", "").strip()[:200]
    number = whole_number(request.query.get("page", "1"), "page")
    audiences = audiences_for(practitioner(request) is not None)
    async with request.app[readonly_key]() as session:
        offset = (number - 1) * PAGE_SIZE
        page = await search.search(
            session, q, filters, taxonomy, limit=PAGE_SIZE, offset=offset, audiences=audiences
        )
        counts = await search.facet_counts(session, q, filters, taxonomy, audiences=audiences)
    here = [("q", q)] if q else []
    here += _pairs(filters)

    def page_url(n: int) -> str:
        return "/?" + urlencode([*here, ("page", str(n))])

    last = max((page.total + PAGE_SIZE - 1) // PAGE_SIZE, 1)
    chosen = any(filters.by_facet.values())
    # Each chosen filter as a tag that removes it (the page without it, from page 1).
    selected = [
        {
            "label": taxonomy.get(facet, code).label,
            "remove": _home([p for p in here if p != (SINGULAR[facet], code)]),
        }
        for facet in FACETS
        for code in filters.by_facet[facet]
    ]
    context = {
        "q": q,
        "total": page.total,
        "widened": page.widened,
        "briefs": [
            {"brief": b, "excerpt": excerpt(b), "tags": labels(b, taxonomy)} for b in page.items
        ],
        "facets": [
            {
                "facet": facet,
                "param": SINGULAR[facet],
                "legend": LEGENDS[facet],
                "terms": [(t, counts[facet][t.code]) for t in taxonomy.terms(facet)],
                "chosen": set(filters.by_facet[facet]),
            }
            for facet in FACETS
        ],
        "chosen": chosen,
        "selected": selected,
        "clear_filters": _home([("q", q)] if q else []),
        "previous": page_url(number - 1) if number > 1 else None,
        "next": page_url(number + 1) if number < last else None,
        "number": number,
        "last": last,
        "subscribe_url": "/subscribe" + ("?" + urlencode(_pairs(filters)) if chosen else ""),
        "feed_url": _feeds_page(_pairs(filters)),
    }
    if chosen:
        context["feed_links"] = feed_links(base_url, describe(filters, taxonomy), filters)
    return render("site/index.html", request, context)


async def readable(request: web.Request, suffix: str = "") -> tuple[Brief, bool] | web.Response:
    """The brief at ``/briefs/{id}`` if this reader may read it (and whether they are a
    signed-in practitioner), else the page to answer with: the same rules for the brief's
    page, its briefing and the briefing's PDF (sign-in returns to ``/briefs/{id}{suffix}``)."""
    try:
        brief_id = uuid.UUID(request.match_info["id"])
    except ValueError:
        raise web.HTTPNotFound() from None
    async with request.app[readonly_key]() as session:
        brief = await session.get(Brief, brief_id)
    if brief is None or (brief.status != Status.published and brief.withdrawn_at is None):
        raise web.HTTPNotFound()
    signed_in = practitioner(request) is not None
    may_read = brief.audience == Audience.public or signed_in
    if brief.status != Status.published:
        # Restored to a draft, it stays withdrawn for readers until published again; its
        # title and audience may be being rewritten, so then the page names nothing.
        named = may_read and brief.status == Status.withdrawn
        return withdrawn_page(request, brief, named=named)
    if not may_read:
        return restricted_page(request, brief_id, f"/briefs/{brief_id}{suffix}")
    return brief, signed_in


@routes.get("/briefs/{id}")
async def brief_page(request: web.Request) -> web.Response:
    found = await readable(request)
    if isinstance(found, web.Response):
        return found
    brief, signed_in = found
    taxonomy = request.app[tagging_key].taxonomy
    base_url = request.app[settings_key].base_url
    async with request.app[readonly_key]() as session:
        history = [entry for entry, _email in await briefs.history(session, brief.id)]
        document = await documents.get(session, brief.id)
    filters = Filters(*(tuple(brief.codes(facet)) for facet in FACETS))
    tags = labels(brief, taxonomy)
    context = {
        "brief": brief,
        "tags": tags,
        "params": SINGULAR,
        "history": public_history(history, brief.audience, practitioner=signed_in),
        "feeds": [
            {"tag": tag, "url": _feeds_page([(SINGULAR[tag.facet], tag.code)])} for tag in tags
        ],
        "combined_feed": _feeds_page(_pairs(filters)) if tags else None,
        "subscribe_url": "/subscribe?" + urlencode(_pairs(filters)),
        "feed_links": feed_links(base_url, describe(filters, taxonomy), filters),
        "briefing_url": f"/briefs/{brief.id}/briefing",
        "full_review": _full_review(document, brief.id),
    }
    return render("site/brief.html", request, context)


def _full_review(document: BriefDocument | None, brief_id: uuid.UUID) -> dict[str, str] | None:
    """The link to the review the brief was imported from, if the publisher offers it."""
    if document is None or not document.offered:
        return None
    label = size_label(document.media_type, document.size)
    return {"href": f"/briefs/{brief_id}/review", "label": f"Full review, {label}"}


@routes.get("/briefs/{id}/briefing")
async def briefing_page(request: web.Request) -> web.Response:
    """The brief as a 7-minute briefing, to deliver in a team meeting or print on A4."""
    found = await readable(request, "/briefing")
    if isinstance(found, web.Response):
        return found
    brief, _signed_in = found
    base_url = request.app[settings_key].base_url
    context = {
        "brief": brief,
        "sections": briefing.sections(brief),
        "how_to_use": briefing.HOW_TO_USE,
        "brief_url": f"{base_url}/briefs/{brief.id}",
        "pdf_url": f"/briefs/{brief.id}/briefing.pdf",
    }
    return render("site/briefing.html", request, context)


@routes.get("/briefs/{id}/briefing.pdf")
async def briefing_pdf(request: web.Request) -> web.Response:
    """The same briefing as a PDF: real text, title and language set, tagged."""
    found = await readable(request, "/briefing.pdf")
    if isinstance(found, web.Response):
        return found
    brief, _signed_in = found
    base_url = request.app[settings_key].base_url
    body = await asyncio.get_running_loop().run_in_executor(
        None, briefing_pdf_document, brief, f"{base_url}/briefs/{brief.id}"
    )
    filename = f"briefing-{slug(brief.title)}.pdf"
    return web.Response(
        body=body,
        content_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{filename}"'},
    )


def slug(title: str) -> str:
    """A filename's words: ASCII letters and digits, hyphens between, 60 characters at most."""
    words = re.findall(r"[a-z0-9]+", title.lower())
    return "-".join(words)[:60].strip("-") or "brief"


@routes.get("/taxonomy/{facet}")
async def taxonomy_page(request: web.Request) -> web.Response:
    """The codes of a facet: what each covers, its briefs, its feed. Feeds name this page as
    the scheme of their categories."""
    facet = cast(Facet, request.match_info["facet"])
    if facet not in FACETS:
        raise web.HTTPNotFound()
    taxonomy = request.app[tagging_key].taxonomy
    param = SINGULAR[facet]
    audiences = audiences_for(practitioner(request) is not None)
    async with request.app[readonly_key]() as session:
        counts = await search.facet_counts(session, None, Filters(), taxonomy, audiences=audiences)
    terms = [
        {
            "term": term,
            "count": counts[facet][term.code],
            "parent": taxonomy.get(facet, term.parent).label if term.parent else None,
            "briefs_url": "/?" + urlencode([(param, term.code)]),
            "feed_url": _feeds_page([(param, term.code)]),
            "subscribe_url": "/subscribe?" + urlencode([(param, term.code)]),
        }
        for term in taxonomy.terms(facet)
    ]
    legend = LEGENDS[facet]
    context = {"facet": facet, "legend": legend, "terms": terms, "version": taxonomy.version}
    return render("site/taxonomy.html", request, context)


def restricted_page(
    request: web.Request, brief_id: uuid.UUID, path: str | None = None
) -> web.Response:
    """403 for a restricted brief: nothing of the brief, only the way to sign in and back."""
    sign_in = "/practitioners/sign-in?" + urlencode({"next": path or f"/briefs/{brief_id}"})
    return render("site/restricted.html", request, {"sign_in_href": sign_in}, status=403)


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
