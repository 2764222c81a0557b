"""Why a person gets a brief, in words: one module for alerts and digests alike."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.briefs.models import Brief
from service.taxonomy import FACETS, Facet, Taxonomy
from subscribers.alerts.matching import Recipient, widen
from subscribers.subscriptions.models import SubscriptionCode

CODES_CHUNK = 1000


@dataclass(frozen=True)
class Tagged:
    """A brief's tags as matching sees them, worked out once per brief, not once per person:
    per facet, each code with its label and the filter codes it answers to."""

    codes: dict[Facet, tuple[tuple[str, str, frozenset[str]], ...]]

    @classmethod
    def of(cls, brief: Brief, taxonomy: Taxonomy) -> Tagged:
        return cls({
            facet: tuple((code, taxonomy.get(facet, code).label, widen(taxonomy, facet, [code]))
                         for code in brief.codes(facet))
            for facet in FACETS
        })  # fmt: skip


def reasons(
    tagged: Tagged, recipient: Recipient, filters: dict[Facet, set[str]]
) -> tuple[str, ...]:
    """Why this person got this brief, in words: the tags that matched, and their groups."""
    found = []
    if recipient.subscribed:
        for facet in FACETS:
            wanted = filters.get(facet, set())
            found += [label for _, label, answers in tagged.codes[facet] if wanted & answers]
        if not found:
            found.append("you asked for all new learning")
        else:
            found = [f"you follow {', '.join(found)}"]
    found += [f"you are a member of {name}" for name in recipient.groups]
    if recipient.back:
        found.append("we told you it had been withdrawn, and it is back")
    return tuple(found)


async def chosen_filters(
    session: AsyncSession, ids: Sequence[int]
) -> dict[int, dict[Facet, set[str]]]:
    """Each person's chosen codes, fetched in chunks rather than a query per person."""
    found: dict[int, dict[Facet, set[str]]] = {}
    for start in range(0, len(ids), CODES_CHUNK):
        rows = await session.execute(_CODES, {"ids": ids[start : start + CODES_CHUNK]})
        for subscriber_id, facet, code in rows:
            found.setdefault(subscriber_id, {}).setdefault(cast(Facet, facet), set()).add(code)
    return found


# The IN list is one expanding parameter of a statement built once (see mail.service).
_CODES = select(
    SubscriptionCode.subscriber_id, SubscriptionCode.facet, SubscriptionCode.code
).where(SubscriptionCode.subscriber_id.in_(bindparam("ids", expanding=True)))
