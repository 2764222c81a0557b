"""Practitioners' emailed sign-in links and the reading sessions they open.

Only SHA-256 hashes of link and session tokens are kept, so a copy of the database opens
nothing. A session names the address it was opened for, not a subscriber: any address in
the practitioner domains may read, subscribed or not, and the domain is checked again at
every request.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base, UTCDateTime


class PractitionerSignInLink(Base):
    """A one-time link emailed to a work address; ``next`` is the page to return to."""

    __tablename__ = "practitioner_sign_in_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str] = mapped_column(String(320))
    next_path: Mapped[str] = mapped_column(String(500), default="/")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PractitionerSession(Base):
    """A signed-in browser of a practitioner: the cookie holds the token, the table its hash."""

    __tablename__ = "practitioner_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str] = mapped_column(String(320), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
