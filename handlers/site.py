"""The public reading site: the list of briefs with search and filters, and one brief's page.

Only published public briefs are ever shown; anything else answers the 404 page, so a
restricted brief's address reveals nothing about it.
"""

from __future__ import annotations

import html
import uuid
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import urlencode

import nh3
from aiohttp import web

from handlers.pages import render
from service.briefs import search
from service.briefs import service as briefs
from service.briefs.models import Audience, Brief, BriefHistory, Status
from service.briefs.queries import SINGULAR, Filters
from service.feeds.links import feed_links
from service.feeds.service import describe, facet_url, query_url
from service.keys import readonly_key, settings_key, tagging_key
from service.taxonomy import FACETS, Facet, Taxonomy

routes = web.RouteTableDef()
PAGE_SIZE = 20
EXCERPT = 240
LEGENDS = {"themes": "Theme", "agencies": "Agency", "boroughs": "Borough"}


@dataclass(frozen=True)
class Tag:
    facet: Facet
    code: str
    label: str


def labels(brief: Brief, taxonomy: Taxonomy) -> list[Tag]:
    """The brief's tags with their labels, facet by facet in taxonomy order."""
    found = []
    for facet in FACETS:
        for code in brief.codes(facet):
            try:
                label = taxonomy.get(facet, code).label
            except KeyError:  # a code since retired from the taxonomy still names itself
                label = code
            found.append(Tag(facet, code, label))
    return found


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
    try:
        number = max(int(request.query.get("page", "1")), 1)
    except ValueError:
        number = 1
    async with request.app[readonly_key]() as session:
        page = await search.search(
            session, q, filters, taxonomy, limit=PAGE_SIZE, offset=(number - 1) * PAGE_SIZE
        )
        counts = await search.facet_counts(session, q, filters, taxonomy)
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
        if brief is None or not _public(brief):
            raise web.HTTPNotFound()
        history = [entry for entry, _email in await briefs.history(session, brief_id)]
    filters = Filters(*(tuple(brief.codes(facet)) for facet in FACETS))
    tags = labels(brief, taxonomy)
    context = {
        "brief": brief,
        "tags": tags,
        "params": SINGULAR,
        "history": public_history(history),
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
    terms = [
        {
            "term": term,
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


def _public(brief: Brief) -> bool:
    return brief.status == Status.published and brief.audience == Audience.public


@dataclass(frozen=True)
class Revision:
    when: Any
    heading: str
    note: str | None


def public_history(entries: list[BriefHistory]) -> list[Revision]:
    """What a reader may see: publication, updates and their notes (staff names stay private)."""
    shown: list[Revision] = []
    published = False
    for entry in entries:
        if entry.action == "publish":
            shown.append(
                Revision(
                    entry.occurred_at,
                    "Published again" if published else "Published",
                    entry.change_note,
                )
            )
            published = True
        elif entry.action == "edit" and published:
            heading = "Updated" if entry.significant else "Minor correction"
            shown.append(Revision(entry.occurred_at, heading, entry.change_note))
    return shown
