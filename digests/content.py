"""What one person's digest says: their briefs grouped by theme, newest first.

Many people follow the same things, so their digests are made of the same items: ``Sections``
works each item out once per run for each distinct interest, and gives two people the very
same sections exactly when their digests read the same, which lets the mail queue render
each distinct digest once (see service.mail.service.Drafts).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from service.briefs.briefing import briefing_url, lead
from service.briefs.models import Brief
from service.mail.service import Carried
from service.taxonomy import Facet, Taxonomy
from subscribers.alerts.matching import Recipient
from subscribers.alerts.reasons import Tagged, reasons

OTHER = "Other learning"


# Items and sections are compared by identity: Sections makes one of each per distinct value,
# so two digests that read the same hold the very same ones, and comparing them is cheap.
@dataclass(frozen=True, eq=False, slots=True)
class Item:
    brief: Brief
    url: str
    briefing_url: str
    paragraph_html: str
    paragraph_text: str
    reasons: tuple[str, ...]
    updated: bool


@dataclass(frozen=True, eq=False, slots=True)
class Section:
    heading: str
    items: tuple[Item, ...]


@lru_cache(maxsize=1024)
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


@dataclass(frozen=True, eq=False, slots=True)
class Card:
    """What a digest shows of a brief, whoever it goes to: worked out once per run.

    It copies the few columns read for every person, which are cheaper read here than
    through the ORM's attributes.
    """

    brief: Brief
    brief_id: uuid.UUID
    revision: int
    publication: int
    title: str
    audience: str
    notified_at: datetime
    published_at: datetime | None
    url: str
    briefing_url: str
    paragraph_html: str
    paragraph_text: str
    tagged: Tagged
    theme_labels: dict[str, str]
    carried: Carried  # what the delivery record of a digest carrying it keeps

    @classmethod
    def of(cls, brief: Brief, taxonomy: Taxonomy, base_url: str) -> Card:
        # The summary's first paragraph, cut to about 120 words: the full brief is a click away.
        found = lead(brief.summary_html)
        tagged = Tagged.of(brief, taxonomy)
        assert brief.notified_at is not None  # a published brief has been announced
        return cls(
            brief=brief,
            brief_id=brief.id,
            revision=brief.revision,
            publication=brief.publication,
            title=brief.title,
            audience=brief.audience,
            notified_at=brief.notified_at,
            published_at=brief.published_at,
            url=f"{base_url}/briefs/{brief.id}",
            briefing_url=briefing_url(base_url, brief),
            paragraph_html=found.html,
            paragraph_text=found.text,
            tagged=tagged,
            theme_labels={code: label for code, label, _ in tagged.codes["themes"]},
            carried=Carried(brief.id, brief.revision, brief.publication, brief.title),
        )


# What an item depends on besides its brief: whether the person chose filters, the filters,
# their groups. Equal for everyone who follows the same things.
Interest = tuple[bool, tuple[tuple[str, frozenset[str]], ...], tuple[str, ...]]


class Sections:
    """Each person's sections in one run, from the run's cards."""

    def __init__(self, cards: Iterable[Card]) -> None:
        newest_first = sorted(cards, key=lambda c: (c.notified_at, c.brief_id), reverse=True)
        self._rank = {card: n for n, card in enumerate(newest_first)}
        # interest -> card -> the heading it goes under, and why the person gets it
        self._placed: dict[Interest, dict[Card, tuple[str, tuple[str, ...]]]] = {}
        # Each distinct digest's sections: most people share theirs with others.
        self._of: dict[tuple[Interest, frozenset[Card], datetime], tuple[Section, ...]] = {}
        # One of each per distinct value, whatever interests led to them.
        self._reasons: dict[tuple[str, ...], tuple[str, ...]] = {}
        self._items: dict[tuple[Card, tuple[str, ...], bool], Item] = {}
        self._sections: dict[tuple[str, tuple[Item, ...]], Section] = {}

    def of(
        self,
        cards: Iterable[Card],
        recipient: Recipient,
        filters: dict[Facet, set[str]],
        period_start: datetime,
    ) -> tuple[Section, ...]:
        """Each brief once, under the first of its themes the person follows (else its first)."""
        interest: Interest = (
            recipient.subscribed,
            tuple(sorted((facet, frozenset(codes)) for facet, codes in filters.items())),
            tuple(recipient.groups),
        )
        key = (interest, frozenset(cards), period_start)
        found = self._of.get(key)
        if found is None:
            found = self._of[key] = self._sections_of(key[1], interest, recipient, filters, key[2])
        return found

    def _sections_of(
        self,
        cards: Iterable[Card],
        interest: Interest,
        recipient: Recipient,
        filters: dict[Facet, set[str]],
        period_start: datetime,
    ) -> tuple[Section, ...]:
        placed = self._placed.setdefault(interest, {})
        grouped: dict[str, list[Item]] = {}
        for card in sorted(cards, key=self._rank.__getitem__):
            found = placed.get(card)
            if found is None:
                why = reasons(card.tagged, recipient, filters)
                heading = _theme(card, filters.get("themes", set()))
                found = placed[card] = (heading, self._reasons.setdefault(why, why))
            heading, why = found
            updated = card.published_at is not None and card.published_at <= period_start
            grouped.setdefault(heading, []).append(self._item(card, why, updated))
        order = sorted(grouped, key=lambda h: (h == OTHER, h))
        return tuple(self._section(heading, tuple(grouped[heading])) for heading in order)

    def _item(self, card: Card, why: tuple[str, ...], updated: bool) -> Item:
        item = self._items.get((card, why, updated))
        if item is None:
            item = self._items[card, why, updated] = Item(
                brief=card.brief,
                url=card.url,
                briefing_url=card.briefing_url,
                paragraph_html=card.paragraph_html,
                paragraph_text=card.paragraph_text,
                reasons=why,
                updated=updated,
            )
        return item

    def _section(self, heading: str, items: tuple[Item, ...]) -> Section:
        section = self._sections.get((heading, items))
        if section is None:
            section = self._sections[heading, items] = Section(heading, items)
        return section


def _theme(card: Card, followed: set[str]) -> str:
    chosen = [c for c in card.theme_labels if c in followed] or list(card.theme_labels)
    return min((card.theme_labels[c] for c in chosen), default=OTHER)
