"""Messages that carry a brief: who was sent what of it, and taking back what has not gone.

Every alert and digest records, per brief it carries, the publication, revision and title it
showed (``MailDelivery``). A withdrawal or a narrowed audience reads these records to take
back the messages still queued and to tell people what they were sent, never what the brief
has become since.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from service.mail.models import MailDelivery, MailMessage, MailStatus

# The kinds of message that announce a brief (a withdrawal notice only names it).
ANNOUNCING = ("alert", "digest")


@dataclass(frozen=True)
class Holder:
    """A message that carries the brief, and what it showed of it."""

    message_id: int
    kind: str
    recipient: str
    key: str
    status: str
    publication: int
    revision: int
    title: str  # empty for a few sent before titles were kept (migration 0008)
    sent_at: datetime | None


async def carrying(
    session: AsyncSession,
    brief_id: uuid.UUID,
    *,
    kinds: Collection[str],
    statuses: Collection[MailStatus],
    publication: int | None = None,
) -> list[Holder]:
    """The messages of these kinds and statuses that carry the brief, oldest first."""
    query = (
        select(
            MailMessage.id,
            MailMessage.kind,
            MailMessage.recipient,
            MailMessage.idempotency_key,
            MailMessage.status,
            MailDelivery.publication,
            MailDelivery.revision,
            MailDelivery.title,
            MailMessage.sent_at,
        )
        .join(MailDelivery, MailDelivery.message_id == MailMessage.id)
        .where(
            MailDelivery.brief_id == brief_id,
            MailMessage.kind.in_(list(kinds)),
            MailMessage.status.in_([s.value for s in statuses]),
        )
        .order_by(MailMessage.id)
    )
    if publication is not None:
        query = query.where(MailDelivery.publication == publication)
    return [Holder(*row) for row in await session.execute(query)]


async def cancel(session: AsyncSession, ids: Sequence[int], reason: str) -> set[int]:
    """Cancel those of ``ids`` still pending; the ids it cancelled.

    A message being sent is left alone: it may be on the wire, and its outcome decides
    whether its reader must be told. The mail worker never claims a cancelled message.
    """
    if not ids:
        return set()
    result = await session.execute(
        update(MailMessage)
        .where(MailMessage.id.in_(list(ids)), MailMessage.status == MailStatus.pending.value)
        .values(status=MailStatus.cancelled.value, last_error=reason)
        .returning(MailMessage.id)
        .execution_options(synchronize_session=False)
    )
    return set(result.scalars())


def latest(holders: Sequence[Holder]) -> dict[str, Holder]:
    """Per recipient, the last thing they were sent of the brief."""
    found: dict[str, Holder] = {}
    for holder in holders:
        mine = found.get(holder.recipient)
        if mine is None or (holder.publication, holder.revision) >= (
            mine.publication,
            mine.revision,
        ):
            found[holder.recipient] = holder
    return found
