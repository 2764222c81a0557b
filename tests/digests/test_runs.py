"""Digest runs: windows, content, and each person's digest exactly once."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from digests import service as digest_service
from digests.models import DigestRecipient, DigestRun
from learnhub.keys import links_key
from learnhub.schedule import digests_of
from service.mail.models import MailMessage
from subscribers.subscriptions.models import Subscriber
from subscribers.subscriptions.tokens import Purpose
from tests import factories
from tests.conftest import Clock
from tests.digests.conftest import digest, drain, publish
from tests.smtp import SmtpServer

MONDAY = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)


async def people(
    sessions: async_sessionmaker[AsyncSession],
    *specs: tuple[str, str, dict[str, Any]],
    since: datetime = MONDAY,
) -> None:
    async with sessions.begin() as session:
        for email, frequency, filters in specs:
            await factories.person(session, email, frequency, since=since, **filters)


def titles(message: Any) -> list[str]:
    text = message.parsed().get_body(("plain",)).get_content()
    return [line for line in text.splitlines() if line.startswith("Brief ")]


async def test_weekly_digest_content_window_and_headers(
    quiet: TestClient,
    publisher: dict[str, str],
    clock: Clock,
    sessions: Any,
    smtp_server: SmtpServer,
) -> None:
    await people(
        sessions,
        ("sw@knowsley.gov.uk", "weekly", {"themes": ["neglect"]}),
        ("all@nhs.net", "weekly", {}),
        ("daily@nhs.net", "daily", {}),
    )
    before = await publish(quiet, publisher, clock, "2026-11-22 10:00", title="Brief before")
    await digest(quiet, clock, "weekly", "2026-11-23 08:00")  # the previous week's run
    await publish(
        quiet, publisher, clock, "2026-11-24 10:00", title="Brief neglect", themes=["neglect"]
    )
    await publish(
        quiet, publisher, clock, "2026-11-25 10:00", title="Brief sleep", themes=["safer-sleep"]
    )
    withdrawn = await publish(quiet, publisher, clock, "2026-11-26 10:00", title="Brief withdrawn")
    await quiet.post(f"/api/v1/briefs/{withdrawn}/withdraw", headers=publisher)
    await publish(quiet, publisher, clock, "2026-11-30 08:00", title="Brief after the cutoff")
    smtp_server.messages.clear()

    summary = await digest(quiet, clock, "weekly", "2026-11-30 09:00")
    assert summary.queued == 2 and not summary.already_done
    sent = {m.recipients[0]: m for m in smtp_server.messages if "digest" in m.parsed()["Subject"]}
    assert set(sent) == {"sw@knowsley.gov.uk", "all@nhs.net"}
    everything = sent["all@nhs.net"].parsed()
    assert (
        everything["Subject"].strip()
        == "Weekly learning digest: 2 new briefs, w/c 23 November 2026"
    )
    assert everything["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert titles(sent["all@nhs.net"]) == ["Brief neglect", "Brief sleep"]  # grouped by theme
    assert titles(sent["sw@knowsley.gov.uk"]) == ["Brief neglect"]
    html = everything.get_body(("html",)).get_content()
    assert "<h2" in html and "Neglect</h2>" in html and "Safer sleep</h2>" in html
    assert "Discuss safer sleep at every contact" in html
    assert before not in html


async def test_reruns_and_two_runners_send_each_digest_once(
    quiet: TestClient,
    publisher: dict[str, str],
    clock: Clock,
    sessions: Any,
    smtp_server: SmtpServer,
) -> None:
    await people(sessions, *[(f"p{n}@nhs.net", "daily", {}) for n in range(7)])
    await publish(quiet, publisher, clock, "2026-11-23 12:00", title="Brief one")
    clock.now = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
    digests = digests_of(quiet.server.app)  # type: ignore[arg-type]
    period_end = datetime(2026, 11, 24, 7, 30, tzinfo=UTC)
    runs = [digest_service.run_digest(digests, "daily", period_end, now=clock()) for _ in range(2)]
    await asyncio.gather(*runs)
    again = await digest_service.run_digest(digests, "daily", period_end, now=clock())
    assert again.already_done
    await drain(quiet.server.app)  # type: ignore[arg-type]
    assert sorted(r for m in smtp_server.messages for r in m.recipients) == [
        f"p{n}@nhs.net" for n in range(7)
    ]


async def test_a_crash_half_way_then_a_restart(
    quiet: TestClient,
    publisher: dict[str, str],
    clock: Clock,
    sessions: Any,
    smtp_server: SmtpServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await people(sessions, *[(f"p{n}@nhs.net", "daily", {}) for n in range(5)])
    await publish(quiet, publisher, clock, "2026-11-23 12:00", title="Brief one")
    clock.now = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
    digests = digests_of(quiet.server.app)  # type: ignore[arg-type]
    period_end = datetime(2026, 11, 24, 7, 30, tzinfo=UTC)
    monkeypatch.setattr(digest_service, "BATCH", 2)

    def crash(done: int, total: int) -> None:
        raise RuntimeError("the process died after its first batch")

    with pytest.raises(RuntimeError):
        await digest_service.run_digest(digests, "daily", period_end, now=clock(), progress=crash)
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(DigestRecipient)) == 2
        assert (await session.scalar(select(DigestRun))).status == "running"  # type: ignore[union-attr]
    summary = await digest_service.run_digest(digests, "daily", period_end, now=clock())
    assert summary.queued == 3  # the rest; the first two are not written again
    await drain(quiet.server.app)  # type: ignore[arg-type]
    assert sorted(r for m in smtp_server.messages for r in m.recipients) == [
        f"p{n}@nhs.net" for n in range(5)
    ]


async def test_new_subscribers_significant_updates_and_empty_windows(
    quiet: TestClient,
    publisher: dict[str, str],
    clock: Clock,
    sessions: Any,
    smtp_server: SmtpServer,
) -> None:
    await people(sessions, ("old@nhs.net", "daily", {}))
    old_brief = await publish(quiet, publisher, clock, "2026-11-23 12:00", title="Brief old")
    await people(
        sessions, ("new@nhs.net", "daily", {}), since=datetime(2026, 11, 23, 13, 0, tzinfo=UTC)
    )
    await digest(quiet, clock, "daily", "2026-11-24 08:00")
    assert [m.recipients for m in smtp_server.messages] == [
        ("old@nhs.net",)
    ]  # not the back catalogue

    empty = await digest(quiet, clock, "daily", "2026-11-25 08:00")
    assert empty.queued == 0 and len(smtp_server.messages) == 1  # nothing sent for an empty window

    clock.now = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    minor = {"title": "Brief old, retitled"}
    await quiet.patch(f"/api/v1/briefs/{old_brief}", json=minor, headers=publisher)
    assert (await digest(quiet, clock, "daily", "2026-11-26 08:00")).queued == 0  # minor: no news
    clock.now = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    significant = {"learning_points": ["Revised."], "significant": True, "change_note": "Audit"}
    await quiet.patch(f"/api/v1/briefs/{old_brief}", json=significant, headers=publisher)
    await digest(quiet, clock, "daily", "2026-11-27 08:00")
    updated = [m for m in smtp_server.messages[1:]]
    assert sorted(m.recipients[0] for m in updated) == ["new@nhs.net", "old@nhs.net"]
    assert all(
        "Brief old, retitled (updated)" in m.parsed().get_body(("plain",)).get_content()
        for m in updated
    )


async def test_a_missed_run_is_caught_up_in_one_digest(
    quiet: TestClient,
    publisher: dict[str, str],
    clock: Clock,
    sessions: Any,
    smtp_server: SmtpServer,
) -> None:
    await people(sessions, ("p@nhs.net", "daily", {}))
    await digest(quiet, clock, "daily", "2026-11-23 08:00")
    for day in (23, 24, 25):
        await publish(quiet, publisher, clock, f"2026-11-{day} 12:00", title=f"Brief {day}")
    # The service was down on the 24th and 25th; it is back on the 26th.
    summary = await digest(quiet, clock, "daily", "2026-11-26 09:00")
    assert summary.queued == 1
    assert [titles(m) for m in smtp_server.messages] == [["Brief 25", "Brief 24", "Brief 23"]]
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(MailMessage)) == 1


async def test_digests_rendered_once_for_many_people_carry_each_ones_links_and_reasons(
    quiet: TestClient,
    publisher: dict[str, str],
    clock: Clock,
    sessions: Any,
    smtp_server: SmtpServer,
) -> None:
    """Two people who follow the same things share one rendering of their digest; each still
    gets their own links, and a third their own reasons. Brief text is escaped in HTML."""
    await people(
        sessions,
        ("a@nhs.net", "weekly", {"themes": ["neglect"]}),
        ("b@nhs.net", "weekly", {"themes": ["neglect"]}),
        ("c@nhs.net", "weekly", {}),
    )
    await digest(quiet, clock, "weekly", "2026-11-23 08:00")
    hostile = "Brief <script>alert('x')</script> & \u201cneglect\u201d =3D"
    await publish(quiet, publisher, clock, "2026-11-24 10:00", title=hostile, themes=["neglect"])
    smtp_server.messages.clear()

    summary = await digest(quiet, clock, "weekly", "2026-11-30 09:00")
    assert summary.queued == 3
    app = quiet.server.app
    assert app is not None
    async with sessions() as session:
        ids = dict((await session.execute(select(Subscriber.email, Subscriber.id))).all())
    bodies = {}
    for message in smtp_server.messages:
        (email,) = message.recipients
        parsed = message.parsed()
        text = parsed.get_body(("plain",)).get_content().replace("\r\n", "\n")
        html = parsed.get_body(("html",)).get_content()
        manage = re.findall(r"/subscriptions/manage/([^\s\"]+)", text + html)
        unsubscribe = parsed["List-Unsubscribe"].strip("<>").rsplit("/", 1)[1]
        assert len(set(manage)) == 1, manage  # the same link in both parts
        tokens = app[links_key].tokens
        assert tokens.read(manage[0], Purpose.manage).subscriber_id == ids[email]
        assert tokens.read(unsubscribe, Purpose.unsubscribe).subscriber_id == ids[email]
        why = "you follow Neglect" if email != "c@nhs.net" else "you asked for all new learning"
        assert f"Why: {why}\n" in text
        assert f"Why you got this: {why}.</p>" in html
        assert hostile in text
        assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; \u201cneglect\u201d" in html
        assert "<script>" not in html
        # "I've read this": the person's own token, then the brief, in both parts.
        acknowledge = re.findall(r"/acknowledge/([^\s\"/]+)/([0-9a-f-]{36})", text + html)
        assert len(acknowledge) == 2 and len(set(acknowledge)) == 1, acknowledge
        (token, brief_id), _ = acknowledge
        claims = tokens.read(token, Purpose.acknowledge_sent)
        assert (claims.subscriber_id, claims.brief_id) == (ids[email], None)
        base_url = app[links_key].base_url
        assert f"I've read this: {base_url}/acknowledge/{token}/{brief_id}\n" in text
        # "Record a team discussion": the same way, a token of its own purpose.
        discuss = re.findall(r"/discussions/new/([^\s\"/]+)/([0-9a-f-]{36})", text + html)
        assert len(discuss) == 2 and len(set(discuss)) == 1, discuss
        found = tokens.read(discuss[0][0], Purpose.discuss_sent)
        assert (found.subscriber_id, discuss[0][1]) == (ids[email], brief_id)
        bodies[email] = (
            text.replace(manage[0], "TOKEN").replace(token, "TOKEN").replace(discuss[0][0], "TOKEN")
        )
    assert bodies["a@nhs.net"] == bodies["b@nhs.net"] != bodies["c@nhs.net"]
