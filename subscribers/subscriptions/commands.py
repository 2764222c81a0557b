"""``learnhub bounces ingest FILE|-``: a bounce or complaint from the MTA's pipe, or a file."""

from __future__ import annotations

import sys
from typing import BinaryIO

import click

from service.clock import utcnow
from service.commands import Failure, load_settings, run
from service.mail.bounces import Recorded
from service.mail.verp import return_path_from

# sysexits.h's EX_TEMPFAIL: an MTA piping a message to the command keeps it and tries again.
TEMPFAIL = 75


class TryAgain(Failure):
    exit_code = TEMPFAIL


@click.group("bounces")
def bounces_group() -> None:
    """Bounces and complaints that come back after sending."""


@bounces_group.command("ingest")
@click.argument("source", type=click.File("rb"))
def ingest_command(source: BinaryIO) -> None:
    """Record the bounce or complaint in SOURCE (a file, or - for standard input, as an MTA
    pipes it). A database that cannot be reached exits 75, so the MTA tries again."""
    raw = source.read()
    if not raw:
        raise Failure("the message is empty")
    settings = load_settings()

    async def go() -> Recorded:
        from service import db
        from subscribers.subscriptions.bounces import ingest, log

        engine = db.create_engine(settings.database_url)
        try:
            async with db.sessionmaker(engine).begin() as session:
                done = await ingest(
                    session, [raw], return_path=return_path_from(settings), clock=utcnow
                )
        finally:
            await engine.dispose()
        log(done, "command line")
        return done

    try:
        done = run(go())
    except Failure as exc:
        raise TryAgain(exc.message) from None
    click.echo(_said(done), file=sys.stdout)


def _said(done: Recorded) -> str:
    if done.not_understood:
        return "Neither a bounce nor a complaint: nothing recorded."
    if done.repeated and not (done.hard or done.soft or done.complaints):
        return "Read before: nothing new recorded."
    if done.unmatched and not (done.hard or done.soft or done.complaints):
        return "About no message we sent: nothing recorded."
    parts = []
    for label, emails in (
        ("hard bounce", done.hard),
        ("soft bounce", done.soft),
        ("complaint", done.complaints),
    ):
        parts += [f"{label}: {email}" for email in emails]
    said = "Recorded " + "; ".join(parts) + "."
    if done.suspended:
        said += " Suspended (three in a row): " + ", ".join(done.suspended) + "."
    if done.complaints:
        said += " Complaints end the subscription."
    return said
