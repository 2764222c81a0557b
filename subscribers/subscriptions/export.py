"""What a subscriber sees of their own data: the API's view, and the full export."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from service.mail.models import MailMessage
from service.practitioners import sessions as practitioners
from subscribers.subscriptions.links import Links
from subscribers.subscriptions.models import Subscriber
from subscribers.subscriptions.schemas import MembershipOut, SubscriptionOut


def subscription_out(subscriber: Subscriber, links: Links) -> SubscriptionOut:
    manage_api = links.manage_api(subscriber)
    return SubscriptionOut(
        email=subscriber.email,
        status=subscriber.status,  # type: ignore[arg-type]
        frequency=subscriber.frequency,  # type: ignore[arg-type]
        themes=subscriber.filters("themes"),
        agencies=subscriber.filters("agencies"),
        boroughs=subscriber.filters("boroughs"),
        paused=subscriber.paused_at is not None,
        my_agency=subscriber.my_agency,
        my_borough=subscriber.my_borough,
        my_role=subscriber.my_role,
        confirmed_at=subscriber.confirmed_at,
        groups=[
            MembershipOut(
                group=m.group.name,
                confirmed=m.confirmed_at is not None,
                leave_url=f"{manage_api}/groups/{m.group_id}",
            )
            for m in sorted(subscriber.memberships, key=lambda m: m.group.name)
        ],
        manage_url=links.manage(subscriber),
        export_url=f"{manage_api}/export",
    )


async def everything(session: AsyncSession, subscriber: Subscriber, links: Links) -> dict[str, Any]:
    """Every piece of personal data held about the address (a subject access export)."""
    messages = await session.scalars(
        select(MailMessage)
        .where(MailMessage.recipient == subscriber.email)
        .order_by(MailMessage.id)
    )
    return {
        "email": subscriber.email,
        "created_at": subscriber.created_at,
        "confirmed_at": subscriber.confirmed_at,
        "subscription": subscription_out(subscriber, links).model_dump(
            mode="json", exclude={"manage_url", "export_url"}
        ),
        "consent": {"version": subscriber.consent_version, "given_at": subscriber.consented_at},
        "groups": [
            {
                "group": m.group.name,
                "invited_at": m.invited_at,
                "confirmed_at": m.confirmed_at,
                "consent_version": m.consent_version,
            }
            for m in subscriber.memberships
        ],
        "emails": [
            {
                "kind": m.kind,
                "subject": m.subject,
                "status": m.status,
                "queued_at": m.created_at,
                "sent_at": m.sent_at,
            }
            for m in messages
        ],
        "practitioner_sign_in": await practitioners.held_for(session, subscriber.email),
    }
