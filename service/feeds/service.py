"""Public feeds: which briefs a filter selects, how the feed is named, and its version."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime
from urllib.parse import urlencode

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import load_only, raiseload

from service.briefs.models import Audience, Brief, BriefTag
from service.briefs.queries import SINGULAR, BadQuery, Filters, public_briefs, published_briefs
from service.events.models import Event
from service.feeds.build import (
    CONTENT_TYPES,
    FeedMeta,
    Format,
    feed_updated,
    item_from_brief,
    render_feed,
)
from service.feeds.cache import RenderedFeed
from service.taxonomy import FACETS, Facet, Taxonomy

FEED_SIZE = 50
MAX_FILTER_VALUES = 30
TITLE = "Learning briefs"
DESCRIPTION = "Learning from child safeguarding practice reviews across Merseyside"
PARAMS: dict[str, Facet] = {name: facet for facet, name in SINGULAR.items()}
# The date of a feed that has never had anything in it.
NEVER = datetime(2000, 1, 1, tzinfo=UTC)


def normalise(themes: Iterable[str], agencies: Iterable[str], boroughs: Iterable[str]) -> Filters:
    """The same filter however it was spelled: codes sorted, each once."""
    return Filters(
        tuple(sorted(set(themes))), tuple(sorted(set(agencies))), tuple(sorted(set(boroughs)))
    )


def parse_filters(pairs: Iterable[tuple[str, str]], taxonomy: Taxonomy) -> Filters:
    """Filters from query parameters; BadQuery names an unknown parameter or code."""
    pairs = list(pairs)
    unknown = sorted({name for name, _ in pairs} - set(PARAMS))
    if unknown:
        raise BadQuery(
            f"unknown query parameter {unknown[0]!r}",
            {"unknown": unknown, "valid": sorted(PARAMS)},
        )
    if len(pairs) > MAX_FILTER_VALUES:
        raise BadQuery(
            f"a feed takes at most {MAX_FILTER_VALUES} filter values in all; "
            f"this one has {len(pairs)}",
            {"limit": MAX_FILTER_VALUES, "given": len(pairs)},
        )
    chosen: dict[Facet, list[str]] = {facet: [] for facet in FACETS}
    for name, code in pairs:
        chosen[PARAMS[name]].append(code)
    filters = normalise(chosen["themes"], chosen["agencies"], chosen["boroughs"])
    filters.check(taxonomy)
    return filters


def describe(filters: Filters, taxonomy: Taxonomy) -> str:
    """The feed's title: "Learning briefs: Neglect or Domestic abuse; Knowsley"."""
    parts = [
        " or ".join(_label(taxonomy, facet, code) for code in codes)
        for facet, codes in filters.by_facet.items()
        if codes
    ]
    return f"{TITLE}: {'; '.join(parts)}" if parts else TITLE


def query_url(base_url: str, filters: Filters, fmt: Format) -> str:
    """The canonical URL of a filtered feed: one query parameter per code, in facet order."""
    pairs = [(SINGULAR[facet], code) for facet in FACETS for code in filters.by_facet[facet]]
    query = f"?{urlencode(pairs)}" if pairs else ""
    return f"{base_url}/feeds/briefs.{fmt}{query}"


def facet_url(base_url: str, facet: Facet, code: str, fmt: Format) -> str:
    return f"{base_url}/feeds/{facet}/{code}.{fmt}"


async def read_version(session: AsyncSession) -> int:
    """The newest event id: it moves whenever anything a feed shows changes."""
    return await session.scalar(select(func.max(Event.id))) or 0


async def render_public(
    session: AsyncSession,
    *,
    filters: Filters,
    taxonomy: Taxonomy,
    base_url: str,
    fmt: Format,
    self_url: str,
) -> RenderedFeed:
    """The newest published public briefs that match, as a feed document."""
    title = describe(filters, taxonomy)
    description = DESCRIPTION if title == TITLE else f"{DESCRIPTION}. {title}."
    meta = FeedMeta(title, description, self_url, f"{base_url}/", NEVER)
    query = public_briefs(filters, taxonomy)
    return await _render(
        session, query, meta, fmt=fmt, taxonomy=taxonomy, base_url=base_url, restricted=False
    )


async def render_group(
    session: AsyncSession,
    name: str,
    filters: Filters,
    *,
    practitioners: bool,
    taxonomy: Taxonomy,
    base_url: str,
    self_url: str,
) -> RenderedFeed:
    """A group's private stream; restricted briefs too if it is a practitioner group."""
    audiences: tuple[Audience, ...] = (Audience.public,)
    if practitioners:
        audiences += (Audience.practitioners,)
    title = f"Learning briefs for {name}"
    description = f"{DESCRIPTION}, for the practitioner group {name}."
    meta = FeedMeta(title, description, self_url, f"{base_url}/", NEVER)
    query = published_briefs(filters, taxonomy, audiences=audiences)
    return await _render(
        session,
        query,
        meta,
        fmt="atom",
        taxonomy=taxonomy,
        base_url=base_url,
        restricted=practitioners,
    )


# What an entry shows (build.item_from_brief), and nothing else: a brief's other JSON
# columns and its tags' evidence were half the time of an uncached 50-entry feed. Anything
# else an entry reads raises instead of loading quietly.
ENTRY_COLUMNS = (
    load_only(
        Brief.id,
        Brief.title,
        Brief.published_at,
        Brief.notified_at,
        Brief.summary_html,
        Brief.learning_points,
        Brief.source_review,
        Brief.source_board,
        Brief.source_published_on,
        Brief.source_url,
        raiseload=True,
    ),
    raiseload("*"),  # the tags too: read apart, as rows
)


async def _render(
    session: AsyncSession,
    query: Select[Brief],
    meta: FeedMeta,
    *,
    fmt: Format,
    taxonomy: Taxonomy,
    base_url: str,
    restricted: bool,
) -> RenderedFeed:
    """The feed, dated by the newest change it may show: a feed without restricted briefs
    never dates itself (``updated``, ``Last-Modified``, the ETag) by a restricted event."""
    # The newest event is read before the briefs, so the data is never older than the date.
    newest = select(Event.occurred_at).order_by(Event.id.desc()).limit(1)
    if not restricted:
        newest = newest.where(Event.public.is_(True))
    changed = await session.scalar(newest) or NEVER
    briefs = list(await session.scalars(query.options(*ENTRY_COLUMNS).limit(FEED_SIZE)))
    # The tags as plain rows, not objects: a third of an uncached feed's time went to them.
    tags: dict[uuid.UUID, list[tuple[str, str]]] = {brief.id: [] for brief in briefs}
    if tags:
        rows = await session.execute(
            select(BriefTag.brief_id, BriefTag.facet, BriefTag.code).where(
                BriefTag.brief_id.in_(list(tags))
            )
        )
        for brief_id, facet, code in rows:
            tags[brief_id].append((facet, code))
    items = [item_from_brief(brief, taxonomy, base_url, tags[brief.id]) for brief in briefs]
    meta = replace(meta, updated=feed_updated(items, changed))
    body = render_feed(fmt, meta, items)
    # Last-Modified follows every change, including a minor edit or a withdrawal, which
    # leave the feed's own date alone; being later than needed only costs a full answer.
    return RenderedFeed.of(body, CONTENT_TYPES[fmt], max(changed, meta.updated))


def _label(taxonomy: Taxonomy, facet: Facet, code: str) -> str:
    try:
        return taxonomy.get(facet, code).label
    except KeyError:
        return code
