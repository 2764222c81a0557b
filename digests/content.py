"""What one person's digest says: their briefs grouped by theme, newest first."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from service.briefs.models import Brief
from service.taxonomy import Facet, Taxonomy
from subscribers.alerts import reasons
from subscribers.matching import Recipient

OTHER = "Other learning"
_FIRST_PARAGRAPH = re.compile(r"<p>.*?</p>", re.DOTALL)


@dataclass(frozen=True)
class Item:
    brief: Brief
    url: str
    paragraph_html: str
    paragraph_text: str
    reasons: list[str]
    updated: bool


@dataclass(frozen=True)
class Section:
    heading: str
    items: list[Item]


def subject(
    frequency: str, count: int, period_start: datetime, period_end: datetime, zone: ZoneInfo
) -> str:
    """'Weekly learning digest: 3 new briefs, w/c 23 November 2026', or a daily one."""
    noun = "brief" if count == 1 else "briefs"
    if frequency == "weekly":
        start = period_start.astimezone(zone).date()
        monday = start - timedelta(days=start.weekday())
        return f"Weekly learning digest: {count} new {noun}, w/c {monday:%-d %B %Y}"
    return f"Daily learning digest: {count} new {noun}, {period_end.astimezone(zone):%-d %B %Y}"


def sections(
    briefs: list[Brief],
    recipient: Recipient,
    filters: dict[Facet, set[str]],
    taxonomy: Taxonomy,
    base_url: str,
    period_start: datetime,
) -> list[Section]:
    """Each brief once, under the first of its themes the person follows (else its first)."""
    grouped: dict[str, list[Item]] = {}
    for brief in sorted(briefs, key=lambda b: (b.notified_at, b.id), reverse=True):
        heading = _theme(brief, filters.get("themes", set()), taxonomy)
        grouped.setdefault(heading, []).append(
            _item(brief, recipient, filters, taxonomy, base_url, period_start)
        )
    order = sorted(grouped, key=lambda h: (h == OTHER, h))
    return [Section(heading, grouped[heading]) for heading in order]


def _theme(brief: Brief, followed: set[str], taxonomy: Taxonomy) -> str:
    themes = brief.codes("themes")
    chosen = [c for c in themes if c in followed] or themes
    labels = sorted(taxonomy.get("themes", c).label for c in chosen)
    return labels[0] if labels else OTHER


def _item(
    brief: Brief,
    recipient: Recipient,
    filters: dict[Facet, set[str]],
    taxonomy: Taxonomy,
    base_url: str,
    period_start: datetime,
) -> Item:
    html = _FIRST_PARAGRAPH.search(brief.summary_html)
    text = brief.summary.strip().split("\n\n", 1)[0]
    published = brief.published_at
    return Item(
        brief=brief,
        url=f"{base_url}/briefs/{brief.id}",
        paragraph_html=html.group(0) if html else "",
        paragraph_text=" ".join(text.split()),
        reasons=reasons(brief, recipient, filters, taxonomy),
        updated=published is not None and published <= period_start,
    )
