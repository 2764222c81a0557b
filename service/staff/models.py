from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service.db import Base, UTCDateTime


class Role(StrEnum):
    publisher = "publisher"
    admin = "admin"


ROLE_LABELS = {Role.publisher.value: "Publisher", Role.admin.value: "Administrator"}
# Accounts the service acts as (the command line): no person behind them, no token anyone has.
SYSTEM_DOMAIN = "learnhub.invalid"


class StaffMember(Base):
    """A PPU member of staff; only a hash of their API token is kept."""

    __tablename__ = "staff_members"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Removed staff keep their row, so that the history and the audit log still name them;
    # they can't sign in, their sessions are ended and their API token opens nothing.
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def role_label(self) -> str:
        return ROLE_LABELS.get(self.role, self.role)

    @property
    def system(self) -> bool:
        return self.email.endswith("@" + SYSTEM_DOMAIN)

    def can(self, role: Role) -> bool:
        """Admins may do everything a publisher may."""
        return self.role == Role.admin or self.role == role


class StaffSignInLink(Base):
    """A one-time sign-in link emailed to a member of staff; only its hash is kept."""

    __tablename__ = "staff_sign_in_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    staff_id: Mapped[int] = mapped_column(
        ForeignKey("staff_members.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class StaffSession(Base):
    """A signed-in browser: the cookie holds the token, the table only its hash."""

    __tablename__ = "staff_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    staff_id: Mapped[int] = mapped_column(
        ForeignKey("staff_members.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)

    staff: Mapped[StaffMember] = relationship(lazy="joined")
