"""Bounces and complaints, recorded against the messages and addresses they are about.

A hard bounce counts as the relay's 5xx does (service.mail.queue): three of an address's
messages in a row that failed for good suspend it. A bounce comes back minutes or days
after the relay accepted the message, and that acceptance already reset the address's count,
so the count of a late bounce is worked out from the messages themselves: the run of the
address's consecutive messages, around the one that bounced, each of which has a hard bounce
or a 5xx on record (``mail_bounces``), however late each report came. Soft bounces are
recorded and count for nothing; complaints are recorded here and end the person's
subscription in the subscriber domain (subscribers.subscriptions.bounces).

Nothing here commits.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Integer, case, exists, func, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from service.db import UTCDateTime, dialect_insert, table_of
from service.mail.models import MailBounce, MailMessage, MailStatus, MailSuppression
from service.mail.queue import SUSPEND_AFTER
from service.mail.reports import Failure, Kind, Report

M = table_of(MailMessage)
B = table_of(MailBounce)
S = table_of(MailSuppression)
# The messages a run of failures is counted over: those that went, or failed at the relay.
ENDED = (MailStatus.sent.value, MailStatus.failed.value)


@dataclass
class Recorded:
    """What recording reports did: new failures by kind, and what was left out."""

    hard: list[str] = field(default_factory=list)
    soft: list[str] = field(default_factory=list)
    complaints: list[str] = field(default_factory=list)
    suspended: list[str] = field(default_factory=list)
    repeated: int = 0  # read before: counted then
    unmatched: int = 0  # about an address or message we never sent
    not_understood: int = 0  # neither a bounce nor a complaint

    def add(self, other: Recorded) -> None:
        for name in ("hard", "soft", "complaints", "suspended"):
            getattr(self, name).extend(getattr(other, name))
        self.repeated += other.repeated
        self.unmatched += other.unmatched
        self.not_understood += other.not_understood


async def record(session: AsyncSession, report: Report, *, now: datetime) -> Recorded:
    """Record each failure the report names, once; count hard ones towards a suspension."""
    done = Recorded()
    if not report.understood:
        done.not_understood += 1
        return done
    for failure, message_id in await _targets(session, report):
        if message_id is None:
            done.unmatched += 1
            continue
        inserted = await session.scalar(
            dialect_insert(session, B)
            .values(
                report=report.key,
                message_id=message_id,
                email=failure.email,
                kind=failure.kind.value,
                reason=failure.reason,
                received_at=now,
            )
            .on_conflict_do_nothing(index_elements=["report", "email"])
            .returning(B.c.id)
        )
        if inserted is None:
            done.repeated += 1
        elif failure.kind is Kind.hard:
            done.hard.append(failure.email)
            if await _count(session, failure, message_id, now):
                done.suspended.append(failure.email)
        elif failure.kind is Kind.soft:
            done.soft.append(failure.email)
        else:
            done.complaints.append(failure.email)
    return done


async def _targets(session: AsyncSession, report: Report) -> list[tuple[Failure, int | None]]:
    """Each failure with the message it is about. The envelope sender names the message, and
    so its recipient, whatever address the report gives (a forwarding address, say, or none);
    without it, an address's latest message stands for it."""
    if report.message_id is not None:
        recipient = await session.scalar(select(M.c.recipient).where(M.c.id == report.message_id))
        if recipient is not None:
            worst = min(report.failures, key=lambda f: _SEVERITY[f.kind])
            return [(Failure(recipient, worst.kind, worst.reason), report.message_id)]
    found = []
    for failure in report.failures:
        latest = None
        if failure.email:
            latest = await session.scalar(
                select(func.max(M.c.id)).where(
                    M.c.recipient == failure.email, M.c.status.in_(ENDED)
                )
            )
        found.append((failure, latest))
    return found


_SEVERITY = {Kind.complaint: 0, Kind.hard: 1, Kind.soft: 2}


