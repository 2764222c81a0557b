"""What the audit log records beyond a brief's history: staff changes, groups, exports,
suspensions lifted, partners' webhook endpoints.

A brief's edits and lifecycle moves are already rows of ``brief_history`` (service.briefs);
the log reads both tables (``service.audit.queries``) rather than copying one into the other.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base, UTCDateTime


class Action(StrEnum):
    staff_added = "staff_added"
    staff_removed = "staff_removed"
    staff_role_changed = "staff_role_changed"
    group_created = "group_created"
    group_changed = "group_changed"
    members_invited = "members_invited"
    member_removed = "member_removed"
    feed_link_issued = "feed_link_issued"
    feed_link_revoked = "feed_link_revoked"
    exported = "exported"
    suspension_lifted = "suspension_lifted"
    webhook_registered = "webhook_registered"
    webhook_enabled = "webhook_enabled"
    webhook_deleted = "webhook_deleted"


class AuditEvent(Base):
    """One thing a member of staff did, other than to a brief."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    # Staff are never deleted, only marked removed, so the log always names who it was.
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_members.id"), index=True)
    action: Mapped[str] = mapped_column(String(32))
    # What it was done to, as it was called then: an address, a group's name, an export.
    subject: Mapped[str] = mapped_column(String(320))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
