"""``learnhub digest run`` and ``learnhub digest preview``."""

from __future__ import annotations

import gc
import sys
from datetime import UTC, datetime
from typing import Any

import click

from digests.models import DigestRun, RunStatus
from digests.schedule import latest_scheduled
from digests.service import Digests, email, run_digest
from digests.window import plan_run
from service import db
from service.commands import Failure, load_settings, run
from service.mail.compose import Composer
from service.settings import Settings
from service.taxonomy import default_taxonomy
from subscribers.alerts.reasons import chosen_filters
from subscribers.subscriptions.links import Links
from subscribers.subscriptions.models import Subscriber
from subscribers.subscriptions.tokens import Tokens


@click.group("digest")
def digest_group() -> None:
    """Daily and weekly email digests."""


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


def _digests(settings: Settings, sessions: Any, reads: Any = None) -> Digests:
    links = Links(settings.base_url, Tokens(settings.signing_key()))
    composer = Composer.from_settings(settings)
    return Digests(sessions, composer, links, default_taxonomy(), settings, reads=reads)


@digest_group.command("run")
@click.argument("frequency", type=click.Choice(["daily", "weekly"]))
@click.option("--now", "now_text", metavar="ISO-8601", help="Build the run due at this moment.")
def run_command(frequency: str, now_text: str | None) -> None:
    """Build and queue the digest whose period ends at the latest scheduled time."""
    settings, now = load_settings(), _now(now_text)
    period_end = latest_scheduled(now, frequency, settings)

    async def go() -> Any:
        database = db.Database.open(settings.database_url)
        gc.freeze()  # start-up's objects outlive the run: keep them out of full collections
        try:
            bar: Any = click.progressbar(length=1, label=f"{frequency} digest", file=sys.stderr)
            with bar:

                def progress(done: int, total: int) -> None:
                    bar.length = total
                    bar.update(done)

                return await run_digest(
                    _digests(settings, database.sessions, database.readonly),
                    frequency,
                    period_end,
                    now=now,
                    progress=progress,
                )
        finally:
            await database.dispose()

    summary = run(go())
    when = period_end.astimezone(settings.zone).strftime("%-d %B %Y %H:%M %Z")
    if summary.already_done:
        click.echo(f"The {frequency} digest for {when} was already sent; nothing to do.")
    else:
        click.echo(
            f"The {frequency} digest for {when}: {summary.queued} emails queued for "
            f"{summary.recipients} people with learning in their window. "
            "learnhub serve sends them."
        )


@digest_group.command("preview")
@click.argument("address")
@click.option("--frequency", type=click.Choice(["daily", "weekly"]), help="Default: theirs.")
def preview(address: str, frequency: str | None) -> None:
    """Print the digest ADDRESS would get if it were sent now."""
    settings = load_settings()
    text = run(_preview(settings, address.strip().lower(), frequency))
    click.echo(text)


async def _preview(settings: Settings, address: str, frequency: str | None) -> str:
    engine = db.create_engine(settings.database_url)
    try:
        sessions = db.sessionmaker(engine, readonly=True)
        digests = _digests(settings, sessions)
        async with sessions() as session:
            from sqlalchemy import func, select

            person = await session.scalar(select(Subscriber).where(Subscriber.email == address))
            if person is None:
                raise Failure(f"{address} is not subscribed")
            frequency = frequency or (
                person.frequency if person.frequency != "immediate" else "daily"
            )
            now = datetime.now(UTC)
            start = await session.scalar(
                select(func.max(DigestRun.period_end)).where(
                    DigestRun.frequency == frequency, DigestRun.status == RunStatus.done.value
                )
            )
            draft = DigestRun(frequency=frequency, period_end=now, period_start=start)
            plan = await plan_run(session, draft, digests.taxonomy, settings)
            if person.id not in plan.people:
                return f"{address} would get no {frequency} digest now: nothing new matches."
            briefs = (await plan.briefs_for(session, [person.id])).get(person.id, [])
            if not briefs:
                return f"{address} would get no {frequency} digest now: nothing new since the last."
            filters = (await chosen_filters(session, [person.id])).get(person.id, {})
            outgoing = email(digests, draft, plan, person.id, briefs, filters)
            composed = digests.composer.compose(
                outgoing.kind,
                outgoing.recipient,
                outgoing.context,
                now=now,
                unsubscribe_url=outgoing.unsubscribe_url,
            )
            from email import message_from_bytes, policy

            message = message_from_bytes(composed.message, policy=policy.default)
            body = message.get_body(("plain",))
            assert body is not None
            return f"Subject: {composed.subject}\nTo: {address}\n\n{body.get_content()}"
    finally:
        await engine.dispose()