async def _count(session: AsyncSession, failure: Failure, message_id: int, now: datetime) -> bool:
    """Count the address's run of failures around the message; True if this suspends it."""
    held = (
        await session.execute(
            select(S.c.consecutive_failures, S.c.suspended_at, S.c.lifted_at).where(
                S.c.email == failure.email
            )
        )
    ).first()
    lifted = held.lifted_at if held is not None else None
    run = await _run(session, failure.email, message_id, lifted)
    count = max(run, held.consecutive_failures if held is not None else 0)
    when = literal(now, UTCDateTime())
    total = literal(count, Integer())
    await session.execute(
        dialect_insert(session, S)
        .values(
            email=failure.email,
            consecutive_failures=count,
            suspended_at=now if count >= SUSPEND_AFTER else None,
            last_error=failure.reason,
        )
        .on_conflict_do_update(
            index_elements=["email"],
            set_={
                "consecutive_failures": total,
                "suspended_at": case(
                    (total >= SUSPEND_AFTER, func.coalesce(S.c.suspended_at, when)),
                    else_=S.c.suspended_at,
                ),
                "last_error": failure.reason,
            },
        )
    )
    return count >= SUSPEND_AFTER and (held is None or held.suspended_at is None)


async def _run(session: AsyncSession, email: str, message_id: int, lifted: datetime | None) -> int:
    """How many of the address's messages in a row, the bounced one among them, failed for
    good (since a suspension was last lifted)."""
    failed = exists().where(B.c.message_id == M.c.id, B.c.kind == Kind.hard.value)
    mine = [M.c.recipient == email, M.c.status.in_(ENDED)]
    if lifted is not None:
        mine.append(M.c.created_at > lifted)
    before = await session.execute(
        select(failed)
        .where(*mine, M.c.id <= message_id)
        .order_by(M.c.id.desc())
        .limit(SUSPEND_AFTER)
    )
    after = await session.execute(
        select(failed).where(*mine, M.c.id > message_id).order_by(M.c.id).limit(SUSPEND_AFTER)
    )
    return _leading(before.scalars()) + _leading(after.scalars())


def _leading(flags: Iterable[bool]) -> int:
    n = 0
    for flag in flags:
        if not flag:
            break
        n += 1
    return n


async def cancel_pending(session: AsyncSession, email: str, reason: str) -> int:
    """Cancel what is still queued for the address (not what is being sent)."""
    result = await session.execute(
        update(M)
        .where(M.c.recipient == email, M.c.status == MailStatus.pending.value)
        .values(status=MailStatus.cancelled.value, last_error=reason)
    )
    return int(getattr(result, "rowcount", 0) or 0)


@dataclass(frozen=True)
class Suspended:
    email: str
    since: datetime
    failures: int
    reason: str


@dataclass(frozen=True)
class Complaint:
    email: str
    at: datetime
    reason: str
    count: int


async def suspended(session: AsyncSession) -> list[Suspended]:
    """The addresses suspended now, the latest first."""
    rows = await session.execute(
        select(S.c.email, S.c.suspended_at, S.c.consecutive_failures, S.c.last_error)
        .where(S.c.suspended_at.is_not(None))
        .order_by(S.c.suspended_at.desc(), S.c.email)
    )
    return [Suspended(e, at, n, reason or "") for e, at, n, reason in rows]


async def complaints(session: AsyncSession, *, limit: int = 500) -> list[Complaint]:
    """The addresses that complained, the latest first, each with its latest complaint."""
    latest = (
        select(B.c.email, func.max(B.c.id).label("last"), func.count().label("count"))
        .where(B.c.kind == Kind.complaint.value)
        .group_by(B.c.email)
        .subquery()
    )
    rows = await session.execute(
        select(B.c.email, B.c.received_at, B.c.reason, latest.c.count)
        .join(latest, latest.c.last == B.c.id)
        .order_by(B.c.received_at.desc(), B.c.email)
        .limit(limit)
    )
    return [Complaint(e, at, reason, n) for e, at, reason, n in rows]


async def lift(session: AsyncSession, email: str, *, now: datetime) -> Suspended | None:
    """Lift the address's suspension: it is mailed again, and only failures after now count
    towards the next one. None if it was not suspended."""
    row = (
        await session.execute(
            update(S)
            .where(S.c.email == email, S.c.suspended_at.is_not(None))
            .values(suspended_at=None, consecutive_failures=0, lifted_at=now)
            .returning(S.c.email, S.c.suspended_at, S.c.consecutive_failures, S.c.last_error)
        )
    ).first()
    if row is None:
        return None
    return Suspended(row.email, now, 0, row.last_error or "")
