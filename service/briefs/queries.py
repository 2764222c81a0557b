"""Reading briefs: the public list with its filters and cursor, who may read what, and the
console's lists."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import ColumnElement, Select, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.briefs.models import Audience, Brief, BriefTag, Status
from service.errors import DomainError
from service.taxonomy import Facet, Taxonomy

# A brief with no borough concerns all of Merseyside, so it matches every borough filter.
REGION_WIDE_WHEN_EMPTY: frozenset[Facet] = frozenset({"boroughs"})
SINGULAR: dict[Facet, str] = {"themes": "theme", "agencies": "agency", "boroughs": "borough"}
PUBLIC_ONLY: tuple[Audience, ...] = (Audience.public,)
EVERY_AUDIENCE: tuple[Audience, ...] = (Audience.public, Audience.practitioners)


def audiences_for(practitioner: bool) -> tuple[Audience, ...]:
    """The audiences a reader may see: restricted learning only for a signed-in practitioner."""
    return EVERY_AUDIENCE if practitioner else PUBLIC_ONLY


class BadQuery(DomainError):
    code = "bad_request"
    status = 400


@dataclass(frozen=True)
class Filters:
    """OR within a facet, AND across facets; an empty facet matches anything."""

    themes: tuple[str, ...] = ()
    agencies: tuple[str, ...] = ()
    boroughs: tuple[str, ...] = ()
    by_facet: dict[Facet, tuple[str, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        facets = {"themes": self.themes, "agencies": self.agencies, "boroughs": self.boroughs}
        object.__setattr__(self, "by_facet", facets)

    def check(self, taxonomy: Taxonomy) -> None:
        for facet, codes in self.by_facet.items():
            unknown = taxonomy.unknown(facet, codes)
            if unknown:
                valid = sorted(taxonomy.codes(facet))
                raise BadQuery(
                    f"unknown {SINGULAR[facet]} code {unknown[0]!r}",
                    {"facet": facet, "unknown": unknown, "valid": valid},
                )


def encode_cursor(brief: Brief) -> str:
    assert brief.published_at is not None
    raw = json.dumps([brief.published_at.isoformat(), str(brief.id)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        when, brief_id = json.loads(raw)
        return datetime.fromisoformat(when), uuid.UUID(brief_id)
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError):
        raise BadQuery("the cursor is not one this service gave out") from None


def public_briefs(filters: Filters, taxonomy: Taxonomy) -> Select[Brief]:
    """Published public briefs matching the filters, newest first."""
    return published_briefs(filters, taxonomy, audiences=PUBLIC_ONLY)


def published_briefs(
    filters: Filters, taxonomy: Taxonomy, *, audiences: tuple[Audience, ...]
) -> Select[Brief]:
    """Published briefs of these audiences matching the filters, newest first."""
    query = select(Brief).where(
        Brief.status == Status.published.value, Brief.audience.in_([a.value for a in audiences])
    )
    for facet, codes in filters.by_facet.items():
        if codes:
            query = query.where(_matches(facet, taxonomy.expand(facet, codes)))
    return query.order_by(Brief.published_at.desc(), Brief.id.desc())


def _matches(facet: Facet, codes: frozenset[str]) -> ColumnElement[bool]:
    tagged = select(BriefTag.brief_id).where(BriefTag.facet == facet, BriefTag.code.in_(codes))
    if facet not in REGION_WIDE_WHEN_EMPTY:
        return Brief.id.in_(tagged)
    untagged = select(BriefTag.brief_id).where(BriefTag.facet == facet)
    return or_(Brief.id.in_(tagged), Brief.id.not_in(untagged))


async def list_public(
    session: AsyncSession,
    filters: Filters,
    taxonomy: Taxonomy,
    *,
    cursor: str | None,
    limit: int,
) -> tuple[list[Brief], str | None]:
    query = public_briefs(filters, taxonomy)
    if cursor:
        when, brief_id = decode_cursor(cursor)
        query = query.where(
            or_(Brief.published_at < when, and_(Brief.published_at == when, Brief.id < brief_id))
        )
    briefs = list((await session.scalars(query.limit(limit + 1))).all())
    more = len(briefs) > limit
    briefs = briefs[:limit]
    return briefs, encode_cursor(briefs[-1]) if more else None


async def by_last_change(session: AsyncSession) -> list[Brief]:
    """Every brief, whatever its status and audience, the most recently changed first."""
    return list(await session.scalars(_BY_LAST_CHANGE))


async def ever_published(session: AsyncSession) -> list[Brief]:
    """Every brief ever published (withdrawn ones, and drafts restored from them, included),
    newest first publication first."""
    return list(await session.scalars(_EVER_PUBLISHED))


# Statements built once.
_BY_LAST_CHANGE = select(Brief).order_by(Brief.updated_at.desc())
_EVER_PUBLISHED = (
    select(Brief).where(Brief.published_at.is_not(None)).order_by(Brief.published_at.desc())
)
