"""Queueing email inside the caller's transaction, and the retention of what was sent.

Nothing here commits: the caller's transaction decides whether the mail exists at all, so an
email is queued if and only if the change that caused it is committed.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from service.db import dialect_insert, table_of
from service.mail.compose import Composed, Composer, normalise_address
from service.mail.models import MailDelivery, MailMessage, MailStatus, MailSuppression

CHUNK = 500
MAX_KEY = 255


@dataclass(frozen=True)
class Outgoing:
    """An email to queue. ``key`` names what it is about, so that queueing it twice is harmless."""

    kind: str
    recipient: str
    key: str
    context: Mapping[str, Any]
    unsubscribe_url: str | None = None
    briefs: Sequence[tuple[uuid.UUID, int]] = ()

    def __post_init__(self) -> None:
        if not 0 < len(self.key) <= MAX_KEY:
            raise ValueError(f"an idempotency key has 1 to {MAX_KEY} characters: {self.key!r}")


async def enqueue(
    session: AsyncSession, outgoing: Outgoing, *, composer: Composer, now: datetime
) -> bool:
    """Render and queue one email; False if its key was queued before or it is suspended."""
    return await enqueue_many(session, [outgoing], composer=composer, now=now) == 1


async def enqueue_many(
    session: AsyncSession, outgoings: Sequence[Outgoing], *, composer: Composer, now: datetime
) -> int:
    """Render and queue emails in chunks, one INSERT per chunk; returns how many were new."""
    new = 0
    for start in range(0, len(outgoings), CHUNK):
        new += await _enqueue_chunk(session, outgoings[start : start + CHUNK], composer, now)
    return new


async def suppressed(session: AsyncSession, emails: Iterable[str]) -> set[str]:
    """The addresses among ``emails`` that are suspended and must not be mailed."""
    wanted = sorted({email.lower() for email in emails})
    found: set[str] = set()
    for start in range(0, len(wanted), CHUNK):
        query = select(MailSuppression.email).where(
            MailSuppression.email.in_(wanted[start : start + CHUNK]),
            MailSuppression.suspended_at.is_not(None),
        )
        found.update(await session.scalars(query))
    return found


async def purge_bodies(
    session: AsyncSession, *, now: datetime, older_than: timedelta = timedelta(days=30)
) -> int:
    """Drop the bodies of messages sent before ``now - older_than``; rows and deliveries stay."""
    statement = (
        update(MailMessage)
        .where(
            MailMessage.status == MailStatus.sent.value,
            MailMessage.sent_at < now - older_than,
            MailMessage.body.is_not(None),
        )
        .values(body=None)
        .execution_options(synchronize_session=False)
    )
    return cast(CursorResult[Any], await session.execute(statement)).rowcount


async def _enqueue_chunk(
    session: AsyncSession, chunk: Sequence[Outgoing], composer: Composer, now: datetime
) -> int:
    # The first of two messages with one key wins, as it would across two transactions.
    unique: dict[str, Outgoing] = {}
    for outgoing in chunk:
        unique.setdefault(outgoing.key, outgoing)
    # Skipping known keys before rendering makes a rerun of a large job cheap; the unique
    # constraint, not this check, is what keeps two concurrent runs from queueing twice.
    for key in await _existing_keys(session, list(unique)):
        del unique[key]
    blocked = await suppressed(session, (normalise_address(o.recipient) for o in unique.values()))
    todo = [o for o in unique.values() if normalise_address(o.recipient) not in blocked]
    if not todo:
        return 0
    # Rendering costs milliseconds a message: in a thread, the event loop keeps serving.
    rows = await asyncio.to_thread(_render, composer, todo, now)
    inserted = await _insert_messages(session, rows)
    await _insert_deliveries(session, todo, inserted)
    return len(inserted)


async def _existing_keys(session: AsyncSession, keys: list[str]) -> list[str]:
    query = select(MailMessage.idempotency_key).where(MailMessage.idempotency_key.in_(keys))
    return list(await session.scalars(query))


def _render(composer: Composer, todo: Sequence[Outgoing], now: datetime) -> list[dict[str, Any]]:
    rows = []
    for o in todo:
        composed = composer.compose(
            o.kind, o.recipient, o.context, now=now, unsubscribe_url=o.unsubscribe_url
        )
        rows.append(_message_row(o.key, o.kind, composed, now))
    return rows


def _message_row(key: str, kind: str, composed: Composed, now: datetime) -> dict[str, Any]:
    return {
        "idempotency_key": key,
        "kind": kind,
        "recipient": composed.recipient,
        "subject": composed.subject,
        "body": composed.message,
        "status": MailStatus.pending.value,
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
    }


async def _insert_messages(session: AsyncSession, rows: list[dict[str, Any]]) -> dict[str, int]:
    """INSERT … ON CONFLICT (idempotency_key) DO NOTHING; the ids of the new rows by key."""
    table = table_of(MailMessage)
    statement = (
        dialect_insert(session, table)
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
        .returning(table.c.id, table.c.idempotency_key)
    )
    # Executed with many rows, SQLAlchemy sends one multi-row INSERT per page of rows
    # ("insertmanyvalues"), from a statement it compiles once.
    result = await session.execute(statement, rows)
    return {key: id_ for id_, key in result}


async def _insert_deliveries(
    session: AsyncSession, todo: Sequence[Outgoing], inserted: dict[str, int]
) -> None:
    """Who was sent which brief, for the new messages only."""
    deliveries = [
        {"message_id": inserted[o.key], "brief_id": brief_id, "revision": revision}
        for o in todo
        if o.key in inserted
        for brief_id, revision in o.briefs
    ]
    if deliveries:
        insert = dialect_insert(session, table_of(MailDelivery)).on_conflict_do_nothing()
        await session.execute(insert, deliveries)
