from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, LargeBinary, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base, UTCDateTime


class BriefDocument(Base):
    """The review a brief was imported from: the original file, kept in the database so
    that every instance can serve it, its repaired text, and what was guessed from it."""

    __tablename__ = "brief_documents"

    brief_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("briefs.id", ondelete="CASCADE"), primary_key=True
    )
    filename: Mapped[str] = mapped_column(String(255))
    media_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    pages: Mapped[int | None] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    # Read only to download it: a listing or the editor never loads the file or the text.
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    text: Mapped[str] = mapped_column(Text, deferred=True)
    # {"review" | "board" | "published": {"value", "found_in"} | null, "points_from",
    #  "sections"}: shown beside the fields in the editor, for the publisher to confirm.
    guesses: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Whether the brief's page offers the file ("Full review, PDF, 1.2 MB").
    offered: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[int] = mapped_column(ForeignKey("staff_members.id"))
