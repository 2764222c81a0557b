"""The list of briefs with its search and filters (home), and the taxonomy pages: what a
reader browses, counted for their audience and served from the page cache.

Published public briefs are shown to everyone; published restricted briefs (audience
"practitioners") to a signed-in practitioner too, marked "Practitioners only", in the list,
the search, the counts and the taxonomy pages alike.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import urlencode

import nh3
from aiohttp import web

from handlers.inputs import whole_number
from handlers.page_cache import Page, page_cache_key, serve
from handlers.pages import labels
from learnhub.keys import readonly_key, settings_key, tagging_key
from service.briefs import search
from service.briefs.models import Brief
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


def feeds_page(pairs: list[tuple[str, str]]) -> str:
    """The feeds page showing these choices' feed addresses, to copy (a feed's own address
    opened in a browser shows its XML)."""
    return "/feeds?" + urlencode(pairs) + "#your-feed" if pairs else "/feeds"


def _home(pairs: list[tuple[str, str]]) -> str:
    return "/?" + urlencode(pairs) if pairs else "/"


def filter_pairs(filters: Filters) -> list[tuple[str, str]]:
    return [(SINGULAR[facet], code) for facet in FACETS for code in filters.by_facet[facet]]


@dataclass(frozen=True)
class ListQuery:
    """What a list's address asks for, however it was written: its cache key."""

    q: str
    filters: Filters
    number: int


def list_query(request: web.Request) -> ListQuery:
    """The query of the list, read once per distinct query string (people share the same
    few addresses: home, a theme, a search from an email)."""
    known = request.app[page_cache_key].queries
    found = known.get(request.query_string)
    if not isinstance(found, ListQuery):
        taxonomy = request.app[tagging_key].taxonomy
        found = ListQuery(
            q=request.query.get("q", "").strip()[:200],
            filters=read_filters(request.query, taxonomy),
            number=whole_number(request.query.get("page", "1"), "page"),
        )
        known.put(request.query_string, found)
    return found


@routes.get("/")
async def index(request: web.Request) -> web.Response:
    asked = list_query(request)

    async def build(signed_in: bool) -> Page:
        return Page("site/index.html", await list_context(request.app, asked, signed_in))

    return await serve(request, ("list", asked), "/", build)


async def list_context(app: web.Application, asked: ListQuery, signed_in: bool) -> dict[str, Any]:
    taxonomy = app[tagging_key].taxonomy
    base_url = app[settings_key].base_url
    q, filters, number = asked.q, asked.filters, asked.number
    audiences = audiences_for(signed_in)
    async with app[readonly_key]() as session:
        offset = (number - 1) * PAGE_SIZE
        page = await search.search(
            session, q, filters, taxonomy, limit=PAGE_SIZE, offset=offset, audiences=audiences
        )
        counts = await search.facet_counts(session, q, filters, taxonomy, audiences=audiences)
    here = [("q", q)] if q else []
    here += filter_pairs(filters)

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
        "subscribe_url": "/subscribe" + ("?" + urlencode(filter_pairs(filters)) if chosen else ""),
        "feed_url": feeds_page(filter_pairs(filters)),
    }
    if chosen:
        context["feed_links"] = feed_links(base_url, describe(filters, taxonomy), filters)
    return context


@routes.get("/taxonomy/{facet}")
async def taxonomy_page(request: web.Request) -> web.Response:
    """The codes of a facet: what each covers, its briefs, its feed. Feeds name this page as
    the scheme of their categories."""
    facet = cast(Facet, request.match_info["facet"])
    if facet not in FACETS:
        raise web.HTTPNotFound()

    async def build(signed_in: bool) -> Page:
        return Page("site/taxonomy.html", await taxonomy_context(request.app, facet, signed_in))

    return await serve(request, ("taxonomy", facet), f"/taxonomy/{facet}", build)


async def taxonomy_context(app: web.Application, facet: Facet, signed_in: bool) -> dict[str, Any]:
    taxonomy = app[tagging_key].taxonomy
    param = SINGULAR[facet]
    audiences = audiences_for(signed_in)
    async with app[readonly_key]() as session:
        counts = await search.facet_counts(session, None, Filters(), taxonomy, audiences=audiences)
    terms = [
        {
            "term": term,
            "count": counts[facet][term.code],
            "parent": taxonomy.get(facet, term.parent).label if term.parent else None,
            "briefs_url": "/?" + urlencode([(param, term.code)]),
            "feed_url": feeds_page([(param, term.code)]),
            "subscribe_url": "/subscribe?" + urlencode([(param, term.code)]),
        }
        for term in taxonomy.terms(facet)
    ]
    legend = LEGENDS[facet]
    return {"facet": facet, "legend": legend, "terms": terms, "version": taxonomy.version}
