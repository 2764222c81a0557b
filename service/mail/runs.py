"""Counting hard bounces towards a suspension, a batch at a time.

A hard bounce counts as the relay's 5xx does (service.mail.queue): three of an address's
messages in a row that failed for good suspend it. A bounce comes back minutes or days after
the relay accepted the message, and that acceptance already reset the address's count, so
the count of a late bounce is worked out from the messages themselves: the run of the
address's consecutive messages around the one that bounced (at most three before it, itself
among them, and three after), each of which has a hard bounce or a 5xx on record
(``mail_bounces``), since a suspension was last lifted. The address's count is the longest
such run it has had.

A batch is read in one query (each bounced message's neighbours, ranked among the address's
messages, with whether each had failed before the batch) and then replayed in memory, bounce
by bounce, in the order they came: the counts, suspensions and last errors are those that
recording the bounces one at a time would leave. Nothing here commits.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.db import UTCDateTime, dialect_insert, table_of
from service.mail.models import MailBounce, MailMessage, MailStatus, MailSuppression
from service.mail.queue import SUSPEND_AFTER

M = table_of(MailMessage)
B = table_of(MailBounce)
S = table_of(MailSuppression)
# The messages a run of failures is counted over: those that went, or failed at the relay.
ENDED = (MailStatus.sent.value, MailStatus.failed.value)
HARD = "hard"


@dataclass(frozen=True)
class Bounce:
    """A hard bounce just recorded: the address, the message it is about, the reason."""

    email: str
    message_id: int
    reason: str


@dataclass
class _Held:
    count: int = 0
    suspended: bool = False
    last_error: str | None = None
    lifted_at: datetime | None = None


async def count(session: AsyncSession, bounces: Sequence[Bounce], *, now: datetime) -> list[str]:
    """Count the bounces (already in ``mail_bounces``) towards their addresses' suspensions,
    in order; the addresses they suspend, each once."""
    if not bounces:
        return []
    emails = sorted({b.email for b in bounces})
    held = await _held(session, emails)
    new = Counter(b.message_id for b in bounces)  # the batch's, among those on record
    failed, around = await _neighbours(session, bounces, emails, new)
    missing = {b.message_id: b.email for b in bounces if b.message_id not in around}
    for message_id, email in missing.items():
        lifted = held[email].lifted_at if email in held else None
        around[message_id] = await _around(session, email, message_id, lifted, failed, new)
    suspended = []
    for bounce in bounces:
        if bounce.message_id in failed:
            failed[bounce.message_id] = True
        before, after = around[bounce.message_id]
        run = _leading(failed, before) + _leading(failed, after)
        state = held.setdefault(bounce.email, _Held())
        state.count = max(run, state.count)
        state.last_error = bounce.reason
        if state.count >= SUSPEND_AFTER and not state.suspended:
            state.suspended = True
            suspended.append(bounce.email)
    await _write(session, {e: held[e] for e in emails}, now)
    return suspended


def _leading(failed: dict[int, bool], messages: Iterable[int]) -> int:
    """How many of the messages, from the first, failed for good."""
    n = 0
    for message_id in messages:
        if not failed[message_id]:
            break
        n += 1
    return n


async def _held(session: AsyncSession, emails: Sequence[str]) -> dict[str, _Held]:
    rows = await session.execute(
        select(S.c.email, S.c.consecutive_failures, S.c.suspended_at, S.c.lifted_at).where(
            S.c.email.in_(emails)
        )
    )
    return {email: _Held(n, at is not None, lifted_at=lifted) for email, n, at, lifted in rows}


Around = tuple[list[int], list[int]]  # a message's neighbours: before (itself first), after


def _hard(message_id: Any) -> Any:
    """How many hard failures the message has on record (the batch's among them)."""
    return (
        select(func.count()).where(B.c.message_id == message_id, B.c.kind == HARD).scalar_subquery()
    )


def _counted(lifted: Any) -> list[Any]:
    """The messages a run is counted over: those that went, or failed at the relay, since
    the address's suspension was last lifted."""
    return [M.c.status.in_(ENDED), or_(lifted.is_(None), M.c.created_at > lifted)]


async def _neighbours(
    session: AsyncSession, bounces: Sequence[Bounce], emails: Sequence[str], new: Counter[int]
) -> tuple[dict[int, bool], dict[int, Around]]:
    """Whether each message around a bounced one had failed for good before the batch, and
    each bounced message's neighbours among its address's messages, ranked in one query
    (bounced messages that are not among them, never sent, are left to ``_around``)."""
    ranked = (
        select(
            M.c.id,
            M.c.recipient,
            func.row_number().over(partition_by=M.c.recipient, order_by=M.c.id).label("rank"),
        )
        .select_from(M.outerjoin(S, S.c.email == M.c.recipient))
        .where(M.c.recipient.in_(emails), *_counted(S.c.lifted_at))
        .cte("ranked")
    )
    bounced = (
        select(ranked.c.id, ranked.c.recipient, ranked.c.rank)
        .where(ranked.c.id.in_({b.message_id for b in bounces}))
        .cte("bounced")
    )
    near = ranked.alias("near")
    rows = await session.execute(
        select(bounced.c.id, bounced.c.rank, near.c.id, near.c.rank, _hard(near.c.id))
        .select_from(bounced)
        .join(
            near,
            and_(
                near.c.recipient == bounced.c.recipient,
                near.c.rank.between(
                    bounced.c.rank - SUSPEND_AFTER + 1, bounced.c.rank + SUSPEND_AFTER
                ),
            ),
        )
    )
    failed: dict[int, bool] = {}
    ranks: dict[int, list[tuple[int, int, int]]] = {}
    for target, at, message_id, rank, hard in rows:
        failed[message_id] = hard - new[message_id] > 0
        ranks.setdefault(target, []).append((rank - at, rank, message_id))
    around = {
        target: (
            [m for offset, _, m in sorted(found, reverse=True) if offset <= 0],
            [m for offset, _, m in sorted(found) if offset > 0],
        )
        for target, found in ranks.items()
    }
    return failed, around


async def _around(
    session: AsyncSession,
    email: str,
    message_id: int,
    lifted: datetime | None,
    failed: dict[int, bool],
    new: Counter[int],
) -> Around:
    """The neighbours of a bounced message that is not among its address's messages (it
    never went: a bounce for it is rare), read as the address's messages before and after
    its place; adds to ``failed`` those not read yet."""
    mine = [M.c.recipient == email, *_counted(literal(lifted, UTCDateTime()))]
    found = []
    for where, order in ((M.c.id <= message_id, M.c.id.desc()), (M.c.id > message_id, M.c.id)):
        rows = await session.execute(
            select(M.c.id, _hard(M.c.id)).where(*mine, where).order_by(order).limit(SUSPEND_AFTER)
        )
        ids = []
        for neighbour, hard in rows:
            failed.setdefault(neighbour, hard - new[neighbour] > 0)
            ids.append(neighbour)
        found.append(ids)
    return found[0], found[1]


async def _write(session: AsyncSession, states: dict[str, _Held], now: datetime) -> None:
    """Each address's count, suspension (from the first time it reached the limit) and last
    error, in one statement; addresses in order, so two batches never wait on each other
    in a circle."""
    insert = dialect_insert(session, S)
    total = insert.excluded.consecutive_failures
    await session.execute(
        insert.on_conflict_do_update(
            index_elements=["email"],
            set_={
                "consecutive_failures": total,
                "suspended_at": case(
                    (
                        total >= SUSPEND_AFTER,
                        func.coalesce(S.c.suspended_at, insert.excluded.suspended_at),
                    ),
                    else_=S.c.suspended_at,
                ),
                "last_error": insert.excluded.last_error,
            },
        ),
        [
            {
                "email": email,
                "consecutive_failures": state.count,
                "suspended_at": now if state.count >= SUSPEND_AFTER else None,
                "last_error": state.last_error,
            }
            for email, state in sorted(states.items())
        ],
    )
