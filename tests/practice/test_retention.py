"""Retention on a schedule (issue 22, part 3), on an injected clock: unconfirmed sign-ups
deleted after 7 days, an unsubscribed person's address removed after 28 days with the counts
kept (the impact report's among them), delivery records anonymised after the evidence period,
bodies after 30 days; and erasure, which shares its ways of forgetting an address."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from click.testing import CliRunner
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from learnhub.app import create_app
from learnhub.cli import cli
from practice import people, retention
from practice.acknowledgements.models import Acknowledgement
from practice.discussions.models import TeamDiscussion
from practice.retention import Swept
from service import db
from service.mail.compose import Composer
from service.mail.models import MailBounce, MailMessage
from service.mail.service import enqueue_many
from service.settings import Settings
from subscribers.groups.models import Group, GroupMember
from subscribers.subscriptions import service as subscriptions
from subscribers.subscriptions.models import Counter, Subscriber
from subscribers.subscriptions.service import by_email, end
from subscribers.subscriptions.tokens import Claims, Purpose, Tokens
from tests import factories
from tests.conftest import Clock, wipe
from tests.mail.helpers import mail
from tests.practice.test_impact import _expected, _history

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


async def _messages(
    session: AsyncSession, settings: Settings, email: str, *numbers: int, now: datetime
) -> list[MailMessage]:
    composer = Composer.from_settings(settings)
    outgoing = [mail(n, recipient=email, key=f"test:{email}:{n}") for n in numbers]
    await enqueue_many(session, outgoing, composer=composer, now=now)
    found = await session.scalars(
        select(MailMessage).where(MailMessage.recipient == email).order_by(MailMessage.id)
    )
    return list(found)


async def test_erasure_leaves_no_address_in_the_reasons_mail_failed(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, clock: Clock
) -> None:
    email = "gone@nhs.net"
    async with sessions.begin() as session:
        await factories.person(session, email, since=START)
        [message] = await _messages(session, settings, email, 1, now=START)
        await session.execute(
            update(MailMessage)
            .where(MailMessage.id == message.id)
            .values(status="failed", last_error=f"550 5.1.1 <{email}>: Recipient address rejected")
        )
    async with sessions.begin() as session:
        subscriber = await session.scalar(select(Subscriber).where(Subscriber.email == email))
        assert subscriber is not None
        await people.erase(session, subscriber)
    async with sessions() as session:
        rows = list(await session.scalars(select(MailMessage)))
    assert [(m.recipient, m.status) for m in rows] == [("erased@learnhub.invalid", "failed")]
    assert email not in (rows[0].last_error or "")


@pytest.fixture
async def client(aiohttp_client: Any, settings: Settings, clock: Clock, engine: Any) -> TestClient:
    return await aiohttp_client(create_app(settings, clock=clock, run_workers=False))  # type: ignore[no-any-return]


async def _run(sessions: async_sessionmaker[AsyncSession], clock: Clock, years: int = 6) -> Swept:
    return await retention.run(sessions, clock, evidence_years=years)


async def _emails(sessions: async_sessionmaker[AsyncSession]) -> set[str]:
    async with sessions() as session:
        return set(await session.scalars(select(Subscriber.email)))


async def _counter(sessions: async_sessionmaker[AsyncSession], name: str) -> int:
    async with sessions() as session:
        counter = await session.get(Counter, name)
        return counter.value if counter else 0


async def test_unconfirmed_sign_ups_and_invitations_go_after_seven_days(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, clock: Clock
) -> None:
    clock.now = START
    async with sessions.begin() as session:
        asked = await factories.person(session, "asked@nhs.net", since=START, status="pending")
        asked.last_link_sent_at = START
        await _messages(session, settings, "asked@nhs.net", 1, now=START)  # the confirmation
        # Subscribed once, ended, asked again and never confirmed: goes back to ended.
        back = await factories.person(session, "back@nhs.net", since=START, status="pending")
        back.confirmed_at, back.ended_at, back.last_link_sent_at = START, START, START
        invited = await factories.person(session, "invited@nhs.net", since=START, status="none")
        member = await factories.person(session, "member@nhs.net", since=START, status="pending")
        member.last_link_sent_at = START
        group = Group(name="Wirral MASH", frequency="daily", created_at=START)
        session.add(group)
        await session.flush()
        session.add(GroupMember(group=group, subscriber=invited, invited_at=START))
        session.add(
            GroupMember(group=group, subscriber=member, invited_at=START, confirmed_at=START)
        )
    clock.now = START + timedelta(days=6, hours=23)
    swept = await _run(sessions, clock)
    assert (swept.signups_deleted, swept.invitations_deleted) == (0, 0)
    clock.now = START + timedelta(days=7, minutes=1)
    swept = await _run(sessions, clock)
    assert (swept.signups_deleted, swept.signups_dropped, swept.invitations_deleted) == (2, 2, 1)
    assert await _emails(sessions) == {"back@nhs.net", "member@nhs.net"}
    async with sessions() as session:
        rows = await session.execute(select(Subscriber.email, Subscriber.status))
        states = {email: status for email, status in rows}
        assert states == {"back@nhs.net": "ended", "member@nhs.net": "none"}
        recipients = set(await session.scalars(select(MailMessage.recipient)))
        assert recipients == {"erased@learnhub.invalid"}
    assert await _counter(sessions, subscriptions.EXPIRED) == 2
    assert (await _run(sessions, clock)).signups_deleted == 0  # nothing left to do


async def test_an_unsubscribed_person_goes_after_28_days_and_the_counts_stay(
    client: TestClient,
    publisher: dict[str, str],
    sessions: async_sessionmaker[AsyncSession],
    clock: Clock,
) -> None:
    ids = await _history(sessions)
    expected = _expected(ids)
    ended = datetime(2026, 10, 27, 12, 0, tzinfo=UTC)  # 27 days before the clock's today
    async with sessions.begin() as session:
        for email in ("p1@nhs.net", "p3@school.example"):
            found = await by_email(session, email)
            assert found is not None
            end(found, ended)
    swept = await _run(sessions, clock)
    assert swept.unsubscribed_removed == 0
    clock.now = ended + timedelta(days=28, minutes=1)
    swept = await _run(sessions, clock)
    assert swept.unsubscribed_removed == 2
    assert await _emails(sessions) == {"p2@merseyside.police.uk"}
    assert await _counter(sessions, subscriptions.REMOVED) == 2
    async with sessions() as session:
        acknowledgements = list(await session.scalars(select(Acknowledgement)))
        assert len(acknowledgements) == 5  # kept for the counts
        nameless = [a for a in acknowledgements if a.subscriber_id is None]
        assert len(nameless) == 3 and {a.answer for a in nameless} == {None}
        recipients = set(await session.scalars(select(MailMessage.recipient)))
        assert not recipients & {"p1@nhs.net", "p3@school.example"}
        recorders = set(await session.scalars(select(TeamDiscussion.recorder_email)))
        assert not recorders & {"p1@nhs.net", "p3@school.example"}
    # The impact report is what it was, to the figure (a day later).
    response = await client.get("/api/v1/impact?from=2026-01-01&to=2026-06-30", headers=publisher)
    assert await response.json() == {**expected, "today": "2026-11-24"}


async def test_delivery_records_are_anonymised_after_the_evidence_period(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, clock: Clock
) -> None:
    email = "long@nhs.net"
    old, recent = datetime(2020, 11, 20, 9, 0, tzinfo=UTC), datetime(2020, 11, 26, 9, 0, tzinfo=UTC)
    async with sessions.begin() as session:
        await factories.person(session, email, since=old)
        first, second = await _messages(session, settings, email, 1, 2, now=old)
        for message, when in ((first, old), (second, recent)):
            message.status, message.sent_at, message.created_at = "sent", when, when
        session.add(
            MailBounce(
                report="id:<r@mx.example>",
                message_id=first.id,
                email=email,
                kind="soft",
                reason=f"4.2.2 <{email}> mailbox full",
                received_at=old,
            )
        )
    clock.now = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    swept = await _run(sessions, clock)
    assert (swept.records_anonymised, swept.bounces_deleted, swept.bodies_deleted) == (1, 1, 1)
    async with sessions() as session:
        rows = list(await session.scalars(select(MailMessage).order_by(MailMessage.id)))
        assert [(m.recipient, m.body is None) for m in rows] == [
            ("erased@learnhub.invalid", True),
            (email, True),
        ]
        assert rows[0].subject == rows[1].subject.replace("2", "1")  # what went stays
        assert list(await session.scalars(select(MailBounce))) == []
    # A longer evidence period keeps more.
    clock.now = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    assert (await _run(sessions, clock, years=7)).records_anonymised == 0
    assert (await _run(sessions, clock)).records_anonymised == 1


async def test_learnhub_retention_run_and_the_daily_job_log_each_count(
    sessions: async_sessionmaker[AsyncSession],
    clock: Clock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="practice.retention")
    await _run(sessions, clock)
    [line] = [r.getMessage() for r in caplog.records if r.name == "practice.retention"]
    assert line == (
        "retention: signups deleted 0, signups dropped 0, invitations deleted 0, "
        "unsubscribed removed 0, records anonymised 0, bounces deleted 0, bodies deleted 0"
    )


def test_learnhub_retention_run_says_what_it_did(
    database_url: str, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def reset() -> None:
        engine = db.create_engine(database_url)
        await wipe(engine)
        await engine.dispose()

    asyncio.run(reset())
    monkeypatch.chdir(tmp_path)
    runner = CliRunner(env={"LEARNHUB_DATABASE_URL": database_url, "LEARNHUB_SECRET_KEY": "k"})
    result = runner.invoke(
        cli, ["retention", "run", "--now", "2026-11-23T09:00:00Z"], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Retention: signups deleted 0, signups dropped 0, ")


async def test_a_person_who_left_their_last_group_goes_28_days_after(
    client: TestClient,
    admin: dict[str, str],
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    clock: Clock,
) -> None:
    """People who were only ever in groups, each sent learning there: one removed by an
    admin, one who left through their link, one who stopped every email; they go 28 days
    after, as an unsubscribed person does. One still in another group stays."""
    clock.now = START
    emails = ("removed@nhs.net", "left@nhs.net", "stopped@nhs.net", "still@nhs.net")
    async with sessions.begin() as session:
        mash = Group(name="Wirral MASH", frequency="daily", created_at=START)
        hv = Group(name="Sefton health visitors", frequency="weekly", created_at=START)
        session.add_all([mash, hv])
        await session.flush()
        ids = {}
        for email in emails:
            person = await factories.person(session, email, since=START, status="none")
            ids[email] = (person.id, person.token_version)
            joined = {"invited_at": START, "confirmed_at": START}
            session.add(GroupMember(group=mash, subscriber=person, **joined))
            if email == "still@nhs.net":
                session.add(GroupMember(group=hv, subscriber=person, **joined))
            [alert] = await _messages(session, settings, email, 1, now=START)
            alert.kind, alert.status, alert.sent_at = "alert", "sent", START
        mash_id = mash.id
    left = START + timedelta(days=100)
    clock.now = left
    removed = await client.delete(
        f"/api/v1/groups/{mash_id}/members/removed@nhs.net", headers=admin
    )
    assert removed.status == 204
    tokens = Tokens(settings.signing_key(), clock)
    for email in ("left@nhs.net", "still@nhs.net"):
        token = tokens.make(Claims(*ids[email], Purpose.manage))
        response = await client.delete(f"/api/v1/subscriptions/{token}/groups/{mash_id}")
        assert response.status == 200, await response.text()
    token = tokens.make(Claims(*ids["stopped@nhs.net"], Purpose.manage))
    assert (await client.delete(f"/api/v1/subscriptions/{token}")).status in (200, 204)

    clock.now = left + timedelta(days=27, hours=23)
    assert (await _run(sessions, clock)).unsubscribed_removed == 0
    assert await _emails(sessions) == set(emails)
    clock.now = left + timedelta(days=28, minutes=1)
    assert (await _run(sessions, clock)).unsubscribed_removed == 3
    assert await _emails(sessions) == {"still@nhs.net"}
    assert await _counter(sessions, subscriptions.REMOVED) == 3
    async with sessions() as session:
        recipients = set(await session.scalars(select(MailMessage.recipient)))
    assert recipients == {"still@nhs.net", "erased@learnhub.invalid"}
