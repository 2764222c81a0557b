"""Urgent learning (issue 22, part 4): published or updated as urgent, a brief goes at once
to everyone it matches, daily and weekly subscribers and groups included, and their next
digest leaves it out."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from subscribers.groups.models import Group, GroupMember
from tests import factories
from tests.briefs_data import brief_body
from tests.conftest import Clock
from tests.digests.conftest import digest, drain, publish
from tests.smtp import SmtpServer

MONDAY = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)
REASON = "A second death with the same pattern: discuss it at today's handover."


async def _people(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions.begin() as session:
        for email, frequency in (
            ("now@nhs.net", "immediate"),
            ("daily@nhs.net", "daily"),
            ("weekly@nhs.net", "weekly"),
        ):
            await factories.person(session, email, frequency, since=MONDAY)
        # Follows something else: urgent learning goes to those it matches, not everyone.
        await factories.person(
            session, "other@nhs.net", "daily", since=MONDAY, themes=["online-harm"]
        )
        member = await factories.person(
            session, "team@nhs.net", "weekly", since=MONDAY, status="none"
        )
        group = Group(name="Sefton health visitors", frequency="daily", created_at=MONDAY)
        session.add(group)
        await session.flush()
        session.add(
            GroupMember(group=group, subscriber=member, invited_at=MONDAY, confirmed_at=MONDAY)
        )


def _subjects(smtp_server: SmtpServer) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for message in smtp_server.messages:
        found.setdefault(message.recipients[0], []).append(str(message.parsed()["Subject"]))
    return found


async def test_urgent_learning_reaches_everyone_it_matches_at_once_and_skips_their_digest(
    quiet: TestClient,
    smtp_server: SmtpServer,
    sessions: async_sessionmaker[AsyncSession],
    clock: Clock,
    publisher: dict[str, str],
) -> None:
    await _people(sessions)
    urgent = await publish(
        quiet,
        publisher,
        clock,
        "2026-11-23T10:00:00",
        title="Brief U: bruising in non-mobile babies",
        urgent=True,
        urgent_reason=REASON,
    )
    await publish(quiet, publisher, clock, "2026-11-23T11:00:00", title="Brief N: routine")
    app = quiet.server.app
    assert app is not None
    await drain(app)
    subjects = _subjects(smtp_server)
    title = "Urgent learning: Brief U: bruising in non-mobile babies"
    for email in ("now@nhs.net", "daily@nhs.net", "weekly@nhs.net", "team@nhs.net"):
        assert title in subjects[email], (email, subjects)
    assert "other@nhs.net" not in subjects
    [alert] = [m for m in smtp_server.messages if m.recipients == ("daily@nhs.net",)]
    text = alert.parsed().get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert text.startswith("URGENT LEARNING") and REASON in text
    # A small edit since changes nothing: the digests leave it out all the same.
    edited = await quiet.patch(
        f"/api/v1/briefs/{urgent}", json={"title": "Brief U: bruising in babies"}, headers=publisher
    )
    assert edited.status == 200 and (await edited.json())["urgent"] is True
    smtp_server.messages.clear()
    await digest(quiet, clock, "daily", "2026-11-24T07:31:00")
    await digest(quiet, clock, "weekly", "2026-11-30T07:31:00")
    for message in smtp_server.messages:
        text = message.parsed().get_body(("plain",)).get_content()  # type: ignore[union-attr]
        assert "Brief N" in text and "Brief U" not in text, message.recipients
    assert {m.recipients[0] for m in smtp_server.messages} == {
        "daily@nhs.net",
        "weekly@nhs.net",
        "team@nhs.net",
    }


async def test_marking_a_published_brief_urgent_tells_the_digest_subscribers_now(
    quiet: TestClient,
    smtp_server: SmtpServer,
    sessions: async_sessionmaker[AsyncSession],
    clock: Clock,
    publisher: dict[str, str],
) -> None:
    await _people(sessions)
    brief = await publish(quiet, publisher, clock, "2026-11-23T10:00:00", title="Brief L")
    app = quiet.server.app
    assert app is not None
    await drain(app)
    assert set(_subjects(smtp_server)) == {"now@nhs.net"}
    smtp_server.messages.clear()
    clock.now = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    response = await quiet.patch(
        f"/api/v1/briefs/{brief}", json={"urgent": True, "urgent_reason": REASON}, headers=publisher
    )
    body = await response.json()
    assert response.status == 200, body
    assert (body["urgent"], body["urgent_reason"]) == (True, REASON)
    await drain(app)
    subjects = _subjects(smtp_server)
    assert set(subjects) == {"now@nhs.net", "daily@nhs.net", "weekly@nhs.net", "team@nhs.net"}
    assert subjects["daily@nhs.net"] == ["Urgent learning, updated: Brief L"]
    smtp_server.messages.clear()
    await digest(quiet, clock, "daily", "2026-11-24T07:31:00")
    assert smtp_server.messages == []


async def test_urgent_needs_its_reason_everywhere_it_is_set(
    quiet: TestClient, clock: Clock, publisher: dict[str, str]
) -> None:
    created = await quiet.post("/api/v1/briefs", json=brief_body(urgent=True), headers=publisher)
    assert created.status == 422
    details: Any = (await created.json())["error"]["details"]
    assert any("urgent_reason" in d["message"] for d in details), details
    draft = await (await quiet.post("/api/v1/briefs", json=brief_body(), headers=publisher)).json()
    assert draft["urgent"] is False and draft["urgent_reason"] is None
    path = f"/api/v1/briefs/{draft['id']}"
    assert (await quiet.patch(path, json={"urgent": True}, headers=publisher)).status == 422
    assert (
        await quiet.post(
            f"{path}/publish", json={"urgent": True, "urgent_reason": " "}, headers=publisher
        )
    ).status == 422
    published = await quiet.post(
        f"{path}/publish", json={"urgent": True, "urgent_reason": REASON}, headers=publisher
    )
    assert published.status == 200
    assert (await published.json())["urgent_reason"] == REASON
