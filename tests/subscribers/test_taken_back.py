"""The findings of the outside probe of restricted learning, each as it was reported.

A leak after a narrowing, learning lost with a withdrawal, silence on re-publication, a side
channel in the public feeds, and the "Read it online" dead end: each test failed before the
fix it names.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from digests import service as digest_service
from learnhub.app import create_app
from learnhub.keys import dispatcher_key
from service.events.models import Event
from service.mail.models import MailMessage
from subscribers.subscriptions.models import Subscriber
from subscribers.subscriptions.service import end
from tests import factories
from tests.briefs_data import brief_body
from tests.conftest import Clock
from tests.digests.conftest import digest, drain, publish, quiet
from tests.smtp import Received, SmtpServer
from tests.subscribers.conftest import mail_settings
from tests.waiting import until

__all__ = ["mail_settings", "quiet"]
SINCE = datetime(2026, 11, 1, tzinfo=UTC)


def text(message: Received) -> str:
    part = message.parsed().get_body(("plain",))
    assert part is not None
    return str(part.get_content())


def to(smtp: SmtpServer, who: str) -> list[Received]:
    return [m for m in smtp.messages if who in m.recipients]


async def ok(response: Any) -> Any:
    assert response.status == 200, await response.text()
    return await response.json()


async def test_a_notice_after_a_narrowing_names_only_what_each_person_was_sent(
    quiet: TestClient, publisher: dict[str, str], clock: Clock, sessions: Any, smtp_server: Any
) -> None:
    """Published publicly, narrowed with a new title, withdrawn with a reason: the outsider is
    told of the title they were sent and nothing else (it was `Withdrawn: <new title>`)."""
    async with sessions.begin() as session:
        await factories.person(session, "outsider@gmail.com", "immediate", since=SINCE)
        await factories.person(session, "hv@nhs.net", "immediate", since=SINCE)
    app: Any = quiet.server.app
    brief = await publish(quiet, publisher, clock, "2026-11-23 10:00", title="Public title")
    await drain(app)
    url = f"/api/v1/briefs/{brief}"
    secret = {"audience": "practitioners", "title": "Operation Nightjar: restricted"}
    await ok(await quiet.patch(url, json=secret, headers=publisher))
    reason = {"reason": "Nightjar disclosures under review.", "note": "Legal hold"}
    await ok(await quiet.post(f"{url}/withdraw", json=reason, headers=publisher))
    await drain(app)

    outsider = to(smtp_server, "outsider@gmail.com")
    assert [m.parsed()["Subject"] for m in outsider] == [
        "New learning brief: Public title",
        "Withdrawn: Public title",
    ]
    raw = b"".join(m.content for m in outsider)
    assert b"Nightjar" not in raw and b"Legal hold" not in raw
    practitioner = to(smtp_server, "hv@nhs.net")[-1]
    assert practitioner.parsed()["Subject"] == "Withdrawn: Public title"
    assert "Nightjar disclosures under review." in text(practitioner)
    assert "Legal hold" not in text(practitioner)


async def test_withdrawing_one_brief_costs_nobody_the_rest_of_their_digest(
    quiet: TestClient, publisher: dict[str, str], clock: Clock, sessions: Any, smtp_server: Any
) -> None:
    """A digest queued with a kept brief and a withdrawn one was failed whole, and the next
    run skipped the kept brief as covered: that person never got it."""
    async with sessions.begin() as session:
        await factories.person(session, "daily@nhs.net", "daily", since=SINCE)
    app: Any = quiet.server.app
    await publish(quiet, publisher, clock, "2026-11-23 10:00", title="Kept brief")
    gone = await publish(quiet, publisher, clock, "2026-11-23 11:00", title="Withdrawn brief")
    await drain(app)
    smtp_server.stop()  # the digest is queued but cannot go yet
    await digest(quiet, clock, "daily", "2026-11-24 07:30")
    assert smtp_server.messages == []
    await ok(await quiet.post(f"/api/v1/briefs/{gone}/withdraw", headers=publisher))
    await drain(app)
    smtp_server.start()
    clock.advance(hours=1)
    await drain(app)

    (sent,) = smtp_server.messages
    assert "Kept brief" in text(sent) and "Withdrawn brief" not in text(sent)
    assert sent.parsed()["Subject"].startswith("Daily learning digest: 1 new brief")
    # The next run has nothing more to send: the kept brief was delivered.
    summary = await digest(quiet, clock, "daily", "2026-11-25 07:30")
    assert summary.queued == 0 and len(smtp_server.messages) == 1


async def test_a_digest_that_held_only_the_withdrawn_brief_is_cancelled(
    quiet: TestClient, publisher: dict[str, str], clock: Clock, sessions: Any, smtp_server: Any
) -> None:
    async with sessions.begin() as session:
        await factories.person(session, "daily@nhs.net", "daily", since=SINCE)
    app: Any = quiet.server.app
    gone = await publish(quiet, publisher, clock, "2026-11-23 11:00", title="Withdrawn brief")
    smtp_server.stop()
    await digest(quiet, clock, "daily", "2026-11-24 07:30")
    await ok(await quiet.post(f"/api/v1/briefs/{gone}/withdraw", headers=publisher))
    await drain(app)
    smtp_server.start()
    clock.advance(hours=1)
    await drain(app)
    assert smtp_server.messages == []
    async with sessions() as session:
        statuses = list(await session.scalars(select(MailMessage.status)))
    assert statuses == ["cancelled"]


async def test_a_digest_being_sent_when_its_brief_is_withdrawn_is_waited_for(
    quiet: TestClient, publisher: dict[str, str], clock: Clock, sessions: Any, smtp_server: Any
) -> None:
    """Claimed by the mail worker, the digest may be on the wire: the withdrawal waits for
    its outcome. Sent, its reader is told; put back after a temporary failure, it is
    rewritten without the brief."""
    async with sessions.begin() as session:
        await factories.person(session, "daily@nhs.net", "daily", since=SINCE)
        await factories.person(session, "other@nhs.net", "daily", since=SINCE)
    app: Any = quiet.server.app
    await publish(quiet, publisher, clock, "2026-11-23 10:00", title="Kept brief")
    gone = await publish(quiet, publisher, clock, "2026-11-23 11:00", title="Withdrawn brief")
    await drain(app)
    smtp_server.stop()
    await digest(quiet, clock, "daily", "2026-11-24 07:30")
    # One digest is in the hands of a worker: claimed ("sending"), outcome unknown.
    async with sessions.begin() as session:
        first = await session.scalar(select(MailMessage).order_by(MailMessage.id).limit(1))
        assert first is not None
        first.status, first.leased_until = "sending", clock.now.replace(hour=9)
        held = first.recipient
    await ok(await quiet.post(f"/api/v1/briefs/{gone}/withdraw", headers=publisher))
    dispatcher = app[dispatcher_key]
    await dispatcher.run_once()
    async with sessions() as session:
        rows = {m.recipient: m.status for m in await session.scalars(select(MailMessage))}
    assert rows[held] == "sending"  # left alone, and the event waits
    # Its outcome: a temporary failure puts it back in the queue.
    async with sessions.begin() as session:
        message = await session.get(MailMessage, first.id)
        assert message is not None
        message.status, message.leased_until = "pending", None
    clock.advance(minutes=1)
    smtp_server.start()
    await drain(app)
    for message in smtp_server.messages:
        assert "Kept brief" in text(message) and "Withdrawn brief" not in text(message)
    assert sorted(m.recipients[0] for m in smtp_server.messages) == [
        "daily@nhs.net",
        "other@nhs.net",
    ]


async def test_published_again_after_a_withdrawal_is_news_again(
    quiet: TestClient, publisher: dict[str, str], clock: Clock, sessions: Any, smtp_server: Any
) -> None:
    """Restore then publish, with no edit, sent nothing: the key was (brief, revision,
    person) and neither move changes the revision."""
    async with sessions.begin() as session:
        await factories.person(session, "early@nhs.net", "immediate", since=SINCE)
        await factories.person(session, "daily@nhs.net", "daily", since=SINCE)
    app: Any = quiet.server.app
    brief = await publish(quiet, publisher, clock, "2026-11-23 10:00", title="Back again")
    await drain(app)
    url = f"/api/v1/briefs/{brief}"
    await ok(await quiet.post(f"{url}/withdraw", json={"reason": "Checking"}, headers=publisher))
    await drain(app)
    async with sessions.begin() as session:
        await factories.person(session, "late@nhs.net", "immediate", since=clock.now)
    await ok(await quiet.post(f"{url}/restore", headers=publisher))
    clock.advance(hours=1)
    await ok(await quiet.post(f"{url}/publish", headers=publisher))
    await drain(app)

    subjects = {
        who: [str(m.parsed()["Subject"]) for m in to(smtp_server, who)]
        for who in ("early@nhs.net", "late@nhs.net", "daily@nhs.net")
    }
    assert subjects == {
        "early@nhs.net": [
            "New learning brief: Back again",
            "Withdrawn: Back again",
            "Published again: Back again",
        ],
        "late@nhs.net": ["New learning brief: Back again"],
        "daily@nhs.net": [],
    }
    assert "told you this brief had been withdrawn" in text(to(smtp_server, "early@nhs.net")[-1])
    # The daily subscriber never had it: it comes once, in the next digest, and not again.
    await digest(quiet, clock, "daily", "2026-11-24 07:30")
    await digest(quiet, clock, "daily", "2026-11-25 07:30")
    daily = to(smtp_server, "daily@nhs.net")
    assert len(daily) == 1 and "Back again" in text(daily[0])
    # Handling the publication again (a retry) sends nothing twice.
    before = len(smtp_server.messages)
    async with sessions.begin() as session:
        for event in await session.scalars(select(Event)):
            event.status, event.handled = "pending", []
    await drain(app)
    assert len(smtp_server.messages) == before


async def test_restricted_events_never_move_a_public_feed(
    quiet: TestClient, publisher: dict[str, str], clock: Clock
) -> None:
    """A public feed with no matching public brief changed its ETag and <updated> at each
    restricted event (``feed_updated`` fell back to the newest event of any audience)."""
    app: Any = quiet.server.app

    async def feed() -> tuple[str, str, bytes]:
        response = await quiet.get("/feeds/briefs.atom")
        return response.headers["ETag"], response.headers["Last-Modified"], await response.read()

    before = await feed()
    clock.now = datetime(2026, 11, 23, 10, tzinfo=UTC)
    secret = brief_body(title="Restricted", audience="practitioners")
    created = await (await quiet.post("/api/v1/briefs", json=secret, headers=publisher)).json()
    url = f"/api/v1/briefs/{created['id']}"
    for step in ("publish", "withdraw", "restore", "publish"):
        clock.advance(minutes=5)
        await ok(await quiet.post(f"{url}/{step}", headers=publisher))
        await drain(app)
        assert await feed() == before, step


async def test_read_it_online_in_a_restricted_alert_leads_to_sign_in_and_back(
    quiet: TestClient, publisher: dict[str, str], clock: Clock, sessions: Any, smtp_server: Any
) -> None:
    """The link opened "Page not found"."""
    async with sessions.begin() as session:
        await factories.person(session, "hv@nhs.net", "immediate", since=SINCE)
    app: Any = quiet.server.app
    brief = await publish(
        quiet, publisher, clock, "2026-11-23 10:00", title="Secret", audience="practitioners"
    )
    await drain(app)
    (alert,) = smtp_server.messages
    assert f"/briefs/{brief}" in text(alert)
    assert "sign in with your work email address" in text(alert)
    page = await quiet.get(f"/briefs/{brief}")
    html = await page.text()
    assert page.status == 403
    assert f"/practitioners/sign-in?next=/briefs/{brief}" in html.replace("%2F", "/")
    assert "Secret" not in html


async def test_queued_alerts_are_cancelled_even_while_a_digest_is_being_sent(
    quiet: TestClient, publisher: dict[str, str], clock: Clock, sessions: Any, smtp_server: Any
) -> None:
    """The digest handler waited for the digest in flight before the alerts were cancelled,
    and the mail worker went on sending them meanwhile (found by review)."""
    async with sessions.begin() as session:
        await factories.person(session, "now@nhs.net", "immediate", since=SINCE)
        await factories.person(session, "daily@nhs.net", "daily", since=SINCE)
    app: Any = quiet.server.app
    gone = await publish(quiet, publisher, clock, "2026-11-23 10:00", title="Withdrawn brief")
    smtp_server.stop()
    await digest(quiet, clock, "daily", "2026-11-24 07:30")  # alert and digest queued
    async with sessions.begin() as session:
        queued = await session.scalar(select(MailMessage).where(MailMessage.kind == "digest"))
        assert queued is not None
        queued.status, queued.leased_until = "sending", clock.now.replace(hour=9)
    await ok(await quiet.post(f"/api/v1/briefs/{gone}/withdraw", headers=publisher))
    await app[dispatcher_key].run_once()  # waits for the digest, having cancelled the alert
    async with sessions() as session:
        alert = await session.scalar(select(MailMessage).where(MailMessage.kind == "alert"))
    assert alert is not None and alert.status == "cancelled"


async def test_people_who_stopped_their_emails_are_not_told_and_pending_notices_count(
    quiet: TestClient, publisher: dict[str, str], clock: Clock, sessions: Any, smtp_server: Any
) -> None:
    """Found by review: someone who had ended their subscription still got "Withdrawn" and
    "Published again"; someone whose withdrawal notice was still queued got a plain alert."""
    async with sessions.begin() as session:
        await factories.person(session, "stays@nhs.net", "immediate", since=SINCE)
        await factories.person(session, "leaves@nhs.net", "immediate", since=SINCE)
    app: Any = quiet.server.app
    brief = await publish(quiet, publisher, clock, "2026-11-23 10:00", title="Twice")
    await drain(app)
    async with sessions.begin() as session:
        leaving = await session.scalar(
            select(Subscriber).where(Subscriber.email == "leaves@nhs.net")
        )
        assert leaving is not None
        end(leaving, clock.now)
    url = f"/api/v1/briefs/{brief}"
    smtp_server.stop()  # the withdrawal notice waits in the queue
    await ok(await quiet.post(f"{url}/withdraw", headers=publisher))
    await ok(await quiet.post(f"{url}/restore", headers=publisher))
    await ok(await quiet.post(f"{url}/publish", headers=publisher))
    await drain(app)
    smtp_server.start()
    clock.advance(hours=1)
    await drain(app)
    assert [m.parsed()["Subject"] for m in to(smtp_server, "leaves@nhs.net")] == [
        "New learning brief: Twice"
    ]
    assert [m.parsed()["Subject"] for m in to(smtp_server, "stays@nhs.net")] == [
        "New learning brief: Twice",
        "Withdrawn: Twice",
        "Published again: Twice",
    ]


async def test_a_digest_run_that_overlaps_a_withdrawal_plans_again(
    quiet: TestClient,
    publisher: dict[str, str],
    clock: Clock,
    sessions: Any,
    smtp_server: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Found by review: a run planned before a withdrawal wrote digests carrying the brief
    after the withdrawal had been handled, and nobody was ever told."""
    async with sessions.begin() as session:
        await factories.person(session, "daily@nhs.net", "daily", since=SINCE)
    app: Any = quiet.server.app
    await publish(quiet, publisher, clock, "2026-11-23 10:00", title="Kept brief")
    gone = await publish(quiet, publisher, clock, "2026-11-23 11:00", title="Withdrawn brief")
    await drain(app)
    original = digest_service.compose
    withdrawn: list[bool] = []

    async def compose_then_withdraw(*args: Any, **kwargs: Any) -> Any:
        batch = await original(*args, **kwargs)
        if not withdrawn:  # between planning and writing the first batch
            withdrawn.append(True)
            await ok(await quiet.post(f"/api/v1/briefs/{gone}/withdraw", headers=publisher))
            await drain(app)
        return batch

    monkeypatch.setattr(digest_service, "compose", compose_then_withdraw)
    summary = await digest(quiet, clock, "daily", "2026-11-24 07:30")
    assert withdrawn and summary.queued == 1
    (sent,) = to(smtp_server, "daily@nhs.net")
    assert "Kept brief" in text(sent) and "Withdrawn brief" not in text(sent)


