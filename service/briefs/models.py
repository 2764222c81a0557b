from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service.db import Base, UTCDateTime


class Status(StrEnum):
    draft = "draft"
    published = "published"
    withdrawn = "withdrawn"


class Audience(StrEnum):
    public = "public"
    practitioners = "practitioners"


class TagSource(StrEnum):
    auto = "auto"
    publisher = "publisher"


class Brief(Base):
    """A learning brief: a review's summary, its learning points and its source."""

    __tablename__ = "briefs"
    __table_args__ = (Index("ix_briefs_listing", "status", "audience", "published_at", "id"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    title: Mapped[str] = mapped_column(String(300))
    summary: Mapped[str] = mapped_column(Text)
    summary_html: Mapped[str] = mapped_column(Text)
    learning_points: Mapped[list[str]] = mapped_column(JSON)
    source_review: Mapped[str] = mapped_column(String(300))
    source_board: Mapped[str] = mapped_column(String(300))
    source_published_on: Mapped[date | None] = mapped_column(Date)
    source_url: Mapped[str | None] = mapped_column(String(2000))
    audience: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    revision: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When subscribers were last told: first publication or the latest significant update.
    notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The reason given to readers and in the withdrawal notice; the history note stays internal.
    withdrawn_reason: Mapped[str | None] = mapped_column(Text)
    # How many times the brief has been published: a publication after a withdrawal is news
    # again, so idempotency keys and "already sent" name it beside the revision.
    publication: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Urgent learning goes at once to everyone it matches, digest subscribers too, with the
    # reason saying why it cannot wait (subscribers.alerts).
    urgent: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    urgent_reason: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[int] = mapped_column(ForeignKey("staff_members.id"))
    # Facets whose codes the publisher chose: re-tagging after an edit leaves them alone.
    publisher_facets: Mapped[list[str]] = mapped_column(JSON, default=list)
    # The 7-minute briefing's shape (docs/briefings.md): all optional; summary and learning
    # points serve as "what happened" and "key points".
    background: Mapped[str | None] = mapped_column(Text)
    why_it_matters: Mapped[str | None] = mapped_column(Text)
    actions: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    questions: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    # Each {"title", "url"}, the URL http(s).
    resources: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list, server_default="[]")
    # What the tagger found and did not suggest ("also mentioned"), each {"facet", "code",
    # "weight", "evidence"}: shown beside the brief's tags, applied to nothing.
    also_mentioned: Mapped[list[dict[str, Any]]] = mapped_column(
        JSON, default=list, server_default="[]"
    )

    tags: Mapped[list[BriefTag]] = relationship(
        back_populates="brief",
        cascade="all, delete-orphan",
        lazy="selectin",
        order_by="BriefTag.code",
    )

    def codes(self, facet: str) -> list[str]:
        return sorted(tag.code for tag in self.tags if tag.facet == facet)


class BriefTag(Base):
    """One theme, agency or borough of a brief, with where it came from and why."""

    __tablename__ = "brief_tags"
    __table_args__ = (Index("ix_brief_tags_lookup", "facet", "code", "brief_id"),)

    brief_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("briefs.id", ondelete="CASCADE"), primary_key=True
    )
    facet: Mapped[str] = mapped_column(String(16), primary_key=True)
    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    source: Mapped[str] = mapped_column(String(16))
    evidence: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # The tagger's weight for the code and whether it suggested it (docs/tagging.md): for a
    # publisher's code the tagger did not find, 0 and false. Null on tags stored before
    # weights existed (migration 0016), until the brief is next edited.
    weight: Mapped[float | None] = mapped_column(Float)
    suggested: Mapped[bool | None] = mapped_column(Boolean)

    brief: Mapped[Brief] = relationship(back_populates="tags")


class TagCorrection(Base):
    """Where a publisher's codes differ from the tagger's suggestions for a brief.

    One row per brief, facet and code, kept as long as the publisher's choice for the facet
    disagrees with the tagger on that code: "added" (the publisher chose it, the tagger did not
    suggest it) or "removed" (the tagger suggested it, the publisher left it out). The
    evidence is what the tagger found for the code; the text is what it read.
    """

    __tablename__ = "tag_corrections"
    __table_args__ = (
        UniqueConstraint("brief_id", "facet", "code"),
        Index("ix_tag_corrections_code", "facet", "code"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    brief_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("briefs.id", ondelete="CASCADE"))
    facet: Mapped[str] = mapped_column(String(16))
    code: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(8))
    tagger_weight: Mapped[float | None] = mapped_column(Float)
    evidence: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    text: Mapped[str] = mapped_column(Text)
    revision: Mapped[int] = mapped_column(Integer)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_members.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)


class BriefHistory(Base):
    """Who did what to a brief and when: every edit (a revision) and every lifecycle move."""

    __tablename__ = "brief_history"

    id: Mapped[int] = mapped_column(primary_key=True)
    brief_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("briefs.id", ondelete="CASCADE"), index=True
    )
    revision: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(16))
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_members.id"))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    change_note: Mapped[str | None] = mapped_column(Text)
    significant: Mapped[bool] = mapped_column(Boolean, default=False)
