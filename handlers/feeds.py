"""Feeds of briefs (RSS 2.0 and Atom) with HTTP validators, and the page that builds their URLs."""

from __future__ import annotations

import functools
from typing import Any, cast

from aiohttp import web

from handlers.errors import ApiError
from handlers.pages import render
from learnhub.keys import feed_cache_key, readonly_key, settings_key, tagging_key
from service.briefs.queries import SINGULAR, BadQuery, Filters
from service.feeds.build import FORMATS, Format
from service.feeds.cache import RenderedFeed
from service.feeds.links import feed_links
from service.feeds.service import (
    TITLE,
    describe,
    facet_url,
    normalise,
    parse_filters,
    query_url,
    read_version,
    render_group,
    render_public,
)
from service.taxonomy import FACETS, Facet
from subscribers.groups import service as groups

# Feed readers poll every 15 to 60 minutes. Five minutes lets shared caches absorb bursts
# while a withdrawn brief still leaves every copy of a feed soon after it leaves ours.
CACHE_CONTROL = "public, max-age=300"
# A group feed carries restricted learning: no shared cache may keep it.
PRIVATE = "private, max-age=300"
PARSED_QUERIES = 1024
_parsed_key = web.AppKey("feed_queries", dict[tuple[str, str], tuple[Filters, str]])
LEGENDS = {"themes": "Themes", "agencies": "Agencies", "boroughs": "Boroughs"}


def setup(app: web.Application) -> None:
    app[_parsed_key] = {}
    app.router.add_get("/feeds", feeds_page)
    app.router.add_get("/feeds/briefs.{fmt:atom|rss}", briefs_feed)
    app.router.add_get("/feeds/{facet:themes|agencies|boroughs}/{code}.{fmt:atom|rss}", facet_feed)
    app.router.add_get("/feeds/groups/{token}.atom", group_feed)


async def briefs_feed(request: web.Request) -> web.Response:
    fmt = cast(Format, request.match_info["fmt"])
    # Feed readers repeat the same few URLs; parsing each query once keeps a cached feed
    # close to the cost of sending its bytes.
    parsed = request.app[_parsed_key]
    known = parsed.get((fmt, request.query_string))
    if known is None:
        filters = parse_filters(request.query.items(), request.app[tagging_key].taxonomy)
        known = filters, query_url(request.app[settings_key].base_url, filters, fmt)
        if len(parsed) >= PARSED_QUERIES:
            parsed.clear()
        parsed[(fmt, request.query_string)] = known
    return await serve(request, known[0], fmt, known[1])


async def facet_feed(request: web.Request) -> web.Response:
    """One code's feed at a path of its own, e.g. /feeds/agencies/health.atom."""
    facet = cast(Facet, request.match_info["facet"])
    code = request.match_info["code"]
    fmt = cast(Format, request.match_info["fmt"])
    if request.query:
        unknown = sorted(request.query)
        raise ApiError(
            400,
            f"unknown query parameter {unknown[0]!r}; this feed takes none "
            "(filter /feeds/briefs.atom instead)",
            details={"unknown": unknown, "valid": []},
        )
    taxonomy = request.app[tagging_key].taxonomy
    if code not in taxonomy.codes(facet):
        raise ApiError(
            404,
            f"unknown {SINGULAR[facet]} code {code!r}",
            details={"facet": facet, "unknown": [code], "valid": sorted(taxonomy.codes(facet))},
        )
    filters = Filters(**{facet: (code,)})
    base_url = request.app[settings_key].base_url
    return await serve(request, filters, fmt, facet_url(base_url, facet, code, fmt))


async def serve(request: web.Request, filters: Filters, fmt: Format, self_url: str) -> web.Response:
    """The feed from the cache, rendered first if the content changed since it was stored."""
    app = request.app
    readonly = app[readonly_key]

    async def render_feed() -> RenderedFeed:
        async with readonly() as session:
            return await render_public(
                session,
                filters=filters,
                taxonomy=app[tagging_key].taxonomy,
                base_url=app[settings_key].base_url,
                fmt=fmt,
                self_url=self_url,
            )

    feed = await app[feed_cache_key].get(
        (fmt, self_url), version=lambda: _version(app), render=render_feed
    )
    return respond(request, feed)


