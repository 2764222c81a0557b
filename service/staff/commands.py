"""``learnhub staff``: accounts for PPU staff.

Changes made here are recorded in the audit log against the command line's own account; the
console's rule that the last administrator stays holds here too.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import click
from sqlalchemy.ext.asyncio import AsyncSession

from service.commands import load_settings, run
from service.staff.models import Role

T = TypeVar("T")
ROLES = click.Choice([r.value for r in Role])


@click.group("staff")
def staff_group() -> None:
    """Staff accounts."""


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


@staff_group.command("add")
@click.argument("email")
@click.option("--role", type=ROLES, required=True)
def add(email: str, role: str) -> None:
    """Add a member of staff and print their API token (shown once, not stored)."""
    from service.clock import utcnow
    from service.staff import service

    async def work(session: AsyncSession) -> str:
        now = utcnow()
        by = await service.command_line(session, now)
        return await service.create(session, email=email, role=Role(role), now=now, by=by)

    token = _in_transaction(work)
    click.echo(f"Added {email} as {role}. Their API token, shown only this once:", err=True)
    click.echo(token)


@staff_group.command("list")
def list_staff() -> None:
    """Current staff, one a line: address and role."""
    from service.staff import service

    for member in _in_transaction(service.listed):
        click.echo(f"{member.email}\t{member.role}")


@staff_group.command("role")
@click.argument("email")
@click.argument("role", type=ROLES)
def change_role(email: str, role: str) -> None:
    """Give a member of staff another role."""
    from service.clock import utcnow
    from service.staff import service

    async def work(session: AsyncSession) -> None:
        now = utcnow()
        member = await service.by_email(session, email)
        by = await service.command_line(session, now)
        await service.change_role(session, member.id, Role(role), by=by, now=now)

    _in_transaction(work)
    click.echo(f"{email} is now {role}.")


@staff_group.command("remove")
@click.argument("email")
def remove(email: str) -> None:
    """Remove a member of staff: their sessions end and their API token stops working."""
    from service.clock import utcnow
    from service.staff import service

    async def work(session: AsyncSession) -> None:
        now = utcnow()
        member = await service.by_email(session, email)
        by = await service.command_line(session, now)
        await service.remove(session, member.id, by=by, now=now)

    _in_transaction(work)
    click.echo(f"Removed {email}; their sessions have ended.")
