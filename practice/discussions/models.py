"""Team discussions of a brief, and the actions a team agreed.

A record is never public: it is read back only by its recorder, through the link emailed to
them (only the SHA-256 of its token is kept), and later by staff in the impact report. It
keeps the title the recorder saw, as mail keeps the title a person was sent.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Date, ForeignKey, Integer, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service.db import Base, UTCDateTime


class Recorder(StrEnum):
    practitioner = "practitioner"  # signed in with a practitioner session
    subscriber = "subscriber"  # through the signed link in an email
    staff = "staff"  # in the staff console


class ActionStatus(StrEnum):
    open = "open"
    done = "done"
    dropped = "dropped"


class TeamDiscussion(Base):
    __tablename__ = "team_discussions"

    id: Mapped[int] = mapped_column(primary_key=True)
    brief_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("briefs.id", ondelete="CASCADE"), index=True
    )
    brief_title: Mapped[str] = mapped_column(String(300))
    held_on: Mapped[date] = mapped_column(Date)
    team: Mapped[str] = mapped_column(String(200))
    agency: Mapped[str] = mapped_column(String(64))
    borough: Mapped[str] = mapped_column(String(64))
    practitioners: Mapped[int] = mapped_column(Integer)
    reflections: Mapped[str] = mapped_column(Text)
    recorder: Mapped[str] = mapped_column(String(16))
    recorder_email: Mapped[str] = mapped_column(String(320), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    actions: Mapped[list[DiscussionAction]] = relationship(
        back_populates="discussion",
        cascade="all, delete-orphan",
        order_by="DiscussionAction.position",
        lazy="selectin",
    )


class DiscussionAction(Base):
    __tablename__ = "discussion_actions"
    __table_args__ = (UniqueConstraint("discussion_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    discussion_id: Mapped[int] = mapped_column(
        ForeignKey("team_discussions.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    what: Mapped[str] = mapped_column(String(500))
    owner_role: Mapped[str] = mapped_column(String(200))
    due_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default=ActionStatus.open.value)
    status_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    discussion: Mapped[TeamDiscussion] = relationship(back_populates="actions")
