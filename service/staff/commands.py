"""``learnhub staff``: accounts for PPU staff."""

from __future__ import annotations

import click

from service.commands import load_settings, run
from service.staff.models import Role


@click.group("staff")
def staff_group() -> None:
    """Staff accounts."""


@staff_group.command("add")
@click.argument("email")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
def add(email: str, role: str) -> None:
    """Add a member of staff and print their API token (shown once, not stored)."""
    from service import db
    from service.clock import utcnow
    from service.staff import service

    settings = load_settings()

    async def go() -> str:
        engine = db.create_engine(settings.database_url)
        try:
            async with db.sessionmaker(engine).begin() as session:
                return await service.create(session, email=email, role=Role(role), now=utcnow())
        finally:
            await engine.dispose()

    token = run(go())
    click.echo(f"Added {email} as {role}. Their API token, shown only this once:", err=True)
    click.echo(token)
