"""Registering partners' endpoints (admins): create, read, delete, enable, and the list of
an endpoint's deliveries. Registering, enabling and deleting are recorded in the audit log
with the change (never the signing secret). Nothing here commits: the handler owns the
transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.audit import service as audit
from service.audit.models import Action
from service.errors import Invalid, NotFound
from service.staff.models import StaffMember
from service.taxonomy import FACETS, Taxonomy
from service.webhooks import addresses, signing
from service.webhooks.models import EndpointStatus, WebhookDelivery, WebhookEndpoint
from service.webhooks.schemas import WebhookCreate

LOOKUP_TIMEOUT = 5.0  # seconds to look the host up at registration


async def create(
    session: AsyncSession,
    data: WebhookCreate,
    *,
    taxonomy: Taxonomy,
    allow_private: bool,
    staff: StaffMember,
    now: datetime,
) -> WebhookEndpoint:
    """Register an endpoint; its ``secret`` is to be shown to the caller this once."""
    _check_codes(taxonomy, data)
    await check_url(data.url, allow_private=allow_private)
    endpoint = WebhookEndpoint(
        url=data.url,
        description=data.description or "",
        event_types=list(data.event_types),
        themes=list(data.themes),
        agencies=list(data.agencies),
        boroughs=list(data.boroughs),
        practitioner_trusted=data.practitioner_trusted,
        secret=signing.new_secret(),
        status=EndpointStatus.active.value,
        created_at=now,
        created_by=staff.id,
    )
    session.add(endpoint)
    await session.flush()
    audit.record(
        session,
        staff,
        Action.webhook_registered,
        endpoint.url,
        now=now,
        endpoint_id=endpoint.id,
        event_types=endpoint.event_types,
        themes=endpoint.themes,
        agencies=endpoint.agencies,
        boroughs=endpoint.boroughs,
        practitioner_trusted=endpoint.practitioner_trusted,
        description=endpoint.description,
    )
    return endpoint


async def check_url(url: str, *, allow_private: bool) -> None:
    """Invalid (naming ``url``) if the URL's host is, or resolves to, an address that is not
    public. A name that does not resolve yet is taken: every send looks it up again."""
    try:
        target = addresses.parse(url)
        try:
            found = await addresses.resolve(target.host, target.port, within=LOOKUP_TIMEOUT)
        except OSError:
            return
        addresses.check(target.host, found, allow_private=allow_private)
    except addresses.Refused as exc:
        raise Invalid(str(exc), [{"field": "url", "message": str(exc)}]) from None


def _check_codes(taxonomy: Taxonomy, data: WebhookCreate) -> None:
    details = [
        {"field": facet, "message": f"unknown code {code!r}"}
        for facet in FACETS
        for code in taxonomy.unknown(facet, getattr(data, facet))
    ]
    if details:
        names = ", ".join(f"{d['field']}: {d['message']}" for d in details)
        raise Invalid(f"unknown taxonomy codes ({names})", details)


async def get(session: AsyncSession, endpoint_id: int) -> WebhookEndpoint:
    endpoint = await session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None:
        raise NotFound(f"no webhook endpoint with id {endpoint_id}")
    return endpoint


async def get_all(session: AsyncSession) -> Sequence[WebhookEndpoint]:
    return (await session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.id))).all()


async def delete_one(
    session: AsyncSession, endpoint_id: int, *, staff: StaffMember, now: datetime
) -> None:
    """Delete the endpoint and its deliveries; one being sent goes, and its outcome is lost."""
    endpoint = await get(session, endpoint_id)
    url = endpoint.url
    await session.execute(delete(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id))
    await session.execute(delete(WebhookEndpoint).where(WebhookEndpoint.id == endpoint_id))
    audit.record(session, staff, Action.webhook_deleted, url, now=now, endpoint_id=endpoint_id)


async def enable(
    session: AsyncSession, endpoint_id: int, *, staff: StaffMember, now: datetime
) -> WebhookEndpoint:
    """Send to a disabled endpoint again, from the next event on (what failed stays failed)."""
    endpoint = await get(session, endpoint_id)
    was = {"was": endpoint.status}
    if endpoint.disabled_reason:
        was["reason"] = endpoint.disabled_reason
    audit.record(
        session,
        staff,
        Action.webhook_enabled,
        endpoint.url,
        now=now,
        endpoint_id=endpoint_id,
        **was,
    )
    endpoint.status = EndpointStatus.active.value
    endpoint.failing_since = None
    endpoint.disabled_at = None
    endpoint.disabled_reason = None
    await session.flush()
    return endpoint


async def deliveries(
    session: AsyncSession, endpoint_id: int, *, cursor: str, limit: int
) -> tuple[list[WebhookDelivery], str | None]:
    """A page of the endpoint's deliveries, newest first, and the cursor of the next."""
    await get(session, endpoint_id)
    query = select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id)
    if cursor:
        query = query.where(WebhookDelivery.id < int(cursor))
    rows = list(await session.scalars(query.order_by(WebhookDelivery.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    return rows[:limit], str(rows[limit - 1].id) if more else None


async def summary(session: AsyncSession) -> list[tuple[WebhookEndpoint, dict[str, int]]]:
    """Every endpoint with how many of its deliveries are in each status."""
    counts: dict[int, dict[str, int]] = {}
    rows = await session.execute(
        select(WebhookDelivery.endpoint_id, WebhookDelivery.status, func.count()).group_by(
            WebhookDelivery.endpoint_id, WebhookDelivery.status
        )
    )
    for endpoint_id, status, n in rows:
        counts.setdefault(endpoint_id, {})[status] = n
    return [(e, counts.get(e.id, {})) for e in await get_all(session)]