async def test_a_rewritten_digest_keeps_a_brief_updated_after_its_cutoff(
    quiet: TestClient, publisher: dict[str, str], clock: Clock, sessions: Any, smtp_server: Any
) -> None:
    """Found by review: the rewrite planned the run again, in which a brief updated since the
    cutoff no longer fell; the digest was cancelled and Alpha came a day late as "updated"."""
    async with sessions.begin() as session:
        await factories.person(session, "daily@nhs.net", "daily", since=SINCE)
    app: Any = quiet.server.app
    alpha = await publish(quiet, publisher, clock, "2026-11-23 10:00", title="Alpha")
    bravo = await publish(quiet, publisher, clock, "2026-11-23 11:00", title="Bravo")
    await drain(app)
    smtp_server.stop()
    await digest(quiet, clock, "daily", "2026-11-24 07:30")
    clock.advance(minutes=10)
    update = {"summary": "New findings.", "significant": True, "change_note": "Findings"}
    await ok(await quiet.patch(f"/api/v1/briefs/{alpha}", json=update, headers=publisher))
    await ok(await quiet.post(f"/api/v1/briefs/{bravo}/withdraw", headers=publisher))
    await drain(app)
    smtp_server.start()
    clock.advance(hours=1)
    await drain(app)
    (sent,) = to(smtp_server, "daily@nhs.net")
    assert "Alpha" in text(sent) and "Bravo" not in text(sent)


