"""What was sent: how many different people each brief reached, and whether one was.

Read-only counts for the console (a brief's page, the briefs list, the reach page), and the
check behind a link that names a brief beside a person's token (``was_sent``).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import bindparam, distinct, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.mail.models import MailDelivery, MailMessage, MailStatus


async def sent_counts(
    session: AsyncSession, brief_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, int]:
    """How many different people were sent each brief, in any revision, by alert or digest.

    A brief nobody was sent is absent."""
    if not brief_ids:
        return {}
    rows = await session.execute(_SENT, {"ids": list(brief_ids)})
    return {brief_id: count for brief_id, count in rows}


# The IN list is one expanding parameter of a statement built once (see mail.service).
_SENT = (
    select(MailDelivery.brief_id, func.count(distinct(MailMessage.recipient)))
    .join(MailMessage, MailMessage.id == MailDelivery.message_id)
    .where(
        MailMessage.status == MailStatus.sent.value,
        MailDelivery.brief_id.in_(bindparam("ids", expanding=True)),
    )
    .group_by(MailDelivery.brief_id)
)


async def was_sent(session: AsyncSession, email: str, brief_id: uuid.UUID) -> bool:
    """Whether an email carrying the brief was sent to the address (not only queued, nor
    cancelled before it went)."""
    return bool(await session.scalar(_WAS_SENT, {"email": email, "brief_id": brief_id}))


_WAS_SENT = select(
    exists()
    .where(
        MailDelivery.brief_id == bindparam("brief_id"),
        MailDelivery.message_id == MailMessage.id,
    )
    .where(
        MailMessage.recipient == bindparam("email"),
        MailMessage.status == MailStatus.sent.value,
    )
)
