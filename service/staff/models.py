from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base, UTCDateTime


class Role(StrEnum):
    publisher = "publisher"
    admin = "admin"


class StaffMember(Base):
    """A PPU member of staff; only a hash of their API token is kept."""

    __tablename__ = "staff_members"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    def can(self, role: Role) -> bool:
        """Admins may do everything a publisher may."""
        return self.role == Role.admin or self.role == role
