"""``learnhub retention run``: apply the retention rules now (practice.retention)."""

from __future__ import annotations

from datetime import UTC, datetime

import click

from service.commands import Failure, load_settings, run


@click.group("retention")
def retention_group() -> None:
    """What is kept about people, and for how long."""


@retention_group.command("run")
@click.option("--now", "now_text", metavar="ISO-8601", help="Apply the rules as at this moment.")
def run_command(now_text: str | None) -> None:
    """Delete unconfirmed sign-ups and people who unsubscribed long ago, anonymise delivery
    records past the evidence period, drop old bodies; say how many of each."""
    settings = load_settings()
    now = _now(now_text)

    async def go() -> str:
        from practice import retention
        from service import db

        database = db.Database.open(settings.database_url)
        try:
            swept = await retention.run(
                database.sessions, lambda: now, evidence_years=settings.evidence_years
            )
        finally:
            await database.dispose()
        return swept.said()

    click.echo(f"Retention: {run(go())}.")


def _now(value: str | None) -> datetime:
    if value is None:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise Failure(f"--now {value!r} is not an ISO 8601 date and time") from None
    if moment.tzinfo is None:
        raise Failure(f"--now {value!r} needs a time zone, e.g. {value}+00:00 or {value}Z")
    return moment.astimezone(UTC)
