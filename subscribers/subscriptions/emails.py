"""The emails the subscriber side sends: confirm, manage link, group invitation.

Each is queued as a mail row in the caller's transaction (see service/mail), so it is sent
once the change that asked for it has committed, and never if that change rolls back.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession

from service.mail.compose import Composer
from service.mail.models import MailBounce, MailMessage, MailStatus, MailSuppression
from service.mail.service import Outgoing, enqueue, enqueue_many
from subscribers.subscriptions.links import Links
from subscribers.subscriptions.models import Subscriber

ERASED = "erased@learnhub.invalid"


@dataclass(frozen=True)
class Mail:
    composer: Composer
    links: Links


async def confirm(
    session: AsyncSession,
    mail: Mail,
    subscriber: Subscriber,
    now: datetime,
    choices: Sequence[tuple[str, str]],
) -> None:
    """The link to confirm, with the choices it confirms restated (choices.described)."""
    context = {
        "confirm_url": mail.links.confirm(subscriber),
        "subscriber": subscriber,
        "choices": list(choices),
    }
    await send(session, mail, "confirm", subscriber, context, now)


async def manage_link(
    session: AsyncSession, mail: Mail, subscriber: Subscriber, now: datetime
) -> None:
    context = {"manage_url": mail.links.manage(subscriber)}
    unsubscribe = mail.links.unsubscribe(subscriber)
    await send(session, mail, "manage_link", subscriber, context, now, unsubscribe)


async def send(
    session: AsyncSession,
    mail: Mail,
    kind: str,
    subscriber: Subscriber,
    context: Mapping[str, object],
    now: datetime,
    unsubscribe_url: str | None = None,
) -> None:
    # Each request for a link is its own email; the ten-minute limit stops repeats.
    outgoing = Outgoing(
        kind=kind,
        recipient=subscriber.email,
        key=f"{kind}:{subscriber.id}:{uuid.uuid4().hex}",
        context=context,
        unsubscribe_url=unsubscribe_url,
    )
    await enqueue(session, outgoing, composer=mail.composer, now=now)


async def send_many(
    session: AsyncSession,
    mail: Mail,
    kind: str,
    people: Sequence[tuple[Subscriber, Mapping[str, object]]],
    now: datetime,
    *,
    personal: tuple[str, ...],
) -> None:
    """``send`` to many people at once, each with their own context: rendered once for
    all whose contexts differ only in the values named ``personal`` (their own links)."""
    outgoing = [
        Outgoing(
            kind=kind,
            recipient=subscriber.email,
            key=f"{kind}:{subscriber.id}:{uuid.uuid4().hex}",
            context=context,
            personal=personal,
        )
        for subscriber, context in people
    ]
    await enqueue_many(session, outgoing, composer=mail.composer, now=now)


async def forget(session: AsyncSession, email: str) -> None:
    """Erase an address from the mail records, keeping who-got-which-brief counts."""
    # Unsent mail to the person is never sent: it is failed first, then anonymised with the rest.
    await session.execute(
        update(MailMessage)
        .where(MailMessage.recipient == email, MailMessage.status != MailStatus.sent.value)
        .values(status=MailStatus.failed.value, leased_until=None, last_error="recipient erased")
    )
    await session.execute(
        update(MailMessage)
        .where(MailMessage.recipient == email)
        .values(recipient=ERASED, body=None, subject="")
    )
    await session.execute(delete(MailSuppression).where(MailSuppression.email == email))
    await session.execute(delete(MailBounce).where(MailBounce.email == email))
