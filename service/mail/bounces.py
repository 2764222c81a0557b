"""Bounces and complaints, recorded against the messages and addresses they are about.

Each failure a report names is recorded once (a report's key is unique with its address,
so reading a report twice counts it once). A hard bounce counts as the relay's 5xx does,
towards a suspension (service.mail.runs: the run of the address's messages in a row that
failed for good, however late each report came). Soft bounces are recorded and count for
nothing; complaints are recorded here and end the person's subscription in the subscriber
domain (subscribers.subscriptions.bounces). A batch of reports is recorded in a few
statements, with the outcome recording them one at a time would have had.

Nothing here commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from service.db import dialect_insert
from service.mail import runs
from service.mail.models import MailStatus
from service.mail.reports import Failure, Kind, Report
from service.mail.runs import ENDED, B, M, S


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
    return await record_many(session, [report], now=now)


async def record_many(
    session: AsyncSession, reports: Sequence[Report], *, now: datetime
) -> Recorded:
    """Record the reports as recording them one after another, in order, would; in a few
    statements whatever their number (a Maildir's batch)."""
    done = Recorded()
    understood = [report for report in reports if report.understood]
    done.not_understood = len(reports) - len(understood)
    found = []
    for key, failure, message_id in await _targets(session, understood):
        if message_id is None:
            done.unmatched += 1
        else:
            found.append((key, failure, message_id))
    new = await _insert(session, found, now)
    hard: list[runs.Bounce] = []
    for key, failure, message_id in found:
        if (key, failure.email) not in new:
            done.repeated += 1
            continue
        new.discard((key, failure.email))  # the same failure again in the batch: read before
        if failure.kind is Kind.hard:
            done.hard.append(failure.email)
            hard.append(runs.Bounce(failure.email, message_id, failure.reason))
        elif failure.kind is Kind.soft:
            done.soft.append(failure.email)
        else:
            done.complaints.append(failure.email)
    done.suspended = await runs.count(session, hard, now=now)
    return done


Target = tuple[str, Failure, int | None]  # the report's key, a failure, its message


async def _targets(session: AsyncSession, reports: Sequence[Report]) -> list[Target]:
    """Each failure with the message it is about. The envelope sender names the message, and
    so its recipient, whatever address the report gives (a forwarding address, say, or none);
    without it, an address's latest message stands for it."""
    named = [r.message_id for r in reports if r.message_id is not None]
    recipients: dict[int, str] = {}
    if named:
        rows = await session.execute(select(M.c.id, M.c.recipient).where(M.c.id.in_(set(named))))
        recipients = {message_id: recipient for message_id, recipient in rows}
    unnamed = [r for r in reports if recipients.get(r.message_id or 0) is None]
    latest = await _latest(session, {f.email for r in unnamed for f in r.failures if f.email})
    found: list[Target] = []
    for report in reports:
        recipient = recipients.get(report.message_id or 0)
        if recipient is not None:
            worst = min(report.failures, key=lambda f: _SEVERITY[f.kind])
            failure = Failure(recipient, worst.kind, worst.reason)
            found.append((report.key, failure, report.message_id))
        else:
            found += [(report.key, f, latest.get(f.email)) for f in report.failures]
    return found


async def _latest(session: AsyncSession, emails: set[str]) -> dict[str, int]:
    """Each address's latest message that went, or failed at the relay."""
    if not emails:
        return {}
    rows = await session.execute(
        select(M.c.recipient, func.max(M.c.id))
        .where(M.c.recipient.in_(emails), M.c.status.in_(ENDED))
        .group_by(M.c.recipient)
    )
    return {recipient: message_id for recipient, message_id in rows}


async def _insert(
    session: AsyncSession, found: Sequence[tuple[str, Failure, int]], now: datetime
) -> set[tuple[str, str]]:
    """Insert each failure not yet on record; the (report, address) pairs that were new.
    The first of a pair in the batch is the one kept, as it would have been one at a time;
    rows go in key order, so that two instances' batches wait for each other, never lock
    each other out."""
    rows: dict[tuple[str, str], dict[str, object]] = {}
    for key, failure, message_id in found:
        rows.setdefault(
            (key, failure.email),
            {
                "report": key,
                "message_id": message_id,
                "email": failure.email,
                "kind": failure.kind.value,
                "reason": failure.reason,
                "received_at": now,
            },
        )
    if not rows:
        return set()
    inserted = await session.execute(
        dialect_insert(session, B)
        .values([rows[pair] for pair in sorted(rows)])
        .on_conflict_do_nothing(index_elements=["report", "email"])
        .returning(B.c.report, B.c.email)
    )
    return {(report, email) for report, email in inserted}


_SEVERITY = {Kind.complaint: 0, Kind.hard: 1, Kind.soft: 2}


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
