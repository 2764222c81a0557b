"""The public reading site: the list of briefs with search and filters, and one brief's page.

Published public briefs are shown to everyone; published restricted briefs (audience
"practitioners") only to a signed-in practitioner, marked "Practitioners only". Anyone else
gets a 403 page at a restricted brief's address that names nothing of it but offers sign-in.
A withdrawn brief answers 410, and so does one restored to a draft until it is published
again; other drafts and unknown ids 404.
"""

from __future__ import annotations

import html
import uuid
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import urlencode

import nh3
from aiohttp import web

from handlers.inputs import whole_number
from handlers.pages import labels, render
from handlers.reader import practitioner
from learnhub.keys import readonly_key, settings_key, tagging_key
from service.briefs import search
from service.briefs import service as briefs
from service.briefs.models import Audience, Brief, BriefHistory, Status
from service.briefs.queries import SINGULAR, Filters, audiences_for
from service.feeds.links import feed_links
from service.feeds.service import describe, facet_url, query_url
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
    context = {
        "q": q,
        "total": page.total,
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
        "description": describe(filters, taxonomy),
        "previous": page_url(number - 1) if number > 1 else None,
        "next": page_url(number + 1) if number < last else None,
        "number": number,
        "last": last,
        "subscribe_url": "/subscribe" + ("?" + urlencode(_pairs(filters)) if chosen else ""),
        "feed_url": query_url(base_url, filters, "atom"),
    }
    if chosen:
        context["feed_links"] = feed_links(base_url, describe(filters, taxonomy), filters)
    return render("site/index.html", request, context)


@routes.get("/briefs/{id}")
async def brief_page(request: web.Request) -> web.Response:
    try:
        brief_id = uuid.UUID(request.match_info["id"])
    except ValueError:
        raise web.HTTPNotFound() from None
    taxonomy = request.app[tagging_key].taxonomy
    base_url = request.app[settings_key].base_url
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
            return restricted_page(request, brief_id)
        history = [entry for entry, _email in await briefs.history(session, brief_id)]
    filters = Filters(*(tuple(brief.codes(facet)) for facet in FACETS))
    tags = labels(brief, taxonomy)
    context = {
        "brief": brief,
        "tags": tags,
        "params": SINGULAR,
        "history": public_history(history, brief.audience, practitioner=signed_in),
        "feeds": [
            {"tag": tag, "url": facet_url(base_url, tag.facet, tag.code, "atom")} for tag in tags
        ],
        "combined_feed": query_url(base_url, filters, "atom") if tags else None,
        "subscribe_url": "/subscribe?" + urlencode(_pairs(filters)),
        "feed_links": feed_links(base_url, describe(filters, taxonomy), filters),
    }
    return render("site/brief.html", request, context)


@routes.get("/taxonomy/{facet}")
async def taxonomy_page(request: web.Request) -> web.Response:
    """The codes of a facet: what each covers, its briefs, its feed. Feeds name this page as
    the scheme of their categories."""
    facet = cast(Facet, request.match_info["facet"])
    if facet not in FACETS:
        raise web.HTTPNotFound()
    taxonomy = request.app[tagging_key].taxonomy
    base_url = request.app[settings_key].base_url
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
            "feed_url": facet_url(base_url, facet, term.code, "atom"),
            "subscribe_url": "/subscribe?" + urlencode([(param, term.code)]),
        }
        for term in taxonomy.terms(facet)
    ]
    legend = LEGENDS[facet]
    context = {"facet": facet, "legend": legend, "terms": terms, "version": taxonomy.version}
    return render("site/taxonomy.html", request, context)


def restricted_page(request: web.Request, brief_id: uuid.UUID) -> web.Response:
    """403 for a restricted brief: nothing of the brief, only the way to sign in and back."""
    sign_in = "/practitioners/sign-in?" + urlencode({"next": f"/briefs/{brief_id}"})
    return render("site/restricted.html", request, {"sign_in_href": sign_in}, status=403)


def withdrawn_page(request: web.Request, brief: Brief, *, named: bool) -> web.Response:
    """410 for a withdrawn brief: its title and public reason only to those who may read it."""
    zone = request.app[settings_key].zone
    context = {
        "title": brief.title if named else None,
        "reason": brief.withdrawn_reason if named else None,
        "withdrawn_on": brief.withdrawn_at.astimezone(zone) if brief.withdrawn_at else None,
    }
    return render("site/withdrawn.html", request, context, status=410)


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