async def group_feed(request: web.Request) -> web.Response:
    """A group's private feed; an unknown or rotated token is a plain 404, with no hint."""
    app, token = request.app, request.match_info["token"]
    readonly = app[readonly_key]
    async with readonly() as session:
        group = await groups.by_feed_token(session, token)
    if group is None:
        raise ApiError(404, "no such feed")
    self_url = f"{app[settings_key].base_url}/feeds/groups/{token}.atom"

    async def render_feed() -> RenderedFeed:
        async with readonly() as session:
            return await render_group(
                session,
                group.name,
                normalise(group.themes, group.agencies, group.boroughs),
                practitioners=group.practitioners_only,
                taxonomy=app[tagging_key].taxonomy,
                base_url=app[settings_key].base_url,
                self_url=self_url,
            )

    # Keyed by the token itself: a rotated token's entry is never served again.
    feed = await app[feed_cache_key].get(
        ("group", token), version=lambda: _version(app), render=render_feed
    )
    return respond(request, feed, cache_control=PRIVATE)


async def _version(app: web.Application) -> int:
    async with app[readonly_key]() as session:
        return await read_version(session)


def respond(
    request: web.Request, feed: RenderedFeed, *, cache_control: str = CACHE_CONTROL
) -> web.Response:
    """200 with the bytes (gzipped when the client takes gzip), or 304 when its copy is
    current."""
    gzipped = accepts_gzip(request)
    headers = {
        "ETag": feed.gzip_etag if gzipped else feed.etag,
        "Last-Modified": feed.last_modified_http,
        "Cache-Control": cache_control,
        "Vary": "Accept-Encoding",
    }
    if not_modified(request, feed):
        return web.Response(status=304, headers=headers)
    headers["Content-Type"] = feed.content_type
    if gzipped:
        headers["Content-Encoding"] = "gzip"
        return web.Response(body=feed.gzipped, headers=headers)
    return web.Response(body=feed.body, headers=headers)


def accepts_gzip(request: web.Request) -> bool:
    """Whether Accept-Encoding allows gzip, by name or as "*" (RFC 9110 12.5.3; q=0 refuses)."""
    return _accepts_gzip(request.headers.get("Accept-Encoding", ""))


@functools.lru_cache(maxsize=256)  # clients send a handful of different headers
def _accepts_gzip(accept_encoding: str) -> bool:
    quality: dict[str, float] = {}
    for item in accept_encoding.lower().split(","):
        coding, _, params = item.partition(";")
        try:
            quality[coding.strip()] = float(params.strip().removeprefix("q=") or 1)
        except ValueError:
            continue
    gzip = quality.get("gzip", quality.get("x-gzip", quality.get("*", 0.0)))
    return gzip > 0


def not_modified(request: web.Request, feed: RenderedFeed) -> bool:
    # RFC 9110 13.2.2: If-None-Match wins when both are sent; it compares weakly. Either
    # encoding's tag will do: both stand for the same content.
    sent = request.headers.get("If-None-Match")
    if sent in (feed.etag, feed.gzip_etag):  # what feed readers send back; no list to parse
        return True
    if sent is not None:
        current = (feed.etag.strip('"'), feed.gzip_etag.strip('"'), "*")
        return any(tag.value in current for tag in request.if_none_match or ())
    since = request.if_modified_since
    return since is not None and feed.last_modified <= since


async def feeds_page(request: web.Request) -> web.Response:
    """Tick themes, agencies and boroughs; the page answers with the feed's addresses."""
    taxonomy = request.app[tagging_key].taxonomy
    base_url = request.app[settings_key].base_url
    # A page shrugs off parameters it does not know (tracking tags, old bookmarks).
    pairs = [(k, v) for k, v in request.query.items() if k in ("theme", "agency", "borough")]
    errors: dict[str, str] = {}
    try:
        filters = parse_filters(pairs, taxonomy)
    except BadQuery as exc:
        facet = (exc.details or {}).get("facet", "themes")
        errors[SINGULAR[facet]] = exc.message[:1].upper() + exc.message[1:]
        filters = Filters()
    title = describe(filters, taxonomy)
    chosen = any(filters.by_facet.values())
    context: dict[str, Any] = {
        "facets": [
            {
                "param": SINGULAR[facet],
                "legend": LEGENDS[facet],
                "terms": taxonomy.terms(facet),
                "chosen": set(filters.by_facet[facet]),
                "error": errors.get(SINGULAR[facet]),
            }
            for facet in FACETS
        ],
        "all_urls": {fmt: query_url(base_url, Filters(), fmt) for fmt in FORMATS},
        "chosen": {fmt: query_url(base_url, filters, fmt) for fmt in FORMATS} if chosen else None,
        "feed_title": title,
        "error_summary": errors,
        "feed_links": feed_links(base_url, TITLE)
        + (feed_links(base_url, title, filters) if chosen else []),
    }
    return render("feeds.html", request, context, status=400 if errors else 200)