async def test_a_domain_removed_from_the_settings_takes_back_what_is_queued_to_it(
    quiet: TestClient,
    publisher: dict[str, str],
    clock: Clock,
    sessions: Any,
    smtp_server: Any,
    aiohttp_client: Any,
    mail_settings: Any,
) -> None:
    """Found by review: a restricted alert queued to hv@nhs.net still went after nhs.net was
    removed from LEARNHUB_PRACTITIONER_DOMAINS and the service restarted."""
    async with sessions.begin() as session:
        await factories.person(session, "hv@nhs.net", "immediate", since=SINCE)
        await factories.person(session, "pc@merseyside.police.uk", "immediate", since=SINCE)
    app: Any = quiet.server.app
    smtp_server.stop()
    await publish(
        quiet,
        publisher,
        clock,
        "2026-11-23 10:00",
        title="Restricted Heron",
        audience="practitioners",
    )
    await app[dispatcher_key].run_once()  # both alerts queued, none sent
    narrower = mail_settings.model_copy(update={"practitioner_domains": ("merseyside.police.uk",)})
    restarted = await aiohttp_client(create_app(narrower, clock=clock))  # workers run
    smtp_server.start()
    await smtp_server.received(1)

    async def statuses() -> dict[str, str]:
        async with sessions() as session:
            return {m.recipient: m.status for m in await session.scalars(select(MailMessage))}

    async def settled() -> bool:
        return not {"pending", "sending"} & set((await statuses()).values())

    await until(settled, within=10, what="neither alert still to send")
    assert await statuses() == {"hv@nhs.net": "cancelled", "pc@merseyside.police.uk": "sent"}
    assert [m.recipients for m in smtp_server.messages] == [("pc@merseyside.police.uk",)]
    assert restarted.server.app is not None
