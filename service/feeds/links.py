"""Feed autodiscovery: the <link rel="alternate"> tags a page puts in its <head>."""

from __future__ import annotations

from dataclasses import dataclass

from service.briefs.queries import Filters
from service.feeds.build import CONTENT_TYPES, FORMATS
from service.feeds.service import query_url

NAMES = {"atom": "Atom", "rss": "RSS"}


@dataclass(frozen=True)
class FeedLink:
    type: str
    title: str
    href: str


def feed_links(base_url: str, title: str, filters: Filters | None = None) -> list[FeedLink]:
    """An Atom and an RSS link to the feed of these filters (all briefs by default)."""
    filters = filters or Filters()
    return [
        FeedLink(
            type=CONTENT_TYPES[fmt].partition(";")[0],
            title=f"{title} ({NAMES[fmt]})",
            href=query_url(base_url, filters, fmt),
        )
        for fmt in FORMATS
    ]
