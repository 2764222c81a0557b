"""The impact report's counts, each one aggregate query over the records themselves.

Periods are whole UTC days, ``start`` to ``end`` inclusive: the queries take the half-open
range [start 00:00, end + 1 day 00:00) for timestamps, and [start, end] for dates. Nothing
here reads one person's answers: only counts leave the database.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from practice.acknowledgements.models import Acknowledgement
from practice.discussions.models import ActionStatus, DiscussionAction, TeamDiscussion
from practice.impact.models import DailyCarried, DailyEmails, RolledUp
from service.briefs.models import Brief, BriefTag
from service.mail.models import MailDelivery, MailMessage, MailStatus
from subscribers.subscriptions.models import DomainAgency, Subscriber

UNKNOWN = "unknown"
# The emails that carry learning to people: an alert (one brief) and a digest (several).
KINDS = ("alert", "digest")


@dataclass(frozen=True)
class Span:
    """[since, until) in time, and the same days as dates [first, last]."""

    since: datetime
    until: datetime
    first: date
    last: date


def month_of(session: AsyncSession, column: Any, *, timestamp: bool) -> ColumnElement[str]:
    """The column's "YYYY-MM", in UTC, in the database's own dialect."""
    if session.get_bind().dialect.name == "sqlite":
        return func.strftime("%Y-%m", column)  # naive UTC text, or a date
    if timestamp:
        column = func.timezone("UTC", column)
    return func.to_char(column, "YYYY-MM")


def sent_between(since: datetime | None, until: datetime | None) -> ColumnElement[bool]:
    """Alerts and digests sent in [since, until) (either end open when None)."""
    conditions = [MailMessage.kind.in_(KINDS), MailMessage.status == MailStatus.sent.value]
    if since is not None:
        conditions.append(MailMessage.sent_at >= since)
    if until is not None:
        conditions.append(MailMessage.sent_at < until)
    return and_(*conditions)


def split(span: Span, through: date | None) -> tuple[Span | None, Span | None]:
    """The period's days rolled up (to ``through``), and the days after them: either may be
    None."""
    if through is None or through < span.first:
        return None, span
    if through >= span.last:
        return span, None
    after = through + timedelta(days=1)
    boundary = datetime.combine(after, time(), UTC)
    return Span(span.since, boundary, span.first, through), Span(
        boundary, span.until, after, span.last
    )


async def rolled_through(session: AsyncSession) -> date | None:
    """The last day in practice.impact.rollup's counts, if any."""
    return await session.scalar(select(RolledUp.through).where(RolledUp.name == "emails"))


@dataclass
class Emails:
    """Emails delivered (distinct messages), by kind, month, agency and borough."""

    by_kind: Counter[str] = field(default_factory=Counter)
    by_month: Counter[str] = field(default_factory=Counter)
    by_agency: Counter[str] = field(default_factory=Counter)
    by_borough: Counter[str] = field(default_factory=Counter)

    def add(self, kind: str, month: str, agency: str, borough: str, count: int) -> None:
        self.by_kind[kind] += count
        self.by_month[month] += count
        self.by_agency[agency] += count
        self.by_borough[borough] += count


async def rolled_emails(session: AsyncSession, span: Span, into: Emails) -> None:
    """The rolled-up days' emails, what a person left unsaid filled in from their domain's
    current mapping, as ``emails`` does."""
    d = DailyEmails
    agency = func.coalesce(func.nullif(d.agency, ""), DomainAgency.agency, literal(UNKNOWN))
    borough = func.coalesce(func.nullif(d.borough, ""), DomainAgency.borough, literal(UNKNOWN))
    month = month_of(session, d.day, timestamp=False)
    rows = await session.execute(
        select(d.kind, month, agency, borough, func.sum(d.count))
        .select_from(d)
        .outerjoin(DomainAgency, DomainAgency.domain == d.domain)
        .where(d.day >= span.first, d.day <= span.last)
        .group_by(d.kind, month, agency, borough)
    )
    for kind, in_month, by_agency, by_borough, count in rows:
        into.add(kind, in_month, by_agency, by_borough, int(count))


async def rolled_carried(session: AsyncSession, span: Span, into: Counter[uuid.UUID]) -> None:
    """How many of the rolled-up days' alerts and digests carried each brief."""
    d = DailyCarried
    rows = await session.execute(
        select(d.brief_id, func.sum(d.count))
        .where(d.day >= span.first, d.day <= span.last)
        .group_by(d.brief_id)
    )
    for brief_id, count in rows:
        into[brief_id] += int(count)


async def emails(session: AsyncSession, span: Span, into: Emails) -> None:
    """Each sent alert or digest in the period, counted under its recipient's agency and
    borough as they stated them, else as their domain is mapped, else unknown. An erased
    person's messages name no one any more (service.mail: ``erased@learnhub.invalid``): no
    subscriber matches them, and they count as unknown."""
    agency = func.coalesce(Subscriber.my_agency, DomainAgency.agency, literal(UNKNOWN))
    borough = func.coalesce(Subscriber.my_borough, DomainAgency.borough, literal(UNKNOWN))
    month = month_of(session, MailMessage.sent_at, timestamp=True)
    rows = await session.execute(
        select(MailMessage.kind, month, agency, borough, func.count())
        .select_from(MailMessage)
        .outerjoin(Subscriber, Subscriber.email == MailMessage.recipient)
        .outerjoin(DomainAgency, DomainAgency.domain == Subscriber.domain)
        .where(sent_between(span.since, span.until))
        .group_by(MailMessage.kind, month, agency, borough)
    )
    for kind, in_month, by_agency, by_borough, count in rows:
        into.add(kind, in_month, by_agency, by_borough, count)


