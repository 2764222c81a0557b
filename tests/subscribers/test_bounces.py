"""Bounces and complaints through both ways in: the Maildir that ``serve`` reads, and
``learnhub bounces ingest`` as an MTA pipes a message to it. A complaint unsubscribes at once."""

from __future__ import annotations

import asyncio
import mailbox
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from learnhub.app import create_app
from learnhub.cli import cli
from service import db
from service.mail.models import MailBounce, MailMessage, MailStatus, MailSuppression
from service.mail.service import enqueue_many
from service.mail.verp import ReturnPath
from service.settings import Settings
from subscribers.groups.models import Group, GroupMember
from subscribers.subscriptions.models import Subscriber
from tests.conftest import Clock, wipe
from tests.factories import person
from tests.mail.helpers import mail
from tests.mail.reports import arf, postfix_dsn
from tests.waiting import until

BOUNCES = "bounces@learnhub.example"


def _return_path(settings: Settings) -> ReturnPath:
    return ReturnPath(BOUNCES, settings.signing_key())


async def _reader_with_mail(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, clock: Clock, email: str
) -> tuple[int, int]:
    """An active subscriber in a group, one message sent to them and one still queued."""
    from service.mail.compose import Composer

    async with sessions.begin() as session:
        subscriber = await person(session, email, since=clock())
        group = Group(name="Sefton health visitors", frequency="immediate", created_at=clock())
        session.add(group)
        await session.flush()
        session.add(
            GroupMember(
                group=group, subscriber=subscriber, invited_at=clock(), confirmed_at=clock()
            )
        )
        composer = Composer.from_settings(settings)
        await enqueue_many(
            session,
            [mail(1, recipient=email), mail(2, recipient=email)],
            composer=composer,
            now=clock(),
        )
        ids = list(await session.scalars(select(MailMessage.id).order_by(MailMessage.id)))
        await session.execute(
            update(MailMessage)
            .where(MailMessage.id == ids[0])
            .values(status="sent", sent_at=clock())
        )
        # The second is due later: the worker leaves it queued.
        await session.execute(
            update(MailMessage)
            .where(MailMessage.id == ids[1])
            .values(next_attempt_at=clock().replace(year=2027))
        )
    return ids[0], ids[1]


async def test_serve_reads_the_bounce_maildir_and_a_complaint_unsubscribes_at_once(
    aiohttp_client: Any,
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    clock: Clock,
    tmp_path: Path,
) -> None:
    email = "reader@nhs.net"
    sent, queued = await _reader_with_mail(sessions, settings, clock, email)
    path = tmp_path / "bounces"
    box = mailbox.Maildir(path, create=True)
    address = _return_path(settings).address(sent)
    box.add(arf(original_mail_from=address, recipient=email))
    box.add(postfix_dsn("other@nhs.net", envelope_to=address, action="delayed", status="4.4.1"))
    box.add(b"From: someone@example.org\nSubject: hello\n\nNot a bounce.\n")
    configured = settings.model_copy(update={"bounce_address": BOUNCES, "bounce_maildir": path})
    await aiohttp_client(create_app(configured, clock=clock))  # serve's jobs start with it

    await until(lambda: not list(box.iterkeys()), within=10, what="the Maildir read and emptied")
    async with sessions() as session:
        subscriber = await session.scalar(select(Subscriber).where(Subscriber.email == email))
        assert subscriber is not None
        assert (subscriber.status, subscriber.ended_at, subscriber.memberships) == (
            "ended",
            clock(),
            [],
        )
        kinds = list(await session.scalars(select(MailBounce.kind).order_by(MailBounce.kind)))
        assert kinds == ["complaint", "soft"]
        message = await session.get(MailMessage, queued)
        assert message is not None
        assert (message.status, message.last_error) == (
            MailStatus.cancelled,
            "recipient complained",
        )


