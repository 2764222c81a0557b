"""'I've read this': the link in alerts and digests, its page and post, the manage page,
export and erasure, through HTTP and a real SMTP server (issue 18, part 2)."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import func, select, update

from learnhub.keys import links_key
from practice.acknowledgements.models import Acknowledgement
from subscribers.subscriptions.models import Subscriber
from subscribers.subscriptions.tokens import Claims, Purpose
from tests import factories
from tests.conftest import Clock
from tests.smtp import Received, SmtpServer
from tests.subscribers.conftest import BASE, link, mail_settings, press_button, smtp_server, web
from tests.web.helpers import HTML, csrf, publish

__all__ = ["mail_settings", "smtp_server", "web"]
SINCE = datetime(2026, 11, 1, tzinfo=UTC)
RESTRICTED_TEXT = "Operation Nightjar"


def parts(message: Received) -> tuple[str, str]:
    parsed = message.parsed()
    text = parsed.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = parsed.get_body(("html",)).get_content()  # type: ignore[union-attr]
    return text.replace("\r\n", "\n"), html


def tokens(web: TestClient) -> Any:
    app: Any = web.app
    return app[links_key].tokens


async def rows(sessions: Any) -> list[Acknowledgement]:
    async with sessions() as session:
        return list(await session.scalars(select(Acknowledgement).order_by(Acknowledgement.id)))


async def alert_to(
    web: TestClient, smtp: SmtpServer, publisher: dict[str, str], who: str, **brief: Any
) -> tuple[str, str, Received]:
    """Publish a brief to ``who`` (an immediate subscriber); its id, the acknowledgement path
    from their alert, and the alert."""
    before = len(smtp.messages)
    brief_id = await publish(web, publisher, **brief)
    (alert,) = [m for m in await smtp.received(before + 1) if who in m.recipients][-1:]
    return brief_id, link(alert, "/acknowledge/"), alert


async def test_the_alert_carries_the_persons_link_get_changes_nothing_post_records_and_updates(
    web: TestClient, smtp_server: SmtpServer, publisher: dict[str, str], sessions: Any
) -> None:
    async with sessions.begin() as session:
        await factories.person(session, "hv@nhs.net", "immediate", since=SINCE)
    brief_id, path, alert = await alert_to(web, smtp_server, publisher, "hv@nhs.net")
    text, html = parts(alert)
    token = path.rsplit("/", 1)[1]
    # Both parts, the same link; it names the person and the brief, signed.
    assert f"I've read this: {BASE}{path}\n" in text
    assert f'<a href="{BASE}{path}">I&#39;ve read this</a>' in html or (
        f'<a href="{BASE}{path}">I\'ve read this</a>' in html
    )
    claims = tokens(web).read(token, Purpose.acknowledge)
    async with sessions() as session:
        person = await session.scalar(select(Subscriber).where(Subscriber.email == "hv@nhs.net"))
    assert person is not None
    assert (claims.subscriber_id, claims.brief_id) == (person.id, uuid.UUID(brief_id))

    page = await web.get(path)
    body = await page.text()
    assert page.status == 200
    assert "I&#39;ve read this" in body or "I've read this" in body
    assert "Safer sleep and the crying baby" in body  # the title they were sent
    assert "How will this change your practice? (optional)" in body
    assert "Discuss safer sleep" not in body  # no content of the brief, only its title
    assert await rows(sessions) == []  # a GET (a mail scanner) records nothing
    # The token stays out of the header's sign-in link (its stored next path, the Referer).
    assert 'href="/practitioners/sign-in"' in body and token not in body.replace(path, "")

    done = await web.post(path, data={"csrf_token": csrf(body), "answer": "  "})
    assert done.status == 200 and done.url.path == path and done.url.query.get("saved") == "1"
    assert "We have recorded that you have read this learning brief" in await done.text()
    (first,) = await rows(sessions)
    assert first.answer is None and first.subscriber_id == person.id
    assert first.brief_title == "Safer sleep and the crying baby: learning from Baby T"

    answer = "Ask about sleep at every visit.\r\nRecord who lives at home."
    again = await web.post(path, data={"csrf_token": csrf(body), "answer": answer})
    assert again.status == 200
    assert "You told us you had read this learning brief on" in await again.text()
    (second,) = await rows(sessions)
    assert second.id == first.id  # one per person and brief: the answer is updated
    assert second.answer == "Ask about sleep at every visit.\nRecord who lives at home."
    assert second.acknowledged_at == first.acknowledged_at

    # Without the CSRF field (a page on another site posting to the link): refused.
    forged = await web.post(path, data={"answer": "x"})
    assert forged.status == 403
    assert (await rows(sessions))[0].answer == second.answer


async def test_an_answer_over_2000_characters_is_a_form_error_and_nothing_is_stored(
    web: TestClient, smtp_server: SmtpServer, publisher: dict[str, str], sessions: Any
) -> None:
    async with sessions.begin() as session:
        await factories.person(session, "hv@nhs.net", "immediate", since=SINCE)
    _, path, _ = await alert_to(web, smtp_server, publisher, "hv@nhs.net")
    page = await (await web.get(path)).text()
    too_long = await web.post(path, data={"csrf_token": csrf(page), "answer": "x" * 2001})
    html = await too_long.text()
    assert too_long.status == 422
    assert "<title>Error: " in html
    assert '<a href="#answer">Your answer must be 2,000 characters or fewer</a>' in html
    assert 'id="answer-error"' in html and "govuk-textarea--error" in html
    assert "x" * 2001 in html  # what they wrote is kept for them to cut
    assert await rows(sessions) == []
    # 2,000 exactly, line breaks counted once however the browser sent them, is fine.
    fits = "y" * 1998 + "\r\nz"
    assert (await web.post(path, data={"csrf_token": csrf(page), "answer": fits})).status == 200
    assert len((await rows(sessions))[0].answer or "") == 2000


async def test_forged_expired_rotated_and_other_purposes_tokens_open_nothing(
    web: TestClient,
    smtp_server: SmtpServer,
    publisher: dict[str, str],
    sessions: Any,
    clock: Clock,
) -> None:
    async with sessions.begin() as session:
        await factories.person(session, "hv@nhs.net", "immediate", since=SINCE)
    brief_id, path, _ = await alert_to(web, smtp_server, publisher, "hv@nhs.net")
    token = path.rsplit("/", 1)[1]
    page = await (await web.get(path)).text()
    field = csrf(page)
    made = tokens(web)
    claims = made.read(token, Purpose.acknowledge)

    async def refused(path: str, says: str) -> None:
        for response in (
            await web.get(path, headers=HTML),
            await web.post(path, data={"csrf_token": field, "answer": "x"}),
        ):
            html = await response.text()
            assert response.status == 404, html
            assert "This link can" in html and says in html
        assert await rows(sessions) == []

    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    await refused(f"/acknowledge/{forged}", "This link is not valid. Check that you copied")
    # Other purposes' tokens are not acknowledgement tokens, and the other way round.
    manage = made.make(Claims(claims.subscriber_id, claims.version, Purpose.manage))
    await refused(f"/acknowledge/{manage}", "This link is not valid here")
    discuss = made.make(
        Claims(claims.subscriber_id, claims.version, Purpose.discuss, None, claims.brief_id)
    )
    await refused(f"/acknowledge/{discuss}", "This link is not valid here")
    without_brief = made.make(Claims(claims.subscriber_id, claims.version, Purpose.acknowledge))
    await refused(f"/acknowledge/{without_brief}", "This link is not valid here")
    as_manage = await web.get(f"/subscriptions/manage/{token}", headers=HTML)
    assert as_manage.status == 404 and "This link is not valid here" in await as_manage.text()
    as_unsubscribe = await web.post(f"/unsubscribe/{token}", data={"List-Unsubscribe": "One-Click"})
    assert as_unsubscribe.status == 404

    # Links replaced by newer ones (the token version raised): the old one finds nobody.
    async with sessions.begin() as session:
        await session.execute(update(Subscriber).values(token_version=Subscriber.token_version + 1))
    await refused(path, "This link no longer works")
    async with sessions.begin() as session:
        await session.execute(update(Subscriber).values(token_version=Subscriber.token_version - 1))
    assert (await web.get(path)).status == 200

    # 180 days on, the link has expired.
    clock.advance(days=181)
    await refused(path, "This link has expired")
    # A brief that does not exist: 404 page.
    clock.advance(days=-181)
    nothing = made.make(
        Claims(claims.subscriber_id, claims.version, Purpose.acknowledge, None, uuid.uuid4())
    )
    missing = await web.get(f"/acknowledge/{nothing}", headers=HTML)
    assert missing.status == 404 and "Page not found" in await missing.text()
    assert brief_id


async def test_withdrawn_brief_410_and_the_manage_page_keeps_and_removes_what_was_read(
    web: TestClient, smtp_server: SmtpServer, publisher: dict[str, str], sessions: Any
) -> None:
    async with sessions.begin() as session:
        await factories.person(session, "hv@nhs.net", "immediate", since=SINCE)
    brief_id, path, alert = await alert_to(web, smtp_server, publisher, "hv@nhs.net")
    other_id, other_path, _ = await alert_to(
        web, smtp_server, publisher, "hv@nhs.net", title="Neglect: learning from Child R"
    )
    for at, answer in ((path, "Check the sleeping place."), (other_path, "")):
        page = await (await web.get(at)).text()
        assert (await web.post(at, data={"csrf_token": csrf(page), "answer": answer})).ok
    retitled = {"title": "Safer sleep: a new title", "significant": False}
    assert (await web.patch(f"/api/v1/briefs/{brief_id}", json=retitled, headers=publisher)).ok
    reason = {"reason": "Under review.", "note": "internal"}
    withdrawn = await web.post(
        f"/api/v1/briefs/{brief_id}/withdraw", json=reason, headers=publisher
    )
    assert withdrawn.status == 200, await withdrawn.text()

    for response in (
        await web.get(path, headers=HTML),
        await web.post(path, data={"csrf_token": csrf(page), "answer": "again"}),
    ):
        html = await response.text()
        assert response.status == 410
        assert "This learning brief has been withdrawn" in html and "Under review." in html
    assert [r.answer for r in await rows(sessions)] == ["Check the sleeping place.", None]

    manage = link(alert, "/subscriptions/manage/")
    listing = await (await web.get(manage)).text()
    assert "Briefs you told us you have read" in listing
    # Listed by the title the person was sent, marked withdrawn, with their answer.
    assert "Safer sleep and the crying baby: learning from Baby T" in listing
    assert "a new title" not in listing
    assert re.search(r"learning from Baby T <strong class=\"govuk-tag[^\"]*\">Withdrawn", listing)
    assert "Check the sleeping place." in listing and "Neglect: learning from Child R" in listing

    first = (await rows(sessions))[0]
    stranger = await web.post(
        manage,
        data={
            "csrf_token": csrf(listing),
            "action": "remove_acknowledgement",
            "acknowledgement": "999",
        },
    )
    assert stranger.status == 200 and len(await rows(sessions)) == 2  # not theirs: nothing
    removed = await web.post(
        manage,
        data={
            "csrf_token": csrf(listing),
            "action": "remove_acknowledgement",
            "acknowledgement": str(first.id),
        },
    )
    page = await removed.text()
    assert removed.status == 200 and "That acknowledgement has been removed." in page
    assert [r.brief_id for r in await rows(sessions)] == [uuid.UUID(other_id)]
    assert "Check the sleeping place." not in page


async def test_a_restricted_brief_shows_only_the_title_the_person_was_sent(
    web: TestClient, smtp_server: SmtpServer, publisher: dict[str, str], sessions: Any
) -> None:
    """Sent publicly, then narrowed and retitled: the outsider's page names what they were
    sent and nothing since, and no link to read it; a token for a restricted brief they were
    never sent (their mail gone, say) names nothing at all. The practitioner sees their own."""
    async with sessions.begin() as session:
        await factories.person(session, "outsider@gmail.com", "immediate", since=SINCE)
        await factories.person(session, "hv@nhs.net", "immediate", since=SINCE)
    before = len(smtp_server.messages)
    brief_id = await publish(web, publisher, title="Public title")
    sent = await smtp_server.received(before + 2)
    by = {m.recipients[0]: link(m, "/acknowledge/") for m in sent[before:]}
    secret = {"audience": "practitioners", "title": f"{RESTRICTED_TEXT}: restricted"}
    assert (await web.patch(f"/api/v1/briefs/{brief_id}", json=secret, headers=publisher)).ok

    outsider = await (await web.get(by["outsider@gmail.com"])).text()
    assert "Public title" in outsider
    assert RESTRICTED_TEXT not in outsider and "Discuss safer sleep" not in outsider
    assert f'href="/briefs/{brief_id}"' not in outsider
    assert (
        await web.post(by["outsider@gmail.com"], data={"csrf_token": csrf(outsider)})
    ).status == 200
    practitioner = await (await web.get(by["hv@nhs.net"])).text()
    assert "Public title" in practitioner and f'href="/briefs/{brief_id}"' in practitioner

    second = await publish(web, publisher, title=f"{RESTRICTED_TEXT} two", audience="practitioners")
    async with sessions() as session:
        person = await session.scalar(
            select(Subscriber).where(Subscriber.email == "outsider@gmail.com")
        )
    assert person is not None
    never_sent = tokens(web).make(
        Claims(person.id, person.token_version, Purpose.acknowledge, None, uuid.UUID(second))
    )
    page = await web.get(f"/acknowledge/{never_sent}")
    html = await page.text()
    assert page.status == 200 and RESTRICTED_TEXT not in html
    assert "Discuss safer sleep" not in html and f'href="/briefs/{second}"' not in html
    (recorded,) = await rows(sessions)
    assert recorded.brief_title == "Public title"


async def test_export_includes_and_erasure_deletes_acknowledgements(
    web: TestClient, smtp_server: SmtpServer, publisher: dict[str, str], sessions: Any
) -> None:
    async with sessions.begin() as session:
        await factories.person(session, "hv@nhs.net", "immediate", since=SINCE)
    brief_id, path, alert = await alert_to(web, smtp_server, publisher, "hv@nhs.net")
    page = await (await web.get(path)).text()
    await web.post(path, data={"csrf_token": csrf(page), "answer": "Ask who lives there."})
    manage = link(alert, "/subscriptions/manage/")
    token = manage.rsplit("/", 1)[1]

    exported = json.loads(await (await web.get(f"/api/v1/subscriptions/{token}/export")).text())
    (entry,) = exported["acknowledgements"]
    assert entry["brief_id"] == brief_id
    assert entry["title"] == "Safer sleep and the crying baby: learning from Baby T"
    assert entry["answer"] == "Ask who lives there."
    assert entry["acknowledged_at"] and entry["updated_at"]

    assert (await web.post(f"/api/v1/subscriptions/{token}/erase")).status == 204
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Acknowledgement)) == 0
    gone = await web.get(path, headers=HTML)
    assert gone.status == 404 and "This link no longer works" in await gone.text()


async def test_a_group_member_without_a_subscription_acknowledges_through_their_alert(
    web: TestClient, smtp_server: SmtpServer, admin: dict[str, str], sessions: Any
) -> None:
    group = {
        "name": "Wirral early help",
        "description": "Early help practitioners",
        "frequency": "immediate",
        "themes": ["safer-sleep"],
        "practitioners_only": False,
    }
    created = await (await web.post("/api/v1/groups", json=group, headers=admin)).json()
    members = f"/api/v1/groups/{created['id']}/members"
    await web.post(members, json={"email": "volunteer@gmail.com"}, headers=admin)
    invite = (await smtp_server.received(1))[0]
    joined = await press_button(web, link(invite, "/subscriptions/join/"))
    assert joined.status == 200
    async with sessions() as session:
        person = await session.scalar(
            select(Subscriber).where(Subscriber.email == "volunteer@gmail.com")
        )
    assert person is not None and person.status != "active"  # no subscription of their own

    brief_id, path, alert = await alert_to(web, smtp_server, admin, "volunteer@gmail.com")
    assert "you are a member of Wirral early help" in parts(alert)[0]
    page = await (await web.get(path)).text()
    assert (await web.post(path, data={"csrf_token": csrf(page), "answer": "Share it"})).ok
    (row,) = await rows(sessions)
    assert (row.subscriber_id, row.brief_id) == (person.id, uuid.UUID(brief_id))
    listing = await (await web.get(link(alert, "/subscriptions/manage/"))).text()
    assert "Safer sleep and the crying baby" in listing and "Share it" in listing
