"""Saying what will happen (issue 19, part 3): the publish and significant-update
confirmations count the people who will be emailed now and those whose next digest will carry
the brief, from the real matching; the brief's page says the same once done; and an edit of a
published brief asks, and must be told, whether the change is significant."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from html import unescape
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from learnhub.app import create_app
from service.mail.models import MailDelivery, MailMessage
from service.settings import Settings
from tests.conftest import Clock
from tests.digests.conftest import digest, drain
from tests.factories import person
from tests.smtp import SmtpServer
from tests.web.conftest import PUBLISHER, form_post, link
from tests.web.test_console_briefs import TEXT, _create, ticked

SINCE = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
async def web(
    aiohttp_client: Any, mail_settings: Settings, clock: Clock, engine: Any
) -> TestClient:
    """The console without its workers: the test sends what is due (drain), and counts it."""
    app = create_app(mail_settings, clock=clock, run_workers=False)
    return await aiohttp_client(app)  # type: ignore[no-any-return]


async def sign_in(web: TestClient, smtp: SmtpServer, email: str) -> None:
    before = len(smtp.messages)
    assert (await form_post(web, "/staff/sign-in", {"email": email})).status == 303
    await drain(web.server.app)  # type: ignore[arg-type]
    path = link((await smtp.received(before + 1))[-1], "/staff/sign-in/")
    assert (await form_post(web, path, {})).status == 303


async def _people(sessions: Any) -> None:
    """Three immediate subscribers the brief concerns, and one it doesn't; two daily and one
    weekly it concerns; one paused."""
    async with sessions.begin() as session:
        for n in range(3):
            await person(session, f"now{n}@nhs.net", since=SINCE, themes=["safer-sleep"])
        await person(session, "other@nhs.net", since=SINCE, themes=["exploitation"])
        await person(session, "daily0@nhs.net", "daily", since=SINCE)
        await person(session, "daily1@nhs.net", "daily", since=SINCE, boroughs=["sefton"])
        await person(session, "weekly@nhs.net", "weekly", since=SINCE)
        await person(session, "paused@nhs.net", since=SINCE, paused=True)


def said(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


async def _sent(sessions: Any, brief_id: str, kind: str) -> int:
    async with sessions() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(MailMessage)
            .join(MailDelivery, MailDelivery.message_id == MailMessage.id)
            .where(MailDelivery.brief_id == uuid.UUID(brief_id), MailMessage.kind == kind)
        )
    return int(count or 0)


async def test_publishing_says_how_many_people_it_will_email_and_then_does(
    web: TestClient, smtp_server: SmtpServer, staff: None, sessions: Any, clock: Any
) -> None:
    await _people(sessions)
    await sign_in(web, smtp_server, PUBLISHER)
    brief_id, _ = await _create(web)

    confirm = said(await (await web.get(f"/staff/briefs/{brief_id}/publish")).text())
    assert "This will email 3 people now and appear in 3 people's next digest." in confirm

    response = await form_post(web, f"/staff/briefs/{brief_id}/publish", {})
    assert response.status == 303
    done = said(await (await web.get(response.headers["Location"])).text())
    assert "The brief has been published: 3 people are being emailed now" in done
    assert "it will be in 3 people's next digest" in done

    app = web.server.app
    assert app is not None
    await drain(app)
    assert await _sent(sessions, brief_id, "alert") == 3
    await digest(web, clock, "daily", "2026-11-24T07:31:00")
    await digest(web, clock, "weekly", "2026-11-30T07:31:00")
    assert await _sent(sessions, brief_id, "digest") == 3


async def _edit(web: TestClient, brief_id: str, **fields: str) -> Any:
    edit = await (await web.get(f"/staff/briefs/{brief_id}/edit")).text()
    themes = [("themes", t) for t in sorted(ticked(edit, "themes"))]
    boroughs = [("boroughs", b) for b in sorted(ticked(edit, "boroughs"))]
    given = {**TEXT, "action": "save", **fields}
    return await form_post(
        web,
        f"/staff/briefs/{brief_id}/edit",
        [*given.items(), ("reviewed", "yes"), *themes, *boroughs],
    )


async def test_an_edit_of_a_published_brief_must_say_whether_it_is_significant(
    web: TestClient, smtp_server: SmtpServer, staff: None, sessions: Any
) -> None:
    await _people(sessions)
    await sign_in(web, smtp_server, PUBLISHER)
    brief_id, _ = await _create(web)
    assert (await form_post(web, f"/staff/briefs/{brief_id}/publish", {})).status == 303
    app = web.server.app
    assert app is not None
    await drain(app)

    editor = await (await web.get(f"/staff/briefs/{brief_id}/edit")).text()
    assert "Is this a significant change?" in said(editor)
    assert 'name="significant" type="radio" value="yes"' in editor
    assert 'name="significant" type="radio" value="no"' in editor

    # Neither chosen: an error naming the question, nothing saved.
    response = await _edit(web, brief_id, summary="Changed quietly.")
    html = await response.text()
    assert response.status == 422
    assert 'href="#significant"' in html
    assert "Select yes if this is a significant change" in said(html)
    assert "Changed quietly." not in await (await web.get(f"/briefs/{brief_id}")).text()

    # Yes without a note: the note is asked for.
    response = await _edit(web, brief_id, summary="New findings.", significant="yes")
    assert response.status == 422
    assert 'href="#change_note"' in await response.text()

    # Yes with a note: the confirmation counts from the matching of the brief as edited.
    fields = {"summary": "New findings.", "significant": "yes", "change_note": "Coroner."}
    response = await _edit(web, brief_id, **fields)
    confirm = await response.text()
    assert response.status == 200
    assert "This will email 3 people now and appear in 3 people's next digest." in said(confirm)
    found = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', confirm)
    hidden = [(name, unescape(value)) for name, value in found]
    response = await web.post(
        f"/staff/briefs/{brief_id}/edit", data=[*hidden, ("action", "save")], allow_redirects=False
    )
    assert response.status == 303
    done = said(await (await web.get(response.headers["Location"])).text())
    assert "The update has been published: 3 people are being emailed now" in done
    await drain(app)
    async with sessions() as session:
        alerts = await session.scalar(
            select(func.count()).select_from(MailMessage).where(MailMessage.kind == "alert")
        )
    assert alerts == 6  # three at publication, three for the update

    # No: saved, nobody emailed.
    response = await _edit(web, brief_id, summary="A typo fixed.", significant="no")
    assert response.status == 303
    done = said(await (await web.get(response.headers["Location"])).text())
    assert "Your changes have been saved. Nobody is emailed about them." in done
    await drain(app)
    async with sessions() as session:
        assert (
            await session.scalar(
                select(func.count()).select_from(MailMessage).where(MailMessage.kind == "alert")
            )
            == 6
        )


async def test_a_brief_nobody_follows_says_nobody_will_be_emailed(
    web: TestClient, smtp_server: SmtpServer, staff: None, sessions: Any
) -> None:
    async with sessions.begin() as session:
        await person(session, "other@nhs.net", since=SINCE, themes=["exploitation"])
    await sign_in(web, smtp_server, PUBLISHER)
    brief_id, _ = await _create(web)
    confirm = said(await (await web.get(f"/staff/briefs/{brief_id}/publish")).text())
    assert "No subscriber's choices match it: nobody will be emailed." in confirm
    response = await form_post(web, f"/staff/briefs/{brief_id}/publish", {})
    done = said(await (await web.get(response.headers["Location"])).text())
    assert "The brief has been published. No subscriber's choices match it" in done


async def test_publishing_again_after_a_withdrawal_counts_those_told_it_is_back(
    web: TestClient, smtp_server: SmtpServer, staff: None, sessions: Any, clock: Any
) -> None:
    """Everyone told of the withdrawal hears at once that it is back, whatever their
    frequency, and not again in a digest (found by review: the count left them out)."""
    await _people(sessions)
    await sign_in(web, smtp_server, PUBLISHER)
    brief_id, _ = await _create(web)
    assert (await form_post(web, f"/staff/briefs/{brief_id}/publish", {})).status == 303
    app = web.server.app
    assert app is not None
    await drain(app)
    await digest(web, clock, "daily", "2026-11-24T07:31:00")
    await digest(web, clock, "weekly", "2026-11-30T07:31:00")
    await sign_in(web, smtp_server, PUBLISHER)  # a week on: the console session has ended
    withdrawn = await form_post(web, f"/staff/briefs/{brief_id}/withdraw", {})
    assert withdrawn.headers["Location"].endswith("done=withdrawn")
    await drain(app)
    assert (await form_post(web, f"/staff/briefs/{brief_id}/restore", {})).status == 303
    before = await _sent(sessions, brief_id, "alert"), await _sent(sessions, brief_id, "digest")

    confirm = said(await (await web.get(f"/staff/briefs/{brief_id}/publish")).text())
    assert "This will email 6 people now and appear in 0 people's next digest." in confirm
    assert (await form_post(web, f"/staff/briefs/{brief_id}/publish", {})).status == 303
    await drain(app)
    await digest(web, clock, "daily", "2026-12-01T07:31:00")
    await digest(web, clock, "weekly", "2026-12-07T07:31:00")
    await drain(app)
    after = await _sent(sessions, brief_id, "alert"), await _sent(sessions, brief_id, "digest")
    assert (after[0] - before[0], after[1] - before[1]) == (6, 0)


async def test_a_significant_update_that_changes_nothing_is_refused(
    web: TestClient, smtp_server: SmtpServer, staff: None, sessions: Any
) -> None:
    await _people(sessions)
    await sign_in(web, smtp_server, PUBLISHER)
    brief_id, _ = await _create(web)
    assert (await form_post(web, f"/staff/briefs/{brief_id}/publish", {})).status == 303
    response = await _edit(web, brief_id, significant="yes", change_note="Coroner.")
    html = await response.text()
    assert response.status == 422
    assert "You have not changed the brief" in said(html)
    assert "This will email" not in said(html)
