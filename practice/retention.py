"""Retention on a schedule: what is kept about people, and for how long (docs/privacy.md).

- An unconfirmed sign-up is deleted ``UNCONFIRMED_FOR`` after its confirmation link was sent
  (the link stops working then too); so is a group invitation nobody accepted. A person left
  with nothing (no subscription, no group) goes with it; one who was subscribed before, or is
  in a group, keeps what they had.
- A person who unsubscribed is removed ``UNSUBSCRIBED_FOR`` after it, unless they are in a
  group again; so is one who never subscribed themselves, ``UNSUBSCRIBED_FOR`` after they
  left their last group (``left_group_at``; of the two, the later counts): their row,
  choices and sign-ins, and their address from the mail records and the discussions they
  recorded. Their acknowledgements stay, with nobody named and no answer, and so do the
  impact report's counts: the days their emails were sent are rolled up first
  (practice.impact.rollup), and only days already counted are touched.
- Delivery records are the board's evidence: kept with the address for
  LEARNHUB_EVIDENCE_YEARS (six by default), then anonymised (the address, the body and the
  reason a send failed go; which briefs went, when, and the subject stay), and the bounces
  and complaints recorded against them are deleted.
- Bodies go 30 days after sending, as every hour (service.mail.purge).

``run`` does all of it, a transaction a step (people a chunk at a time), and logs each count.
It is a daily job of ``learnhub serve`` and ``learnhub retention run``; any number of
instances may run it: a second run finds nothing left to do.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, and_, delete, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from practice.acknowledgements.models import Acknowledgement
from practice.discussions import service as discussions
from practice.impact import rollup
from practice.impact.queries import KINDS, rolled_through
from service.clock import Clock
from service.mail.carrying import ANNOUNCING
from service.mail.models import MailBounce, MailMessage, MailStatus
from service.mail.service import purge_bodies
from subscribers.groups.models import GroupMember
from subscribers.subscriptions import service as subscriptions
from subscribers.subscriptions.emails import ERASED
from subscribers.subscriptions.models import Subscriber, SubscriptionState
from subscribers.subscriptions.tokens import CONFIRM_FOR

logger = logging.getLogger(__name__)
EVERY = timedelta(days=1)
UNCONFIRMED_FOR = CONFIRM_FOR  # 7 days: the confirmation link works as long
UNSUBSCRIBED_FOR = timedelta(days=28)
CHUNK = 500  # people deleted in one transaction
WAITING = (MailStatus.pending.value, MailStatus.sending.value)


@dataclass
class Swept:
    """What one run deleted or anonymised, by rule."""

    signups_deleted: int = 0  # people who never confirmed, deleted
    signups_dropped: int = 0  # unconfirmed requests dropped, the person kept (in a group, …)
    invitations_deleted: int = 0
    unsubscribed_removed: int = 0
    records_anonymised: int = 0
    bounces_deleted: int = 0
    bodies_deleted: int = 0

    def said(self) -> str:
        return ", ".join(f"{name.replace('_', ' ')} {n}" for name, n in asdict(self).items())


def evidence_cutoff(now: datetime, years: int) -> datetime:
    """The moment ``years`` before ``now`` (29 February falls back to the 28th)."""
    try:
        return now.replace(year=now.year - years)
    except ValueError:
        return now.replace(year=now.year - years, day=28)


async def run(
    sessions: async_sessionmaker[AsyncSession], clock: Clock, *, evidence_years: int
) -> Swept:
    """Apply every rule once; returns (and logs) what each did."""
    swept = Swept()
    # Counted first: an address leaves a record only once the record's day is in the counts.
    await rollup.roll_up(sessions, clock)
    now = clock()
    async with sessions.begin() as session:
        swept.invitations_deleted = await _expire_invitations(session, now)
    while True:
        async with sessions.begin() as session:
            deleted, dropped = await _expire_signups(session, now)
        swept.signups_deleted += deleted
        swept.signups_dropped += dropped
        if deleted + dropped < CHUNK:
            break
    while True:
        async with sessions.begin() as session:
            removed = await _remove_unsubscribed(session, now)
        swept.unsubscribed_removed += removed
        if removed < CHUNK:
            break
    async with sessions.begin() as session:
        records, bounces = await _anonymise_records(session, evidence_cutoff(now, evidence_years))
        swept.records_anonymised, swept.bounces_deleted = records, bounces
    async with sessions.begin() as session:
        swept.bodies_deleted = await purge_bodies(session, now=now)
    logger.info("retention: %s", swept.said())
    return swept


async def _expire_invitations(session: AsyncSession, now: datetime) -> int:
    result = await session.execute(
        delete(GroupMember).where(
            GroupMember.confirmed_at.is_(None), GroupMember.invited_at < now - UNCONFIRMED_FOR
        )
    )
    return _count(result)


def _has_groups() -> Any:
    return exists().where(GroupMember.subscriber_id == Subscriber.id)


async def _expire_signups(session: AsyncSession, now: datetime) -> tuple[int, int]:
    """Pending sign-ups whose link has expired, and people left with nothing (their own
    subscription never asked for, no group: what is left of an invitation)."""
    asked = func.coalesce(Subscriber.last_link_sent_at, Subscriber.created_at)
    stale = await session.scalars(
        select(Subscriber)
        .where(
            or_(
                and_(
                    Subscriber.status == SubscriptionState.pending.value,
                    asked < now - UNCONFIRMED_FOR,
                ),
                and_(
                    Subscriber.status == SubscriptionState.none.value,
                    Subscriber.created_at < now - UNCONFIRMED_FOR,
                    ~_has_groups(),
                    # Never a member: a member who left was sent learning, and may have
                    # acknowledged it (kept: see _remove_unsubscribed).
                    ~select(MailMessage.id)
                    .where(
                        MailMessage.recipient == Subscriber.email,
                        MailMessage.kind.in_(ANNOUNCING),
                    )
                    .exists(),
                    ~select(Acknowledgement.id)
                    .where(Acknowledgement.subscriber_id == Subscriber.id)
                    .exists(),
                ),
            )
        )
        .order_by(Subscriber.id)
        .limit(CHUNK)
        .with_for_update(skip_locked=True)
    )
    deleted = dropped = 0
    for subscriber in stale:
        if subscriber.confirmed_at is None and not subscriber.memberships:
            await subscriptions.remove(session, subscriber, counter=subscriptions.EXPIRED)
            deleted += 1
        else:  # subscribed before, or in a group: only the request goes
            ended = subscriber.ended_at is not None
            state = SubscriptionState.ended if ended else SubscriptionState.none
            subscriber.status = state.value
            dropped += 1
    return deleted, dropped


async def _remove_unsubscribed(session: AsyncSession, now: datetime) -> int:
    """People in no group whose own subscription ended, or who never had one and left their
    last group, UNSUBSCRIBED_FOR ago (the later of the two, when both), whose emails' days
    are all in the impact report's counts."""
    through = await rolled_through(session)
    counted_until = datetime.combine(through + timedelta(days=1), time(), UTC) if through else None
    cutoff = now - UNSUBSCRIBED_FOR
    conditions = [
        or_(
            and_(
                Subscriber.status == SubscriptionState.ended.value,
                Subscriber.ended_at < cutoff,
            ),
            and_(
                Subscriber.status == SubscriptionState.none.value,
                Subscriber.left_group_at.is_not(None),
            ),
        ),
        or_(Subscriber.left_group_at.is_(None), Subscriber.left_group_at < cutoff),
        ~_has_groups(),
    ]
    # Emails sent on a day not yet counted would leave the counts as no one's: wait.
    later = select(MailMessage.id).where(
        MailMessage.recipient == Subscriber.email, MailMessage.status == MailStatus.sent.value
    )
    if counted_until is not None:
        later = later.where(MailMessage.sent_at >= counted_until)
    conditions.append(~later.exists())
    people = list(
        await session.scalars(
            select(Subscriber)
            .where(*conditions)
            .order_by(Subscriber.id)
            .limit(CHUNK)
            .with_for_update(skip_locked=True)
        )
    )
    for subscriber in people:
        # Their acknowledgements count in the impact report: kept, nameless, without answer.
        await session.execute(
            update(Acknowledgement)
            .where(Acknowledgement.subscriber_id == subscriber.id)
            .values(subscriber_id=None, answer=None)
        )
        await discussions.forget(session, subscriber.email)
        await subscriptions.remove(session, subscriber, counter=subscriptions.REMOVED)
    return len(people)


