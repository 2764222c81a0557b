"""Rolling up the emails delivered, a day at a time, for the impact report.

A day is rolled up once a whole day has passed since it ended (``DELAY``): by then every
message sent on it has been recorded, even after a long database outage (a worker records
what it sent as soon as the database is back, under the message's lease). Each day is one
transaction that counts the day's sent alerts and digests from the records, writes the
counts, and moves the mark (``RolledUp``) on: a crash leaves nothing half-counted, and a
second instance waits for the first (PostgreSQL: a transaction-scoped advisory lock) and
then finds the day done. The first run counts every day since the first email, one by one.

The counts describe each recipient as they were when the day was rolled up: their own
agency and borough, else (at report time) their domain's. Erasing a person later does not
change a day already counted: the counts name nobody.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from practice.impact.models import DailyCarried, DailyEmails, RolledUp
from practice.impact.queries import sent_between
from service.clock import Clock
from service.mail.models import MailDelivery, MailMessage
from subscribers.subscriptions.models import Subscriber

logger = logging.getLogger(__name__)
EVERY = timedelta(hours=1)
DELAY = timedelta(days=1)
NAME = "emails"
_LOCK = 0x1EA2_0B1D  # pg_advisory_xact_lock's key: this roll-up, one at a time


def last_day(now: datetime) -> date:
    """The last day that may be rolled up at ``now``: it ended at least ``DELAY`` ago."""
    return (now - DELAY).date() - timedelta(days=1)


async def roll_up(
    sessions: async_sessionmaker[AsyncSession], clock: Clock, *, through: date | None = None
) -> int:
    """Roll up each day not yet rolled up, to ``through`` (default: ``last_day``), one
    transaction a day; returns how many days were rolled up."""
    last = through if through is not None else last_day(clock())
    days, rolled_to = 0, None
    while True:
        async with sessions.begin() as session:
            if session.get_bind().dialect.name == "postgresql":
                await session.execute(select(func.pg_advisory_xact_lock(_LOCK)))
            rolled = await session.scalar(select(RolledUp.through).where(RolledUp.name == NAME))
            day = rolled + timedelta(days=1) if rolled else await _first_day(session)
            if day is None or day > last:
                break
            await _count(session, day)
            if rolled is None:
                session.add(RolledUp(name=NAME, through=day))
            else:
                await session.execute(
                    update(RolledUp).where(RolledUp.name == NAME).values(through=day)
                )
        days, rolled_to = days + 1, day
    if days:
        logger.info("impact: rolled up the emails of %d days, to %s", days, rolled_to)
    return days


async def _first_day(session: AsyncSession) -> date | None:
    first = await session.scalar(
        select(func.min(MailMessage.sent_at)).where(sent_between(None, None))
    )
    return first.date() if first else None


async def _count(session: AsyncSession, day: date) -> None:
    since = datetime.combine(day, time(), UTC)
    sent = sent_between(since, since + timedelta(days=1))
    rows = await session.execute(
        select(
            MailMessage.kind,
            Subscriber.my_agency,
            Subscriber.my_borough,
            Subscriber.domain,
            func.count(),
        )
        .select_from(MailMessage)
        .outerjoin(Subscriber, Subscriber.email == MailMessage.recipient)
        .where(sent)
        .group_by(MailMessage.kind, Subscriber.my_agency, Subscriber.my_borough, Subscriber.domain)
    )
    emails: Counter[tuple[str, str, str, str]] = Counter()
    for kind, agency, borough, domain, count in rows:
        # The domain matters only for what the person left unsaid.
        where = "" if agency and borough else (domain or "")
        emails[(kind, agency or "", borough or "", where)] += count
    carried = await session.execute(
        select(MailDelivery.brief_id, func.count())
        .join(MailMessage, MailMessage.id == MailDelivery.message_id)
        .where(sent)
        .group_by(MailDelivery.brief_id)
    )
    # Nothing should be there (the day is past the mark), but a day is only ever counted whole.
    await session.execute(delete(DailyEmails).where(DailyEmails.day == day))
    await session.execute(delete(DailyCarried).where(DailyCarried.day == day))
    if emails:
        await session.execute(
            insert(DailyEmails),
            [
                {"day": day, "kind": k, "agency": a, "borough": b, "domain": d, "count": n}
                for (k, a, b, d), n in sorted(emails.items())
            ],
        )
    rows_carried = [{"day": day, "brief_id": b, "count": n} for b, n in carried]
    if rows_carried:
        await session.execute(insert(DailyCarried), rows_carried)
