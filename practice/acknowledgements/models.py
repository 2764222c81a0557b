"""Acknowledgements: a person's "I've read this" of a brief, with what they will change.

One per person and brief (a second acknowledgement updates the answer). It keeps the title
the person was sent, as mail keeps it: the manage page lists an acknowledgement of a brief
withdrawn or retitled since by what the person read. Erasing the person deletes it (the
foreign key cascades); retention, removing a person who unsubscribed long ago, keeps it for
the impact report's counts with nobody named and no answer (``subscriber_id`` null).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base, UTCDateTime

MAX_ANSWER = 2000


class Acknowledgement(Base):
    __tablename__ = "acknowledgements"
    __table_args__ = (UniqueConstraint("subscriber_id", "brief_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    subscriber_id: Mapped[int | None] = mapped_column(
        ForeignKey("subscribers.id", ondelete="CASCADE"), index=True
    )
    brief_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("briefs.id"), index=True)
    brief_title: Mapped[str] = mapped_column(String(300))
    # "How will this change your practice?": optional, at most MAX_ANSWER characters.
    answer: Mapped[str | None] = mapped_column(Text)
    acknowledged_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
