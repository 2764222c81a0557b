"""Publishers' corrections of the tagger: recorded as briefs are written, read by the report.

A correction is a code where the publisher's choice for a facet and the tagger's suggestions
differ. They are what the next vocabulary change should answer: a code often removed has a
phrase that misleads (the report names the phrases), a code often added has words the
tagger does not know, or knows and weighs too lightly.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.briefs.models import Brief, TagCorrection
from service.staff.models import StaffMember
from service.tagging import BriefText, TagSuggestions
from service.taxonomy import FACETS, Facet

ADDED = "added"
REMOVED = "removed"
# The text kept with a correction: enough to read the brief's words again, not a copy of a review.
TEXT_KEPT = 10_000


def corrections(
    suggestions: TagSuggestions, chosen: Mapping[Facet, list[str] | None]
) -> dict[tuple[str, str], str]:
    """(facet, code) -> "added" or "removed", for each facet the publisher chose now."""
    found: dict[tuple[str, str], str] = {}
    for facet in FACETS:
        codes = chosen.get(facet)
        if codes is None:
            continue
        suggested = set(suggestions.codes(facet))
        for code in set(codes) - suggested:
            found[facet, code] = ADDED
        for code in suggested - set(codes):
            found[facet, code] = REMOVED
    return found


async def record(
    session: AsyncSession,
    brief: Brief,
    suggestions: TagSuggestions,
    chosen: Mapping[Facet, list[str] | None],
    *,
    staff: StaffMember,
    now: datetime,
) -> None:
    """Bring the brief's corrections of the facets chosen now up to date.

    A correction that still holds keeps its row (and when it was first recorded); one that no
    longer holds, because the publisher or the text changed, is deleted.
    """
    facets = [facet for facet in FACETS if chosen.get(facet) is not None]
    if not facets:
        return
    wanted = corrections(suggestions, chosen)
    rows = await session.scalars(
        select(TagCorrection).where(
            TagCorrection.brief_id == brief.id, TagCorrection.facet.in_(facets)
        )
    )
    existing: dict[tuple[str, str], TagCorrection] = {(row.facet, row.code): row for row in rows}
    text = BriefText.of(brief.title, brief.summary, brief.learning_points).text[:TEXT_KEPT]
    for key, row in existing.items():
        if wanted.get(key) != row.action:
            await session.delete(row)
    await session.flush()
    new: list[dict[str, Any]] = []
    for (facet, code), action in wanted.items():
        found = suggestions.get(cast(Facet, facet), code)
        values = {
            "tagger_weight": found.weight if found else None,
            "evidence": [e.model_dump() for e in found.evidence] if found else [],
            "text": text,
            "revision": brief.revision,
            "staff_id": staff.id,
        }
        kept = existing.get((facet, code))
        if kept is not None and kept.action == action:
            for name, value in values.items():
                setattr(kept, name, value)
        else:
            new.append(
                {"brief_id": brief.id, "facet": facet, "code": code, "action": action,
                 "recorded_at": now, **values}
            )  # fmt: skip
    if new:
        # One executemany of the table's: the ORM inserts such rows one by one on SQLite
        # (to read each new id back), each a round trip to the database's thread.
        await session.execute(insert(cast(Table, TagCorrection.__table__)), new)


@dataclass(frozen=True)
class CodeCount:
    facet: str
    code: str
    added: int
    removed: int


@dataclass(frozen=True)
class PhraseCount:
    facet: str
    code: str
    action: str
    phrase: str
    count: int


@dataclass(frozen=True)
class Unfound:
    """A code publishers added where the tagger found no word for it, and the briefs."""

    facet: str
    code: str
    briefs: list[str]


@dataclass(frozen=True)
class CorrectionReport:
    corrections: int
    briefs: int
    codes: list[CodeCount]
    """Most often corrected first."""
    phrases: list[PhraseCount]
    """The tagger's evidence behind corrections, most frequent first: behind a removed code,
    the words that misled it; behind an added one it found, words it weighed too lightly."""
    unfound: list[Unfound]


async def report(session: AsyncSession, limit: int) -> CorrectionReport:
    """The codes and phrases most often corrected, at most ``limit`` of each."""
    rows = list(await session.scalars(select(TagCorrection).order_by(TagCorrection.id)))
    counts: Counter[tuple[str, str, str]] = Counter()
    phrases: Counter[tuple[str, str, str, str]] = Counter()
    unfound: dict[tuple[str, str], list[str]] = defaultdict(list)
    for row in rows:
        counts[row.facet, row.code, row.action] += 1
        for phrase in {_normal(e["text"]) for e in row.evidence}:
            phrases[row.facet, row.code, row.action, phrase] += 1
        if row.action == ADDED and not row.evidence:
            unfound[row.facet, row.code].append(str(row.brief_id))
    codes = sorted(
        {(facet, code) for facet, code, _ in counts},
        key=lambda key: (-(counts[(*key, ADDED)] + counts[(*key, REMOVED)]), key),
    )
    return CorrectionReport(
        corrections=len(rows),
        briefs=len({row.brief_id for row in rows}),
        codes=[
            CodeCount(facet, code, counts[facet, code, ADDED], counts[facet, code, REMOVED])
            for facet, code in codes[:limit]
        ],
        phrases=[
            PhraseCount(*key, count=count)
            for key, count in sorted(phrases.items(), key=lambda item: (-item[1], item[0]))[:limit]
        ],
        unfound=[
            Unfound(facet, code, briefs)
            for (facet, code), briefs in sorted(
                unfound.items(), key=lambda item: (-len(item[1]), item[0])
            )[:limit]
        ],
    )


def _normal(phrase: str) -> str:
    return " ".join(phrase.lower().split())
