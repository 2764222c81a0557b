"""The impact report's roll-up: the emails delivered each day, counted once a day is over.

Counting two million messages, each joined to its recipient, takes seconds; these rows hold
the same figures a day at a time (practice.impact.rollup writes them), so a year's report
reads a few thousand rows. They name nobody: a day, a kind of email, the agency and borough
the recipients stated, and their email domain only where a statement is missing (the report
fills the gap from the admins' current map of domains, as it does for days not yet rolled
up).
"""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import Date, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base


class DailyEmails(Base):
    """Alerts or digests sent on ``day`` (UTC) to people described alike. An empty
    ``agency`` or ``borough`` is one the person did not state; ``domain`` is empty where they
    stated both, or where no subscriber matched the address (it was erased)."""

    __tablename__ = "impact_daily_emails"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    kind: Mapped[str] = mapped_column(String(64), primary_key=True)
    agency: Mapped[str] = mapped_column(String(64), primary_key=True)
    borough: Mapped[str] = mapped_column(String(64), primary_key=True)
    domain: Mapped[str] = mapped_column(String(255), primary_key=True)
    count: Mapped[int] = mapped_column(Integer)


class DailyCarried(Base):
    """How many alerts and digests sent on ``day`` (UTC) carried the brief."""

    __tablename__ = "impact_daily_carried"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    brief_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    count: Mapped[int] = mapped_column(Integer)


class RolledUp(Base):
    """How far the roll-up has gone: every day up to ``through`` is in the tables above.
    One row, ``name`` "emails"."""

    __tablename__ = "impact_rolled_up"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    through: Mapped[date] = mapped_column(Date)
