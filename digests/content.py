"""What one person's digest says: their briefs grouped by theme, newest first."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from service.briefs.models import Brief
from service.taxonomy import Facet, Taxonomy
from subscribers.alerts import Tagged, reasons
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


@dataclass(frozen=True)
class Card:
    """What a digest shows of a brief, whoever it goes to: worked out once per run."""

    brief: Brief
    url: str
    paragraph_html: str
    paragraph_text: str
    tagged: Tagged
    theme_labels: dict[str, str]

    @classmethod
    def of(cls, brief: Brief, taxonomy: Taxonomy, base_url: str) -> Card:
        html = _FIRST_PARAGRAPH.search(brief.summary_html)
        text = brief.summary.strip().split("\n\n", 1)[0]
        tagged = Tagged.of(brief, taxonomy)
        return cls(
            brief=brief,
            url=f"{base_url}/briefs/{brief.id}",
            paragraph_html=html.group(0) if html else "",
            paragraph_text=" ".join(text.split()),
            tagged=tagged,
            theme_labels={code: label for code, label, _ in tagged.codes["themes"]},
        )


def sections(
    cards: list[Card], recipient: Recipient, filters: dict[Facet, set[str]], period_start: datetime
) -> list[Section]:
    """Each brief once, under the first of its themes the person follows (else its first)."""
    grouped: dict[str, list[Item]] = {}
    for card in sorted(cards, key=lambda c: (c.brief.notified_at, c.brief.id), reverse=True):
        heading = _theme(card, filters.get("themes", set()))
        grouped.setdefault(heading, []).append(_item(card, recipient, filters, period_start))
    order = sorted(grouped, key=lambda h: (h == OTHER, h))
    return [Section(heading, grouped[heading]) for heading in order]


def _theme(card: Card, followed: set[str]) -> str:
    chosen = [c for c in card.theme_labels if c in followed] or list(card.theme_labels)
    return min((card.theme_labels[c] for c in chosen), default=OTHER)


def _item(
    card: Card, recipient: Recipient, filters: dict[Facet, set[str]], period_start: datetime
) -> Item:
    published = card.brief.published_at
    return Item(
        brief=card.brief,
        url=card.url,
        paragraph_html=card.paragraph_html,
        paragraph_text=card.paragraph_text,
        reasons=reasons(card.tagged, recipient, filters),
        updated=published is not None and published <= period_start,
    )
