"""``learnhub webhooks``: partners' endpoints, for an operator on the machine (admins manage
them over the API: docs/webhooks.md)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import click
from sqlalchemy.ext.asyncio import AsyncSession

from service.commands import load_settings, run

T = TypeVar("T")


@click.group("webhooks")
def webhooks_group() -> None:
    """Partners' webhook endpoints."""


def _in_transaction(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    from service import db

    settings = load_settings()

    async def go() -> T:
        engine = db.create_engine(settings.database_url)
        try:
            async with db.sessionmaker(engine).begin() as session:
                return await work(session)
        finally:
            await engine.dispose()

    return run(go())


@webhooks_group.command("list")
def list_endpoints() -> None:
    """One line an endpoint: id, status, audience, URL, event types, failing since, and its
    deliveries pending and failed."""
    from service.webhooks import service

    for e, counts in _in_transaction(service.summary):
        audience = "trusted" if e.practitioner_trusted else "public-only"
        since = e.failing_since.isoformat(timespec="seconds") if e.failing_since else "-"
        click.echo(
            f"{e.id}\t{e.status}\t{audience}\t{e.url}\t{','.join(e.event_types)}\t"
            f"failing since {since}\tpending {counts.get('pending', 0)}\t"
            f"failed {counts.get('failed', 0)}"
        )


@webhooks_group.command("enable")
@click.argument("endpoint_id", type=int)
def enable(endpoint_id: int) -> None:
    """Send to a disabled endpoint again, from the next event on (recorded in the audit log
    against the command line's account)."""
    from service.clock import utcnow
    from service.staff import service as staff_service
    from service.webhooks import service

    async def work(session: AsyncSession) -> str:
        now = utcnow()
        by = await staff_service.command_line(session, now)
        return (await service.enable(session, endpoint_id, staff=by, now=now)).url

    url = _in_transaction(work)
    click.echo(f"Endpoint {endpoint_id} ({url}) is enabled: the next events go to it.")
