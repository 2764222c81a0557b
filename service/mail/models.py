"""The mail queue, who was sent which brief, and recipients that keep bouncing."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base, UTCDateTime


class MailStatus(StrEnum):
    pending = "pending"
    sending = "sending"
    sent = "sent"
    failed = "failed"
    # Never sent, on purpose: what it carried was withdrawn, or may no longer reach its reader.
    cancelled = "cancelled"


class MailMessage(Base):
    """One email to one recipient, fully rendered when it was queued.

    The unique ``idempotency_key`` is what makes a rerun, or a second instance doing the same
    work, harmless: the second INSERT of a key does nothing. ``body`` is dropped by retention
    once the message has been sent for a while; the row and its deliveries stay as evidence.
    """

    __tablename__ = "mail_messages"
    __table_args__ = (
        Index("ix_mail_messages_claimable", "status", "next_attempt_at"),
        # What was sent in a period: the impact report's last days, and its roll-up.
        Index("ix_mail_messages_sent_at", "sent_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(255), unique=True)
    kind: Mapped[str] = mapped_column(String(64))
    recipient: Mapped[str] = mapped_column(String(320), index=True)
    subject: Mapped[str] = mapped_column(String(998))
    body: Mapped[bytes | None] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(16), default=MailStatus.pending.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    leased_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class MailDelivery(Base):
    """A brief (at a publication and revision) carried by a message: kept after the body is
    gone. ``title`` is the title the message gave it: a later notice about the brief names
    what the person was sent, never what the brief has become since."""

    __tablename__ = "mail_deliveries"

    message_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"),
        ForeignKey("mail_messages.id", ondelete="CASCADE"),
        primary_key=True,
    )
    brief_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, index=True)
    revision: Mapped[int] = mapped_column(Integer)
    publication: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    title: Mapped[str] = mapped_column(String(300), default="", server_default="")


class MailSuppression(Base):
    """Permanent failures in a row for an address; at the limit it is suspended.

    An administrator may lift a suspension (``lifted_at``): what failed before it no longer
    counts towards the next one.
    """

    __tablename__ = "mail_suppressions"

    email: Mapped[str] = mapped_column(String(320), primary_key=True)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    suspended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    lifted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class MailBounce(Base):
    """A failure reported for a recipient: a bounce or complaint that came back after the
    relay accepted the message (service.mail.reports), or the relay's own 5xx refusal.

    ``report`` names what said so (the bounce's Message-ID, a digest of its bytes, or
    ``smtp:<message id>``): with ``email`` it is unique, so reading a report twice counts it
    once. ``kind`` is hard, soft or complaint.
    """

    __tablename__ = "mail_bounces"
    __table_args__ = (
        UniqueConstraint("report", "email", name="uq_mail_bounces_report_email"),
        Index("ix_mail_bounces_email_kind", "email", "kind"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    report: Mapped[str] = mapped_column(String(255))
    message_id: Mapped[int | None] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"),
        ForeignKey("mail_messages.id", ondelete="SET NULL"),
        index=True,
    )
    email: Mapped[str] = mapped_column(String(320))
    kind: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text, default="")
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
