"""Publication to inboxes through the dispatcher and the mail queue, outages included."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from learnhub.keys import dispatcher_key
from service.mail.models import MailMessage
from subscribers.subscriptions.tokens import Claims, Purpose, TokenProblem, Tokens
from tests import factories
from tests.conftest import Clock
from tests.digests.conftest import drain, publish, quiet
from tests.smtp import SmtpServer

__all__ = ["quiet"]
SINCE = datetime(2026, 11, 1, tzinfo=UTC)


async def test_an_smtp_outage_during_publication_loses_and_repeats_nothing(
    quiet: TestClient,
    publisher: dict[str, str],
    clock: Clock,
    sessions: Any,
    smtp_server: SmtpServer,
) -> None:
    async with sessions.begin() as session:
        for n in range(3):
            await factories.person(session, f"p{n}@nhs.net", "immediate", since=SINCE)
        await factories.person(session, "weekly@nhs.net", "weekly", since=SINCE)
    app = quiet.server.app
    assert app is not None
    smtp_server.stop()
    brief = await publish(quiet, publisher, clock, "2026-11-23 10:00", title="Brief in an outage")
    await drain(app)
    assert smtp_server.messages == []
    smtp_server.start()
    clock.advance(minutes=5)  # past the first backoff
    await drain(app)
    clock.advance(hours=4)
    await drain(app)
    assert sorted(r for m in smtp_server.messages for r in m.recipients) == [
        "p0@nhs.net",
        "p1@nhs.net",
        "p2@nhs.net",
    ]

    await quiet.post(
        f"/api/v1/briefs/{brief}/withdraw", json={"note": "Superseded"}, headers=publisher
    )
    await drain(app)
    notices = [m for m in smtp_server.messages[3:]]
    assert sorted(m.recipients[0] for m in notices) == ["p0@nhs.net", "p1@nhs.net", "p2@nhs.net"]
    assert all(m.parsed()["Subject"].startswith("Withdrawn: Brief in an outage") for m in notices)


async def test_a_brief_withdrawn_before_its_alerts_go_is_never_announced(
    quiet: TestClient,
    publisher: dict[str, str],
    clock: Clock,
    sessions: Any,
    smtp_server: SmtpServer,
) -> None:
    async with sessions.begin() as session:
        await factories.person(session, "p@nhs.net", "immediate", since=SINCE)
    app = quiet.server.app
    assert app is not None
    brief = await publish(quiet, publisher, clock, "2026-11-23 10:00", title="Brief mistaken")
    assert await app[dispatcher_key].run_once() == 1  # the alert is queued, not yet sent
    await quiet.post(f"/api/v1/briefs/{brief}/withdraw", headers=publisher)
    await drain(app)
    assert smtp_server.messages == []  # neither the alert nor a notice about it
    async with sessions() as session:
        alert = await session.scalar(select(MailMessage).where(MailMessage.kind == "alert"))
    assert alert is not None and alert.status == "cancelled"
    assert alert.last_error == "the brief was withdrawn first"


def test_links_in_emails_carry_the_serializers_own_tokens(clock: Clock) -> None:
    """Tokens are made without the serializer, for speed: they must be exactly its tokens."""
    tokens = Tokens("a-test-secret-" + "x" * 32, clock)
    for claims in [
        Claims(1, 0, Purpose.manage),
        Claims(123456789, 42, Purpose.unsubscribe),
        Claims(7, 3, Purpose.membership, group_id=99),
    ]:
        token = tokens.make(claims)
        assert token == tokens._serializer.dumps(
            [claims.subscriber_id, claims.version, claims.purpose.value, claims.group_id]
        )
        assert tokens.read(token, claims.purpose) == claims
        with pytest.raises(TokenProblem):
            tokens.read(token, Purpose.confirm)
    confirm = tokens.make(Claims(1, 0, Purpose.confirm))
    clock.advance(days=8)
    with pytest.raises(TokenProblem, match="expired"):
        tokens.read(confirm, Purpose.confirm)


def test_acknowledgement_tokens_name_a_brief_and_open_nothing_else(clock: Clock) -> None:
    """An "I've read this" token carries the brief, signed; it is no other purpose's token,
    no other purpose's token (a brief's discussion link included) is one, and it lasts 180
    days."""
    tokens = Tokens("a-test-secret-" + "x" * 32, clock)
    brief = uuid.UUID("714e3468-ff32-48aa-bcb7-ccf0c899d636")
    claims = Claims(5, 2, Purpose.acknowledge, None, brief)
    token = tokens.make(claims)
    assert token == tokens._serializer.dumps([5, 2, "a", None, brief.hex])
    assert tokens.read(token, Purpose.acknowledge) == claims
    for other in (Purpose.manage, Purpose.unsubscribe, Purpose.confirm, Purpose.discuss):
        with pytest.raises(TokenProblem, match="not valid here"):
            tokens.read(token, other)
    for other_token in (
        tokens.make(Claims(5, 2, Purpose.manage)),
        tokens.make(Claims(5, 2, Purpose.unsubscribe)),
        tokens.make(Claims(5, 2, Purpose.discuss, None, brief)),
        tokens.make(Claims(5, 2, Purpose.acknowledge)),  # no brief: names nothing to read
    ):
        with pytest.raises(TokenProblem, match="not valid here"):
            tokens.read(other_token, Purpose.acknowledge)
    with pytest.raises(TokenProblem, match=r"not valid\. Check"):
        tokens.read(token[:-2] + ("AA" if not token.endswith("AA") else "BB"), Purpose.acknowledge)
    clock.advance(days=179)
    assert tokens.read(token, Purpose.acknowledge) == claims
    clock.advance(days=2)
    with pytest.raises(TokenProblem, match=r"expired\. Links to say you have read a brief"):
        tokens.read(token, Purpose.acknowledge)


def test_a_digests_tokens_name_the_person_only_and_are_no_other_purposes(clock: Clock) -> None:
    """A digest's "I've read this" and "Record a team discussion" tokens name the person, not
    a brief (the link names it, checked against what was sent); neither is the per-brief kind,
    nor the other, nor any other purpose's, and a token naming a brief is not one of them.
    They last as long as the per-brief kinds."""
    tokens = Tokens("a-test-secret-" + "x" * 32, clock)
    brief = uuid.UUID("714e3468-ff32-48aa-bcb7-ccf0c899d636")
    for purpose, lasts in ((Purpose.acknowledge_sent, 180), (Purpose.discuss_sent, 90)):
        claims = Claims(5, 2, purpose)
        token = tokens.make(claims)
        assert token == tokens._serializer.dumps([5, 2, purpose.value, None])
        assert tokens.read(token, purpose) == claims
        for other in Purpose:
            if other is not purpose:
                with pytest.raises(TokenProblem, match="not valid here"):
                    tokens.read(token, other)
        with pytest.raises(TokenProblem, match="not valid here"):
            tokens.read(tokens.make(Claims(5, 2, purpose, None, brief)), purpose)
        clock.advance(days=lasts - 1)
        assert tokens.read(token, purpose) == claims
        clock.advance(days=2)
        with pytest.raises(TokenProblem, match="expired"):
            tokens.read(token, purpose)
        clock.advance(days=-lasts - 1)