async def _anonymise_records(session: AsyncSession, cutoff: datetime) -> tuple[int, int]:
    """Delivery records older than ``cutoff`` lose their address, on days already counted."""
    through = await rolled_through(session)
    counted_until = datetime.combine(through + timedelta(days=1), time(), UTC) if through else None
    ended = [
        and_(MailMessage.sent_at.is_(None), MailMessage.created_at < cutoff),
        # What the impact report does not count (confirmations, notices) waits for nothing.
        and_(MailMessage.kind.not_in(KINDS), MailMessage.sent_at < cutoff),
    ]
    if counted_until is not None:
        ended.append(MailMessage.sent_at < min(cutoff, counted_until))
    old = [MailMessage.recipient != ERASED, or_(*ended)]
    bounces = await session.execute(
        delete(MailBounce).where(
            or_(
                MailBounce.received_at < cutoff,
                MailBounce.message_id.in_(select(MailMessage.id).where(*old)),
            )
        )
    )
    records = await session.execute(
        update(MailMessage)
        .where(*old, MailMessage.status.not_in(WAITING))
        .values(recipient=ERASED, body=None, last_error=None)
        .execution_options(synchronize_session=False)
    )
    return _count(records), _count(bounces)


def _count(result: Any) -> int:
    return int(cast(CursorResult[Any], result).rowcount or 0)