@pytest.fixture
def runner(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    async def reset() -> None:
        engine = db.create_engine(database_url)
        await wipe(engine)
        await engine.dispose()

    asyncio.run(reset())
    monkeypatch.chdir(tmp_path)
    return CliRunner(
        env={
            "LEARNHUB_DATABASE_URL": database_url,
            "LEARNHUB_SECRET_KEY": "test-secret-key",
            "LEARNHUB_BOUNCE_ADDRESS": BOUNCES,
        }
    )


def test_learnhub_bounces_ingest_reads_a_file_or_the_pipe(
    runner: CliRunner, settings: Settings, clock: Clock, tmp_path: Path
) -> None:
    email = "head@school.example"

    async def setup() -> list[int]:
        engine = db.create_engine(settings.database_url)
        try:
            ids = await _reader_with_mail(db.sessionmaker(engine), settings, clock, email)
            return list(ids)
        finally:
            await engine.dispose()

    sent, _ = asyncio.run(setup())
    address = _return_path(settings).address(sent)
    dsn = postfix_dsn(email, envelope_to=address)
    file = tmp_path / "bounce.eml"
    file.write_bytes(dsn)
    result = runner.invoke(cli, ["bounces", "ingest", str(file)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"Recorded hard bounce: {email}."
    again = runner.invoke(cli, ["bounces", "ingest", "-"], input=dsn, catch_exceptions=False)
    assert (again.exit_code, again.output.strip()) == (0, "Read before: nothing new recorded.")
    complaint = arf(original_mail_from=address, recipient=email)
    piped = runner.invoke(cli, ["bounces", "ingest", "-"], input=complaint, catch_exceptions=False)
    assert piped.output.strip() == (
        f"Recorded complaint: {email}. Complaints end the subscription."
    )

    async def stored() -> tuple[Any, Any]:
        engine = db.create_engine(settings.database_url)
        try:
            async with db.sessionmaker(engine)() as session:
                state = await session.get(MailSuppression, email)
                subscriber = await session.scalar(
                    select(Subscriber).where(Subscriber.email == email)
                )
                return state, subscriber
        finally:
            await engine.dispose()

    state, subscriber = asyncio.run(stored())
    assert state is not None and state.consecutive_failures == 1
    assert subscriber.status == "ended"


def test_ingest_asks_the_mta_to_try_again_when_the_database_is_away(tmp_path: Path) -> None:
    runner = CliRunner(
        env={
            "LEARNHUB_DATABASE_URL": "postgresql+asyncpg://nobody@127.0.0.1:9/none",
            "LEARNHUB_SECRET_KEY": "k",
        }
    )
    result = runner.invoke(
        cli, ["bounces", "ingest", "-"], input=postfix_dsn("a@b.example", envelope_to="x@y.example")
    )
    assert result.exit_code == 75
    assert "the database could not be used" in result.output


async def _sent_to(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, clock: Clock, email: str, n: int
) -> list[int]:
    """``n`` messages to the address, each accepted by the relay."""
    from service.mail.compose import Composer

    async with sessions.begin() as session:
        await person(session, email, since=clock())
        await enqueue_many(
            session,
            [mail(i, recipient=email, key=f"{email}:{i}") for i in range(n)],
            composer=Composer.from_settings(settings),
            now=clock(),
        )
        await session.execute(
            update(MailMessage)
            .where(MailMessage.recipient == email)
            .values(status="sent", sent_at=clock())
        )
        found = await session.scalars(
            select(MailMessage.id).where(MailMessage.recipient == email).order_by(MailMessage.id)
        )
        return list(found)


async def _stored(
    sessions: async_sessionmaker[AsyncSession],
) -> tuple[list[Any], list[Any], list[Any]]:
    async with sessions() as session:
        found = await session.execute(
            select(MailBounce.report, MailBounce.email, MailBounce.kind).order_by(MailBounce.id)
        )
        states = await session.execute(
            select(
                MailSuppression.email,
                MailSuppression.consecutive_failures,
                MailSuppression.suspended_at,
            ).order_by(MailSuppression.email)
        )
        people = await session.execute(
            select(Subscriber.email, Subscriber.status).order_by(Subscriber.email)
        )
        return sorted(found.all()), list(states.all()), list(people.all())


def _five_reports(box: mailbox.Maildir, return_path: ReturnPath, ids: list[int]) -> None:
    """Three hard bounces in a row, a delay and a complaint, for one reader: five files."""
    reader = "gone@nhs.net"
    for message_id in ids[:3]:
        box.add(postfix_dsn(reader, envelope_to=return_path.address(message_id)))
    box.add(
        postfix_dsn(
            reader, envelope_to=return_path.address(ids[3]), action="delayed", status="4.4.1"
        )
    )
    box.add(arf(original_mail_from=return_path.address(ids[4]), recipient=reader))


async def test_a_crash_between_commit_and_removal_reads_the_files_again_and_counts_once(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    clock: Clock,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from service.mail import maildir
    from subscribers.subscriptions.bounces import poll

    ids = await _sent_to(sessions, settings, clock, "gone@nhs.net", 5)
    path = tmp_path / "bounces"
    box = mailbox.Maildir(path, create=True)
    _five_reports(box, _return_path(settings), ids)

    def crash(paths: object) -> None:
        raise OSError("the machine went down before the files were removed")

    monkeypatch.setattr(maildir, "remove", crash)
    # Two to a batch: the Maildir is parsed in processes, and every batch commits.
    with pytest.raises(OSError):
        await poll(sessions, path, return_path=_return_path(settings), clock=clock, batch=2)
    assert len(list(box.iterkeys())) == 5  # nothing removed
    bounced, states, people = await _stored(sessions)
    assert sorted(kind for _, _, kind in bounced) == ["complaint", "hard", "hard", "hard", "soft"]
    assert states == [("gone@nhs.net", 3, clock())]
    assert people == [("gone@nhs.net", "ended")]

    monkeypatch.undo()
    clock.advance(minutes=1)
    again = await poll(sessions, path, return_path=_return_path(settings), clock=clock, batch=2)
    assert (again.hard, again.soft, again.complaints, again.suspended) == ([], [], [], [])
    assert again.repeated == 5
    assert await _stored(sessions) == (bounced, states, people)  # counted once
    assert list(box.iterkeys()) == []


async def test_a_crash_before_a_batch_commits_records_nothing_of_it_and_removes_nothing(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    clock: Clock,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from service.mail import bounces as mail_bounces
    from subscribers.subscriptions.bounces import poll

    ids = await _sent_to(sessions, settings, clock, "gone@nhs.net", 5)
    path = tmp_path / "bounces"
    box = mailbox.Maildir(path, create=True)
    _five_reports(box, _return_path(settings), ids)
    record_many = mail_bounces.record_many
    batches = 0

    async def crash_in_the_second(*args: Any, **kwargs: Any) -> Any:
        nonlocal batches
        batches += 1
        done = await record_many(*args, **kwargs)
        if batches == 2:
            raise OSError("the machine went down mid-transaction")
        return done

    monkeypatch.setattr(mail_bounces, "record_many", crash_in_the_second)
    with pytest.raises(OSError):
        await poll(sessions, path, return_path=_return_path(settings), clock=clock, batch=2)
    assert len(list(box.iterkeys())) == 3  # the first batch's two went, once committed
    bounced, states, _ = await _stored(sessions)
    assert [kind for _, _, kind in bounced] == ["hard", "hard"]
    assert states == [("gone@nhs.net", 2, None)]

    monkeypatch.undo()
    done = await poll(sessions, path, return_path=_return_path(settings), clock=clock, batch=2)
    assert (done.hard, done.soft, done.complaints) == (
        ["gone@nhs.net"],
        ["gone@nhs.net"],
        ["gone@nhs.net"],
    )
    assert done.suspended == ["gone@nhs.net"]
    assert list(box.iterkeys()) == []
    bounced, states, people = await _stored(sessions)
    assert len(bounced) == 5
    assert states == [("gone@nhs.net", 3, clock())]
    assert people == [("gone@nhs.net", "ended")]


async def test_a_message_nothing_can_read_does_not_stop_the_maildir(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    clock: Clock,
    tmp_path: Path,
) -> None:
    from subscribers.subscriptions.bounces import poll
    from tests.mail.test_bounces import UNREADABLE

    [sent] = await _sent_to(sessions, settings, clock, "gone@nhs.net", 1)
    path = tmp_path / "bounces"
    box = mailbox.Maildir(path, create=True)
    box.add(UNREADABLE)
    box.add(postfix_dsn("gone@nhs.net", envelope_to=_return_path(settings).address(sent)))
    # One to a batch: parsed in processes, and each batch in its own transaction.
    done = await poll(sessions, path, return_path=_return_path(settings), clock=clock, batch=1)
    assert (done.hard, done.not_understood) == (["gone@nhs.net"], 1)
    assert list(box.iterkeys()) == []
