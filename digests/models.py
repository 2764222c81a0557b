"""Digest runs as rows: unique per (frequency, period end), one row per person per run."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base, UTCDateTime


class RunStatus(StrEnum):
    running = "running"
    done = "done"


class DigestRun(Base):
    """One scheduled digest. Inserting it twice does nothing; finishing it twice neither."""

    __tablename__ = "digest_runs"
    __table_args__ = (UniqueConstraint("frequency", "period_end"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    frequency: Mapped[str] = mapped_column(String(16))
    # The cutoff: briefs up to this instant belong to this run.
    period_end: Mapped[datetime] = mapped_column(UTCDateTime)
    # Where the window of this run starts for everyone subscribed before it (the previous
    # finished run's cutoff); a missed run is covered by the next, whose window is longer.
    period_start: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default=RunStatus.running.value)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent: Mapped[int] = mapped_column(Integer, default=0)


class DigestRecipient(Base):
    """A person's digest of one run, written with the email in one transaction."""

    __tablename__ = "digest_recipients"

    run_id: Mapped[int] = mapped_column(
        ForeignKey("digest_runs.id", ondelete="CASCADE"), primary_key=True
    )
    subscriber_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    briefs: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
