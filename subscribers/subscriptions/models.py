"""People who receive learning, and what they asked for."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service.db import Base, UTCDateTime

if TYPE_CHECKING:
    from subscribers.groups.models import GroupMember


class Frequency(StrEnum):
    immediate = "immediate"
    daily = "daily"
    weekly = "weekly"


class SubscriptionState(StrEnum):
    """The state of a person's own subscription (a group member may have none)."""

    none = "none"
    pending = "pending"
    active = "active"
    ended = "ended"


class Subscriber(Base):
    """One person, by email address; their own subscription lives on the same row."""

    __tablename__ = "subscribers"
    __table_args__ = (Index("ix_subscribers_matching", "frequency", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    domain: Mapped[str] = mapped_column(String(255), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The address is confirmed once its owner follows a confirmation link.
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default=SubscriptionState.none.value)
    frequency: Mapped[str] = mapped_column(String(16), default=Frequency.weekly.value)
    paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    consent_version: Mapped[str | None] = mapped_column(String(32))
    consented_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When they last left a group: with no subscription of their own and no group left,
    # retention counts from it as from ended_at (practice.retention).
    left_group_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Raising it revokes every link sent so far.
    token_version: Mapped[int] = mapped_column(Integer, default=1)
    # At most one confirmation or manage-link email per address per ten minutes.
    last_link_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The filter again, one bit a code (see CodeBit), for matching: 0 is an empty facet.
    # Written with the codes by subscribers.service.set_filters and nowhere else.
    themes_mask: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    agencies_mask: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    boroughs_mask: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    # Who the person is, if they said (all optional): an agency and a borough code, and a role
    # from ROLES. Reports count deliveries by them; only staff ever see one person's answers.
    my_agency: Mapped[str | None] = mapped_column(String(64))
    my_borough: Mapped[str | None] = mapped_column(String(64))
    my_role: Mapped[str | None] = mapped_column(String(32))

    codes: Mapped[list[SubscriptionCode]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="SubscriptionCode.code"
    )
    memberships: Mapped[list[GroupMember]] = relationship(
        back_populates="subscriber", cascade="all, delete-orphan", lazy="selectin"
    )

    def filters(self, facet: str) -> list[str]:
        return [c.code for c in self.codes if c.facet == facet]


# The roles a person may say they have: a small fixed list, so no one writes their name in it.
ROLES = {
    "practitioner": "Practitioner",
    "manager": "Manager or supervisor",
    "safeguarding-lead": "Safeguarding lead or named professional",
    "learning-and-development": "Learning and development",
    "other": "Other",
}


class DomainAgency(Base):
    """An email domain's agency and borough, set by an admin: a delivery to someone who did
    not say theirs is counted by their address's domain (``merseyside.police.uk`` -> police)."""

    __tablename__ = "domain_agencies"

    domain: Mapped[str] = mapped_column(String(255), primary_key=True)
    agency: Mapped[str | None] = mapped_column(String(64))
    borough: Mapped[str | None] = mapped_column(String(64))


class SubscriptionCode(Base):
    """One code of a subscriber's filter: the record of what they chose (an empty facet has
    no rows). Matching reads the masks on Subscriber instead."""

    __tablename__ = "subscription_codes"
    __table_args__ = (Index("ix_subscription_codes_match", "facet", "code", "subscriber_id"),)

    subscriber_id: Mapped[int] = mapped_column(
        ForeignKey("subscribers.id", ondelete="CASCADE"), primary_key=True
    )
    facet: Mapped[str] = mapped_column(String(16), primary_key=True)
    code: Mapped[str] = mapped_column(String(64), primary_key=True)


class CodeBit(Base):
    """The bit that stands for a code in subscribers' masks, given when the code is first
    chosen and never changed or reused, so the taxonomy file can grow and be reordered."""

    __tablename__ = "code_bits"
    __table_args__ = (Index("uq_code_bits_facet_bit", "facet", "bit", unique=True),)

    facet: Mapped[str] = mapped_column(String(16), primary_key=True)
    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    bit: Mapped[int] = mapped_column(Integer)


class Counter(Base):
    """Anonymous counts that outlive the people they count (erasures, for example)."""

    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)


# Subscriber.memberships names GroupMember: wherever Subscriber is mapped, so is it.
from subscribers.groups import models as _groups  # noqa: E402, F401
