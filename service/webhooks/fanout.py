"""From a brief's event to one delivery row per endpoint it concerns: the dispatcher's
``webhooks`` handler, run in the event's transaction (decision 0001), so a retry of the
event inserts nothing twice (unique endpoint and event).

The audience rule: an endpoint not marked practitioner-trusted never gets a delivery about
a brief that is restricted when the event is handled (nor about its withdrawal), so no
title, id or URL of a restricted brief ever reaches it. As with email (docs/lifecycle.md):
narrowing a brief to practitioners cancels what is still pending about it for untrusted
endpoints, and tells them nothing (what they were sent was public when it was sent); a
withdrawal cancels what is pending about the brief, then tells the endpoints of it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Select, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from service.briefs.models import Audience, Brief, Status
from service.briefs.queries import REGION_WIDE_WHEN_EMPTY
from service.clock import Clock
from service.db import dialect_insert, table_of
from service.events.models import Event, EventType
from service.taxonomy import FACETS, Facet, Taxonomy
from service.webhooks import payloads, signing
from service.webhooks.models import DeliveryStatus, EndpointStatus, WebhookDelivery, WebhookEndpoint

# The event types partners can ask for; a minor edit is handled only for what it takes back.
SENT = frozenset({EventType.published, EventType.updated, EventType.withdrawn})
HANDLED = frozenset({*SENT, EventType.edited})


@dataclass(frozen=True)
class Fanout:
    base_url: str
    taxonomy: Taxonomy
    clock: Clock

    async def __call__(self, session: AsyncSession, event: Event) -> None:
        brief = await session.get(Brief, event.brief_id)
        if brief is None:
            return
        if event.payload.get("narrowed"):
            await _cancel(session, event, WebhookDelivery.endpoint_id.in_(_untrusted()))
        if event.type == EventType.withdrawn:
            await _cancel(session, event, WebhookDelivery.type != EventType.withdrawn.value)
        if event.type not in SENT or not _still_so(event, brief):
            return
        restricted = brief.audience != Audience.public or (
            event.type == EventType.withdrawn and event.payload.get("audience") != Audience.public
        )
        endpoints = await session.scalars(
            select(WebhookEndpoint)
            .where(WebhookEndpoint.status == EndpointStatus.active.value)
            .order_by(WebhookEndpoint.id)
        )
        wanted = [
            e
            for e in endpoints
            if event.type in e.event_types
            and (e.practitioner_trusted or not restricted)
            and matches(self.taxonomy, e, brief)
        ]
        if wanted:
            await _insert(session, event, brief, wanted, self.base_url, self.clock())


def _still_so(event: Event, brief: Brief) -> bool:
    """A publication or update is sent only while the brief is still published: withdrawn
    meanwhile, its withdrawal follows, and that is all a partner needs to hear."""
    return event.type == EventType.withdrawn or brief.status == Status.published


def matches(taxonomy: Taxonomy, endpoint: WebhookEndpoint, brief: Brief) -> bool:
    """The subscriptions' rule: any code of a facet, every facet given; a parent code
    matches its children; a brief with no borough concerns every borough."""
    for facet in FACETS:
        wanted = getattr(endpoint, facet) or []
        codes = brief.codes(facet)
        if not wanted or (facet in REGION_WIDE_WHEN_EMPTY and not codes):
            continue
        if not set(wanted) & _widen(taxonomy, facet, codes):
            return False
    return True


def _widen(taxonomy: Taxonomy, facet: Facet, codes: Iterable[str]) -> set[str]:
    """The codes and their ancestors."""
    found: set[str] = set()
    for code in codes:
        while code and code not in found:
            found.add(code)
            try:
                code = taxonomy.get(facet, code).parent or ""
            except KeyError:
                break
    return found


def _untrusted() -> Select[int]:
    return select(WebhookEndpoint.id).where(WebhookEndpoint.practitioner_trusted.is_(False))


async def _cancel(session: AsyncSession, event: Event, condition: ColumnElement[bool]) -> None:
    """Cancel what is pending about the brief and meets ``condition``; what is being sent
    goes (failing it would not stop it, and would record as unsent what was sent)."""
    await session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.brief_id == event.brief_id,
            WebhookDelivery.event_id < event.id,
            WebhookDelivery.status == DeliveryStatus.pending.value,
            condition,
        )
        .values(status=DeliveryStatus.cancelled.value)
        .execution_options(synchronize_session=False)
    )


async def _insert(
    session: AsyncSession,
    event: Event,
    brief: Brief,
    endpoints: list[WebhookEndpoint],
    base_url: str,
    now: datetime,
) -> None:
    body = payloads.body(event, brief, base_url=base_url)
    rows = [
        {
            "endpoint_id": endpoint.id,
            "event_id": event.id,
            "message_id": signing.new_message_id(),
            "type": event.type,
            "brief_id": brief.id,
            "body": body,
            "status": DeliveryStatus.pending.value,
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        for endpoint in endpoints
    ]
    insert = dialect_insert(session, table_of(WebhookDelivery))
    await session.execute(
        insert.on_conflict_do_nothing(index_elements=["endpoint_id", "event_id"]), rows
    )
