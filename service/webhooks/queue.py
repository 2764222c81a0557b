"""The worker's side of the delivery table: claiming due deliveries under a lease, renewing
it, and writing each attempt's outcome under it (decisions 0002 and 0010, as for mail).

A claim leases a batch of due rows in a short transaction (SKIP LOCKED on PostgreSQL;
SQLite has one writer), marking them ``sending``; the posts go after its commit. Every
write names the lease the rows were claimed under (or a renewal of it), so an outcome that
comes after another worker claimed the row again changes nothing.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    CursorResult,
    Integer,
    Update,
    and_,
    bindparam,
    case,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from service.db import UTCDateTime, table_of
from service.webhooks.models import DeliveryStatus, EndpointStatus, WebhookDelivery, WebhookEndpoint
from service.webhooks.transport import Answer

D = table_of(WebhookDelivery)
E = table_of(WebhookEndpoint)
DISABLE_AFTER = timedelta(days=3)  # of failing without one delivery getting through
ACTIVE = select(E.c.id).where(E.c.status == EndpointStatus.active.value)


@dataclass(frozen=True)
class RetryPolicy:
    """The spec's example schedule, with jitter, then a day at a time: a delivery is tried
    until it gets through, its endpoint is disabled (three days of failing), or it is
    three days old and others to its endpoint get through (it alone fails: it is given up)."""

    delays: tuple[timedelta, ...] = (
        timedelta(seconds=5),
        timedelta(minutes=5),
        timedelta(minutes=30),
        timedelta(hours=2),
        timedelta(hours=5),
        timedelta(hours=10),
        timedelta(hours=14),
        timedelta(hours=20),
        timedelta(hours=24),
    )
    jitter: float = 0.2

    def delay(self, attempts: int, rng: random.Random) -> timedelta:
        """The wait after the ``attempts``-th failed attempt."""
        base = self.delays[min(max(attempts, 1), len(self.delays)) - 1]
        return base * rng.uniform(1 - self.jitter, 1 + self.jitter)


@dataclass(eq=False)
class Lease:
    """The lease of one claim's rows, as for mail (service.mail.queue.Lease): ``until`` is
    known held, ``upper`` the latest a renewal may have written without hearing back.
    ``ids`` are the rows still held here, their outcome not yet written; ``lock`` makes
    renewals and writes of outcomes take turns."""

    until: datetime
    ids: set[int]
    upper: datetime = field(init=False)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def __post_init__(self) -> None:
        self.upper = self.until


@dataclass(frozen=True)
class Claimed:
    id: int
    endpoint_id: int
    url: str
    secret: str
    message_id: str
    body: str
    attempts: int  # this one included
    created_at: datetime
    lease: Lease


@dataclass(frozen=True)
class Recorded:
    """What writing an outcome did: whether the row was still held, when it is tried
    again (None: delivered or given up), and why its endpoint must be disabled, if so."""

    written: bool
    retry_at: datetime | None = None
    disable: str | None = None


def _claiming(due: Sequence[ColumnElement[bool]], order: ColumnElement[Any]) -> Update:
    """Lease up to :limit of the deliveries ``due`` (by :now) of active endpoints until
    :until, the earliest first; built once, run with the values (as the mail's claims)."""
    ids = (
        select(D.c.id)
        .where(*due, D.c.endpoint_id.in_(ACTIVE))
        .order_by(order, D.c.id)
        .limit(bindparam("limit", type_=Integer))
        .with_for_update(skip_locked=True)
    )
    return (
        update(D)
        .where(D.c.id.in_(ids))
        .values(
            status=DeliveryStatus.sending.value,
            leased_until=bindparam("until", type_=UTCDateTime()),
            attempts=D.c.attempts + 1,
        )
        .returning(D.c.id, D.c.endpoint_id, D.c.message_id, D.c.body, D.c.attempts, D.c.created_at)
    )


_NOW = bindparam("now", type_=UTCDateTime())
_CLAIMS = (
    _claiming(
        (D.c.status == DeliveryStatus.sending.value, D.c.leased_until < _NOW), D.c.leased_until
    ),
    _claiming(
        (D.c.status == DeliveryStatus.pending.value, D.c.next_attempt_at <= _NOW),
        D.c.next_attempt_at,
    ),
)


async def claim(
    session: AsyncSession, *, now: datetime, lease: timedelta, limit: int
) -> list[Claimed]:
    """Lease up to ``limit`` due deliveries of active endpoints: first those whose lease ran
    out (a worker died holding them), then pending ones, the earliest due first."""
    held = Lease(now + lease, set())
    rows: list[Any] = []
    for statement in _CLAIMS:
        if len(rows) == limit:
            break
        values = {"now": now, "until": held.until, "limit": limit - len(rows)}
        rows += (await session.execute(statement, values)).all()
    if not rows:
        return []
    endpoints = {
        id_: (url, secret)
        for id_, url, secret in await session.execute(
            select(E.c.id, E.c.url, E.c.secret).where(E.c.id.in_({r[1] for r in rows}))
        )
    }
    held.ids.update(r[0] for r in rows)
    return sorted(
        (
            Claimed(id_, endpoint, *endpoints[endpoint], message_id, body, tries, created, held)
            for id_, endpoint, message_id, body, tries, created in rows
        ),
        key=lambda c: c.id,
    )


async def renew(session: AsyncSession, lease: Lease, *, until: datetime) -> set[int]:
    """Move the lease of the rows still held to ``until``; the rows it moved. The caller
    sets ``lease.upper`` first and ``lease.until`` once committed (decision 0010)."""
    if not lease.ids:
        return set()
    rows = await session.execute(
        update(D).where(_held(lease, lease.ids)).values(leased_until=until).returning(D.c.id)
    )
    return set(rows.scalars())


async def record(
    session: AsyncSession,
    claimed: Claimed,
    answer: Answer,
    *,
    now: datetime,
    policy: RetryPolicy,
    rng: random.Random,
) -> Recorded:
    """Write an attempt's outcome on its row, if still held, and on its endpoint.

    A delivered attempt ends the endpoint's failing. A failed one starts it, and is tried
    again on the policy's schedule, but never later than three days after the endpoint
    began failing: the attempt then, failing too, disables the endpoint (as does a 410 Gone:
    the spec's "no longer wanted"). A delivery three days old that fails while others get
    through is given up.
    """
    endpoint = None
    if not answer.delivered:  # a delivered attempt needs nothing of the endpoint
        endpoint = (
            await session.execute(
                select(E.c.status, E.c.failing_since).where(E.c.id == claimed.endpoint_id)
            )
        ).first()
    disable: str | None = None
    retry_at: datetime | None = None
    if answer.delivered:
        status = DeliveryStatus.delivered
    else:
        since = endpoint.failing_since if endpoint is not None else None
        deadline = (since or now) + DISABLE_AFTER
        active = endpoint is not None and endpoint.status == EndpointStatus.active.value
        if answer.status == 410:
            disable = "it answered 410 Gone: it no longer wants deliveries"
        elif now >= deadline:
            disable = f"every attempt has failed for {DISABLE_AFTER.days} days"
        elif active and now - claimed.created_at < DISABLE_AFTER:
            wait = policy.delay(claimed.attempts, rng)
            if answer.retry_after is not None:
                wait = max(wait, timedelta(seconds=answer.retry_after))
            retry_at = min(now + wait, deadline)
        status = DeliveryStatus.pending if retry_at else DeliveryStatus.failed
    written = await session.execute(
        update(D)
        .where(_held(claimed.lease, [claimed.id]))
        .values(
            status=status.value,
            leased_until=None,
            next_attempt_at=retry_at or now,
            response_status=answer.status,
            last_error=answer.error,
            last_attempt_at=now,
            delivered_at=now if answer.delivered else None,
        )
    )
    if cast(CursorResult[Any], written).rowcount == 0:
        return Recorded(written=False)  # claimed again by another worker since: its outcome
    if answer.delivered:  # written only where a failing spell ends: most often nowhere
        ended = update(E).where(E.c.id == claimed.endpoint_id, E.c.failing_since.is_not(None))
        await session.execute(ended.values(failing_since=None))
    elif endpoint is not None and endpoint.failing_since is None:
        started = update(E).where(E.c.id == claimed.endpoint_id, E.c.failing_since.is_(None))
        await session.execute(started.values(failing_since=now))
    return Recorded(written=True, retry_at=retry_at, disable=disable)


async def release(session: AsyncSession, claimed: Sequence[Claimed], *, at: datetime) -> None:
    """Hand back deliveries not tried (the worker stopping, the lease running short, their
    endpoint failing just before): due at ``at``, their claim not counted as an attempt;
    failed at once if their endpoint has been disabled meanwhile."""
    if not claimed:
        return
    lease = claimed[0].lease
    await session.execute(
        update(D)
        .where(_held(lease, [c.id for c in claimed]))
        .values(
            status=case(
                (D.c.endpoint_id.in_(ACTIVE), DeliveryStatus.pending.value),
                else_=DeliveryStatus.failed.value,
            ),
            attempts=D.c.attempts - 1,
            leased_until=None,
            next_attempt_at=at,
        )
    )


def _held(lease: Lease, ids: Sequence[int] | set[int]) -> Any:
    return and_(
        D.c.id.in_(sorted(ids)),
        D.c.status == DeliveryStatus.sending.value,
        D.c.leased_until >= lease.until,
        D.c.leased_until <= lease.upper,
    )
