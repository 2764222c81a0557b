"""Building RSS 2.0 and Atom documents from feed items, with feedgen.

The output depends only on its inputs: every date is set from the data (feedgen would
otherwise stamp the time of the call), so the same briefs give the same bytes and a hash of
the bytes is a usable ETag. Public and group feeds share this module; they differ only in
which briefs they pass and in the title and self link.
"""

from __future__ import annotations

import html
import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal, cast

from feedgen.feed import FeedGenerator

from service.briefs.models import Brief
from service.taxonomy import FACETS, Facet, Taxonomy

Format = Literal["atom", "rss"]
FORMATS: tuple[Format, ...] = ("atom", "rss")
CONTENT_TYPES: dict[Format, str] = {
    "atom": "application/atom+xml; charset=utf-8",
    "rss": "application/rss+xml; charset=utf-8",
}
PUBLISHER = "Merseyside Safeguarding Learning Hub"

# Characters that XML 1.0 forbids. The API refuses control characters already; imported or
# older rows are cleaned here too, because lxml raises on them and one bad brief must not
# take every feed that lists it down.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


_FACET_ORDER: dict[str, int] = {facet: n for n, facet in enumerate(FACETS)}
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


@dataclass(frozen=True)
class Category:
    term: str
    label: str
    scheme: str


@dataclass(frozen=True)
class FeedItem:
    """One brief as a feed entry; ``updated`` moves only when subscribers are told again."""

    id: uuid.UUID
    title: str
    url: str
    published: datetime
    updated: datetime
    html: str
    categories: tuple[Category, ...]


@dataclass(frozen=True)
class FeedMeta:
    title: str
    description: str
    self_url: str
    alternate_url: str
    updated: datetime


def item_from_brief(
    brief: Brief,
    taxonomy: Taxonomy,
    base_url: str,
    tags: Iterable[tuple[str, str]] | None = None,
) -> FeedItem:
    """The entry of a brief; its tags as (facet, code) pairs when they were read apart."""
    assert brief.published_at is not None
    pairs = tags if tags is not None else ((tag.facet, tag.code) for tag in brief.tags)
    return FeedItem(
        id=brief.id,
        title=brief.title,
        url=f"{base_url}/briefs/{brief.id}",
        published=brief.published_at,
        updated=brief.notified_at or brief.published_at,
        html=entry_html(brief),
        categories=categories_of(pairs, taxonomy, base_url),
    )


def categories(brief: Brief, taxonomy: Taxonomy, base_url: str) -> tuple[Category, ...]:
    """Every tag, facet by facet in taxonomy order, codes sorted within a facet."""
    return categories_of(((tag.facet, tag.code) for tag in brief.tags), taxonomy, base_url)


def categories_of(
    tags: Iterable[tuple[str, str]], taxonomy: Taxonomy, base_url: str
) -> tuple[Category, ...]:
    """The (facet, code) pairs as categories, facet by facet in taxonomy order, codes sorted
    within a facet."""
    found = []
    for facet, code in sorted(tags, key=lambda tag: (_FACET_ORDER.get(tag[0], 9), tag[1])):
        try:
            label = taxonomy.get(cast(Facet, facet), code).label
        except KeyError:  # a code since retired from the taxonomy still names itself
            label = code
        found.append(Category(code, label, f"{base_url}/taxonomy/{facet}"))
    return tuple(found)


def entry_html(brief: Brief) -> str:
    """The sanitised summary, the learning points as a list, and where the learning came from."""
    points = "".join(f"<li>{html.escape(point)}</li>" for point in brief.learning_points)
    source = f"{html.escape(brief.source_review)}, {html.escape(brief.source_board)}"
    if brief.source_published_on is not None:
        source += f", published {_long_date(brief.source_published_on)}"
    if brief.source_url:
        href = html.escape(brief.source_url, quote=True)
        source = f'<a href="{href}">{source}</a>'
    return f"{brief.summary_html}<h3>Learning points</h3><ul>{points}</ul><p>Source: {source}.</p>"


def feed_updated(items: Sequence[FeedItem], fallback: datetime) -> datetime:
    """The newest entry's ``updated``; ``fallback`` for a feed with no entries."""
    return max((item.updated for item in items), default=fallback)


def render_feed(fmt: Format, meta: FeedMeta, items: Sequence[FeedItem]) -> bytes:
    """The document, entries in the order given (callers pass newest first)."""
    feed = FeedGenerator()
    feed.id(meta.self_url)
    feed.title(_text(meta.title))
    feed.description(_text(meta.description))
    feed.link(href=meta.alternate_url, rel="alternate", type="text/html")
    feed.link(href=meta.self_url, rel="self", type=CONTENT_TYPES[fmt].partition(";")[0])
    feed.author(name=PUBLISHER)
    feed.language("en-GB")
    feed.generator("Learnhub")
    feed.updated(meta.updated)
    for item in items:
        _add_entry(feed, item)
    if fmt == "atom":
        return bytes(feed.atom_str(pretty=False))
    return bytes(feed.rss_str(pretty=False))


def _add_entry(feed: FeedGenerator, item: FeedItem) -> None:
    entry = feed.add_entry(order="append")  # the default, prepend, would reverse the order
    entry.guid(f"urn:uuid:{item.id}", permalink=False)
    entry.title(_text(item.title))
    # feedgen 1.0 drops rel and type from entry links; an Atom link without rel is the
    # alternate link anyway.
    entry.link(href=item.url, rel="alternate")
    entry.published(item.published)
    entry.updated(item.updated)
    entry.summary(_text(item.html), type="html")
    if item.categories:
        entry.category(
            [{"term": c.term, "label": _text(c.label), "scheme": c.scheme} for c in item.categories]
        )


def _text(value: str) -> str:
    return _NOT_XML.sub("", value)


def _long_date(day: date) -> str:
    return f"{day.day} {_MONTHS[day.month - 1]} {day.year}"
