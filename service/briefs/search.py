"""Full-text search of published public briefs, ranked, and the counts beside each filter.

The query is read once (service.briefs.query: words, phrases, "or", exclusions, widened with
the taxonomy's words) and written for each database. SQLite searches an FTS5 table (porter
stemming; bm25 with the title weighted highest, then the learning points) that triggers keep
in step with ``briefs``; PostgreSQL searches ``brief_search_documents``, a weighted tsvector
per brief with a GIN index, kept in step by a trigger (``to_tsquery('english', …)``,
``ts_rank``, plus the learning points' own rank). Both come from migration 0005.
Unpublished briefs are never found, and restricted ones only when the caller passes the
practitioners' audience (a signed-in practitioner's pages): every search starts from
``queries.published_briefs`` with public briefs only by default.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    ForeignKey,
    Index,
    Select,
    Text,
    column,
    func,
    literal_column,
    select,
    table,
)
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql.expression import ColumnClause

from service.briefs.models import Audience, Brief, BriefTag
from service.briefs.queries import PUBLIC_ONLY, REGION_WIDE_WHEN_EMPTY, Filters, published_briefs
from service.briefs.query import read
from service.db import Base
from service.taxonomy import FACETS, Facet, Taxonomy, Term

# bm25 weights, in the FTS5 table's column order: brief_id, title, source, summary, points.
_WEIGHTS = (0.0, 10.0, 3.0, 1.0, 4.0)
_fts = table("briefs_fts", column("brief_id"))
_english: ColumnClause[Any] = literal_column("'english'::regconfig")
_WEIGHT_B: ColumnClause[Any] = literal_column("'B'::\"char\"")


class BriefSearchDocument(Base):
    """PostgreSQL's search index: one weighted tsvector per brief, written by a trigger.

    The table exists on SQLite too (so that models and migrations agree on both), but stays
    empty there: SQLite searches its FTS5 table instead.
    """

    __tablename__ = "brief_search_documents"
    __table_args__ = (
        Index("ix_brief_search_documents_document", "document", postgresql_using="gin"),
    )

    brief_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("briefs.id", ondelete="CASCADE"), primary_key=True
    )
    document: Mapped[str] = mapped_column(TSVECTOR().with_variant(Text(), "sqlite"))


@dataclass(frozen=True)
class Page:
    items: list[Brief]
    total: int
    # What the query was widened with: (as typed, the theme or agency it was read as).
    widened: list[tuple[str, Term]] = field(default_factory=list)


async def search(
    session: AsyncSession,
    q: str | None,
    filters: Filters,
    taxonomy: Taxonomy,
    *,
    limit: int,
    offset: int = 0,
    audiences: tuple[Audience, ...] = PUBLIC_ONLY,
) -> Page:
    """Briefs matching ``q`` and the filters: by rank then newest, or newest without q."""
    query = matching(session, q, filters, taxonomy, audiences=audiences)
    total = await session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    items = list((await session.scalars(query.limit(limit).offset(offset))).all())
    widened = read(q, taxonomy).widened() if q else []
    return Page(items=items, total=total or 0, widened=widened)


def matching(
    session: AsyncSession,
    q: str | None,
    filters: Filters,
    taxonomy: Taxonomy,
    *,
    audiences: tuple[Audience, ...] = PUBLIC_ONLY,
) -> Select[Brief]:
    """The query behind ``search``; an empty or wordless ``q`` lists everything, newest first."""
    query = published_briefs(filters, taxonomy, audiences=audiences)
    if not q or not q.strip():
        return query
    newest = (Brief.published_at.desc(), Brief.id.desc())
    read_as = read(q, taxonomy)
    if session.get_bind().dialect.name == "postgresql":
        text = read_as.tsquery()
        if text is None:
            return query.where(Brief.id.is_(None))  # nothing searchable, e.g. only punctuation
        tsquery = func.to_tsquery(_english, text)
        document = BriefSearchDocument.document
        # The document weighs the learning points with the summary; they count again here,
        # so that a brief whose learning points say it comes before one that only mentions it.
        points = func.setweight(func.to_tsvector(_english, Brief.learning_points), _WEIGHT_B)
        rank = func.ts_rank(document, tsquery) + func.ts_rank(points, tsquery)
        return (
            query.join(BriefSearchDocument, BriefSearchDocument.brief_id == Brief.id)
            .where(document.op("@@")(tsquery))
            .order_by(None)
            .order_by(rank.desc(), *newest)
        )
    expression = read_as.fts5()
    if expression is None:
        return query.where(Brief.id.is_(None))  # nothing searchable, e.g. only punctuation
    bm25 = func.bm25(literal_column("briefs_fts"), *_WEIGHTS)
    return (
        query.join(_fts, _fts.c.brief_id == Brief.id)
        .where(literal_column("briefs_fts").op("MATCH")(expression))
        .order_by(None)
        .order_by(bm25, *newest)  # bm25 is lower for better matches
    )


async def facet_counts(
    session: AsyncSession,
    q: str | None,
    filters: Filters,
    taxonomy: Taxonomy,
    *,
    audiences: tuple[Audience, ...] = PUBLIC_ONLY,
) -> dict[Facet, dict[str, int]]:
    """How many briefs each code would show, given the search and the other facets' choices.

    Counted in Python over the briefs that match the search, with the same rules as
    ``queries.published_briefs``: parent codes include their children, and a brief with no
    borough counts under every borough.
    """
    everything = matching(session, q, Filters(), taxonomy, audiences=audiences)
    ids = everything.order_by(None).with_only_columns(Brief.id)
    rows = await session.execute(
        select(BriefTag.brief_id, BriefTag.facet, BriefTag.code).where(BriefTag.brief_id.in_(ids))
    )
    tags: dict[object, dict[str, set[str]]] = {
        brief_id: defaultdict(set) for brief_id in await session.scalars(ids)
    }
    for brief_id, facet, code in rows:
        tags[brief_id][facet].add(code)
    counts: dict[Facet, dict[str, int]] = {}
    for facet in FACETS:
        others = [
            (other, taxonomy.expand(other, codes))
            for other, codes in filters.by_facet.items()
            if other != facet and codes
        ]
        candidates = [t for t in tags.values() if all(_has(t, o, c) for o, c in others)]
        counts[facet] = {
            term.code: sum(
                1 for t in candidates if _has(t, facet, taxonomy.expand(facet, [term.code]))
            )
            for term in taxonomy.terms(facet)
        }
    return counts


def _has(tags: dict[str, set[str]], facet: Facet, codes: frozenset[str]) -> bool:
    found = tags.get(facet, set())
    return bool(found & codes) or (facet in REGION_WIDE_WHEN_EMPTY and not found)
