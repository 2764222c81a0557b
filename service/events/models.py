from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Index, Integer, String, Text, Uuid, text
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base, UTCDateTime


class EventType(StrEnum):
    published = "brief.published"
    updated = "brief.updated"
    withdrawn = "brief.withdrawn"
    # A minor edit of a published brief: nobody is emailed, but feeds and pages change.
    edited = "brief.edited"


class EventStatus(StrEnum):
    pending = "pending"
    done = "done"
    failed = "failed"


class Event(Base):
    """An outbox row, written in the transaction that made the change it describes.

    Dispatchers (any number, in any process) claim pending rows whose ``available_at`` has
    come and whose lease has run out, with SKIP LOCKED on PostgreSQL; handlers record what
    they have done in ``handled`` so that a retry after a partial failure repeats nothing.
    """

    __tablename__ = "events"
    __table_args__ = (
        Index(
            "ix_events_claimable",
            "available_at",
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    type: Mapped[str] = mapped_column(String(32))
    brief_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    revision: Mapped[int] = mapped_column(Integer)
    # Whether the change concerns what the public may see: the brief was public before it
    # or after it. Public feeds date themselves from these events only, so a restricted
    # brief's events never move a public feed's date or ETag.
    public: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default=EventStatus.pending.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    available_at: Mapped[datetime] = mapped_column(UTCDateTime)
    leased_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    handled: Mapped[list[str]] = mapped_column(JSON, default=list)
    last_error: Mapped[str | None] = mapped_column(Text)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