async def emails_by_brief(session: AsyncSession, span: Span, into: Counter[uuid.UUID]) -> None:
    """How many sent alerts and digests in the period carried each brief."""
    rows = await session.execute(
        select(MailDelivery.brief_id, func.count())
        .join(MailMessage, MailMessage.id == MailDelivery.message_id)
        .where(sent_between(span.since, span.until))
        .group_by(MailDelivery.brief_id)
    )
    for brief_id, count in rows:
        into[brief_id] += count


async def acknowledgements(
    session: AsyncSession, span: Span
) -> tuple[dict[uuid.UUID, int], Counter[str]]:
    """Acknowledgements first made in the period: by brief, and by month."""
    month = month_of(session, Acknowledgement.acknowledged_at, timestamp=True)
    rows = await session.execute(
        select(Acknowledgement.brief_id, month, func.count())
        .where(
            Acknowledgement.acknowledged_at >= span.since,
            Acknowledgement.acknowledged_at < span.until,
        )
        .group_by(Acknowledgement.brief_id, month)
    )
    by_brief: Counter[uuid.UUID] = Counter()
    by_month: Counter[str] = Counter()
    for brief_id, in_month, count in rows:
        by_brief[brief_id] += count
        by_month[in_month] += count
    return dict(by_brief), by_month


@dataclass
class Discussed:
    discussions: int = 0
    practitioners: int = 0
    agreed: int = 0
    done: int = 0
    overdue: int = 0


async def discussions(
    session: AsyncSession, span: Span, today: date
) -> tuple[dict[uuid.UUID, Discussed], Counter[str]]:
    """Team discussions held in the period, by brief (with the practitioners present and their
    actions: agreed, done, and overdue: due before ``today`` and still open) and by month."""
    month = month_of(session, TeamDiscussion.held_on, timestamp=False)
    held = (TeamDiscussion.held_on >= span.first, TeamDiscussion.held_on <= span.last)
    rows = await session.execute(
        select(TeamDiscussion.brief_id, month, func.count(), func.sum(TeamDiscussion.practitioners))
        .where(*held)
        .group_by(TeamDiscussion.brief_id, month)
    )
    by_brief: dict[uuid.UUID, Discussed] = {}
    by_month: Counter[str] = Counter()
    for brief_id, in_month, count, present in rows:
        entry = by_brief.setdefault(brief_id, Discussed())
        entry.discussions += count
        entry.practitioners += int(present or 0)
        by_month[in_month] += count
    done = DiscussionAction.status == ActionStatus.done.value
    overdue = (DiscussionAction.status == ActionStatus.open.value) & (
        DiscussionAction.due_on < today
    )
    actions = await session.execute(
        select(
            TeamDiscussion.brief_id,
            func.count(),
            func.sum(case((done, 1), else_=0)),
            func.sum(case((overdue, 1), else_=0)),
        )
        .join(TeamDiscussion, TeamDiscussion.id == DiscussionAction.discussion_id)
        .where(*held)
        .group_by(TeamDiscussion.brief_id)
    )
    for brief_id, agreed, were_done, are_overdue in actions:
        entry = by_brief.setdefault(brief_id, Discussed())
        entry.agreed += agreed
        entry.done += int(were_done or 0)
        entry.overdue += int(are_overdue or 0)
    return by_brief, by_month


@dataclass(frozen=True)
class BriefRow:
    id: uuid.UUID
    title: str
    status: str
    published_at: datetime | None
    themes: tuple[str, ...]


async def briefs(session: AsyncSession, span: Span, also: Iterable[uuid.UUID]) -> list[BriefRow]:
    """Briefs published in the period, and the briefs ``also`` named (those with something
    counted in it), newest publication first, with their themes."""
    wanted = list(set(also))
    published = (Brief.published_at >= span.since) & (Brief.published_at < span.until)
    found = list(
        await session.execute(
            select(Brief.id, Brief.title, Brief.status, Brief.published_at).where(
                or_(published, Brief.id.in_(wanted)) if wanted else published
            )
        )
    )
    ids = [row.id for row in found]
    themes: dict[uuid.UUID, list[str]] = {}
    if ids:
        tags = await session.execute(
            select(BriefTag.brief_id, BriefTag.code)
            .where(BriefTag.facet == "themes", BriefTag.brief_id.in_(ids))
            .order_by(BriefTag.code)
        )
        for brief_id, code in tags:
            themes.setdefault(brief_id, []).append(code)
    rows = [
        BriefRow(r.id, r.title, r.status, r.published_at, tuple(themes.get(r.id, ())))
        for r in found
    ]
    never = datetime.min.replace(tzinfo=span.since.tzinfo)
    rows.sort(key=lambda b: (b.published_at or never, b.title), reverse=True)
    return rows
