"""Partners' endpoints, and one row per event to deliver to each."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base, UTCDateTime

MAX_URL = 2000  # as a brief's source URL


class EndpointStatus(StrEnum):
    active = "active"
    # After three days of failing, or a 410 Gone: nothing is sent until an admin enables it.
    disabled = "disabled"


class DeliveryStatus(StrEnum):
    pending = "pending"  # due at next_attempt_at
    sending = "sending"  # claimed by a worker, under leased_until
    delivered = "delivered"  # answered 2xx
    failed = "failed"  # gave up: out of attempts, or the endpoint was disabled
    # Never sent, on purpose: the brief was withdrawn, or narrowed to practitioners and the
    # endpoint is not trusted with them, before the delivery went.
    cancelled = "cancelled"


class WebhookEndpoint(Base):
    """A partner's URL, the events and briefs it wants, and the secret its deliveries are
    signed with (kept, since every delivery is signed with it; shown once, at creation)."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(MAX_URL))
    description: Mapped[str] = mapped_column(String(200), default="")
    event_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    themes: Mapped[list[str]] = mapped_column(JSON, default=list)
    agencies: Mapped[list[str]] = mapped_column(JSON, default=list)
    boroughs: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Trusted with restricted briefs (audience practitioners); others never hear of them.
    practitioner_trusted: Mapped[bool] = mapped_column(Boolean, default=False)
    secret: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(16), default=EndpointStatus.active.value)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[int] = mapped_column(ForeignKey("staff_members.id"))
    # The first failed attempt since the last delivered one: three days on, it is disabled.
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    disabled_reason: Mapped[str | None] = mapped_column(Text)


class WebhookDelivery(Base):
    """One event for one endpoint: the body is made once, and every attempt sends it as it
    is, under the same ``message_id`` (the ``webhook-id`` header), signed anew each time.

    The unique (endpoint, event) makes a rerun of the fan-out harmless; ``leased_until``
    is the claim of the worker sending it (decisions 0002 and 0010, as for mail).
    """

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("endpoint_id", "event_id"),
        Index("ix_webhook_deliveries_claimable", "status", "next_attempt_at"),
        # An endpoint's deliveries, newest first (the API's list).
        Index("ix_webhook_deliveries_endpoint", "endpoint_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoints.id", ondelete="CASCADE"))
    event_id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    message_id: Mapped[str] = mapped_column(String(64), unique=True)
    type: Mapped[str] = mapped_column(String(32))
    brief_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=DeliveryStatus.pending.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    leased_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    response_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
