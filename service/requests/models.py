from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base, UTCDateTime


class LinkRequest(Base):
    """Someone asked for an emailed link (to subscribe, to sign in): a row first.

    The answer to the asker is the same whether or not the address is known, and so is the
    work done before it: write this row. What differs (a new subscriber, a manage link, no
    email at all) happens afterwards, in ``service.requests.worker``, so that no one can tell
    addresses apart by how long the answer takes.
    """

    __tablename__ = "link_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    email: Mapped[str] = mapped_column(String(320))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
