"""A digest's "I've read this" and "Record a team discussion" links: one signed token per
person and purpose in each digest, the brief's id after it in the path, checked against what
the person was sent. A brief id they were not sent opens nothing and stores nothing; the
per-brief links already in inboxes (alerts carry them still) keep working."""

from __future__ import annotations

import re
import uuid
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from learnhub.keys import links_key
from practice.acknowledgements.models import Acknowledgement
from practice.discussions.models import TeamDiscussion
from subscribers.subscriptions.models import Subscriber
from subscribers.subscriptions.tokens import Claims, Purpose
from tests import factories
from tests.conftest import Clock
from tests.digests.conftest import digest, mail_settings, publish, quiet, smtp_server
from tests.digests.test_runs import MONDAY
from tests.smtp import Received, SmtpServer
from tests.subscribers.conftest import BASE
from tests.web.helpers import HTML, csrf
from tests.web.test_discussions import good

__all__ = ["mail_settings", "quiet", "smtp_server"]


def texts(message: Received) -> tuple[str, str]:
    parsed = message.parsed()
    text = parsed.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = parsed.get_body(("html",)).get_content()  # type: ignore[union-attr]
    return text.replace("\r\n", "\n"), html


def links(message: Received, path: str) -> dict[str, str]:
    """Each brief's link to ``path`` in the digest (brief id -> token), the same in both parts."""
    text, html = texts(message)
    found = re.findall(re.escape(BASE + path) + r"([^/\s\"]+)/([0-9a-f-]{36})[\s\"]", text + html)
    by_brief: dict[str, set[str]] = {}
    for token, brief_id in found:
        by_brief.setdefault(brief_id, set()).add(token)
    assert all(len(tokens) == 1 for tokens in by_brief.values()), by_brief
    assert len(found) == 2 * len(by_brief), found  # once in each part
    return {brief_id: tokens.pop() for brief_id, tokens in by_brief.items()}


async def setup(
    quiet: TestClient,
    publisher: dict[str, str],
    clock: Clock,
    sessions: async_sessionmaker[AsyncSession],
    smtp_server: SmtpServer,
) -> tuple[Received, dict[str, str]]:
    """A week's digest to hv@nhs.net carrying two briefs; a third brief went to someone else."""
    async with sessions.begin() as session:
        await factories.person(session, "hv@nhs.net", "weekly", since=MONDAY, themes=["neglect"])
        await factories.person(
            session, "h@gmail.com", "weekly", since=MONDAY, themes=["exploitation"]
        )
    await digest(quiet, clock, "weekly", "2026-11-23 08:00")
    ids = {
        "first": await publish(
            quiet, publisher, clock, "2026-11-24 10:00", title="First", themes=["neglect"]
        ),
        "second": await publish(
            quiet, publisher, clock, "2026-11-25 10:00", title="Second", themes=["neglect"]
        ),
        "elsewhere": await publish(
            quiet, publisher, clock, "2026-11-26 10:00", title="Elsewhere", themes=["exploitation"]
        ),
    }
    smtp_server.messages.clear()
    summary = await digest(quiet, clock, "weekly", "2026-11-30 09:00")  # sent, and recorded
    assert summary.queued == 2
    [mine] = [m for m in smtp_server.messages if m.recipients == ("hv@nhs.net",)]
    return mine, ids


async def acknowledgements(sessions: async_sessionmaker[AsyncSession]) -> list[Acknowledgement]:
    async with sessions() as session:
        return list(await session.scalars(select(Acknowledgement)))


async def records(sessions: async_sessionmaker[AsyncSession]) -> list[TeamDiscussion]:
    async with sessions() as session:
        return list(await session.scalars(select(TeamDiscussion)))


async def test_a_digest_signs_one_token_per_purpose_and_names_each_brief_in_the_path(
    quiet: TestClient,
    publisher: dict[str, str],
    clock: Clock,
    sessions: async_sessionmaker[AsyncSession],
    smtp_server: SmtpServer,
) -> None:
    mine, ids = await setup(quiet, publisher, clock, sessions, smtp_server)
    acknowledge = links(mine, "/acknowledge/")
    discuss = links(mine, "/discussions/new/")
    assert set(acknowledge) == set(discuss) == {ids["first"], ids["second"]}
    assert len(set(acknowledge.values())) == len(set(discuss.values())) == 1
    tokens: Any = quiet.app[links_key].tokens  # type: ignore[index]
    async with sessions() as session:
        person = await session.scalar(select(Subscriber).where(Subscriber.email == "hv@nhs.net"))
    assert person is not None
    for token, purpose in (
        (acknowledge[ids["first"]], Purpose.acknowledge_sent),
        (discuss[ids["first"]], Purpose.discuss_sent),
    ):
        claims = tokens.read(token, purpose)
        assert (claims.subscriber_id, claims.brief_id) == (person.id, None)
    text, _ = texts(mine)
    path = f"/acknowledge/{acknowledge[ids['first']]}/{ids['first']}"
    assert f"I've read this: {BASE}{path}\n" in text

    page = await quiet.get(path)
    assert page.status == 200 and "First" in await page.text()
    done = await quiet.post(path, data={"csrf_token": csrf(await page.text()), "answer": "Yes"})
    assert done.status == 200 and done.url.path == path
    [row] = await acknowledgements(sessions)
    assert (str(row.brief_id), row.brief_title, row.answer) == (ids["first"], "First", "Yes")

    form = f"/discussions/new/{discuss[ids['second']]}/{ids['second']}"
    opened = await quiet.get(form, headers=HTML)
    html = await opened.text()
    assert opened.status == 200 and "Second" in html
    assert opened.headers["Cache-Control"] == "private, no-store"
    held = {"held_on-day": "30", "held_on-month": "11"}  # the digest's day
    fields = good("ignored", token=form.removeprefix("/discussions/new/"), **held)
    saved = await quiet.post(
        "/discussions", data={"csrf_token": csrf(html), **fields}, allow_redirects=False
    )
    assert saved.status == 303, await saved.text()
    [record] = await records(sessions)
    assert (str(record.brief_id), record.recorder_email) == (ids["second"], "hv@nhs.net")


async def test_a_brief_the_person_was_not_sent_is_refused_with_a_clear_page_and_nothing_stored(
    quiet: TestClient,
    publisher: dict[str, str],
    clock: Clock,
    sessions: async_sessionmaker[AsyncSession],
    smtp_server: SmtpServer,
) -> None:
    mine, ids = await setup(quiet, publisher, clock, sessions, smtp_server)
    token = links(mine, "/acknowledge/")[ids["first"]]
    team = links(mine, "/discussions/new/")[ids["first"]]
    page = await (await quiet.get(f"/acknowledge/{token}/{ids['first']}")).text()
    field = csrf(page)

    for foreign in (ids["elsewhere"], str(uuid.uuid4()), "not-a-brief"):
        for response in (
            await quiet.get(f"/acknowledge/{token}/{foreign}", headers=HTML),
            await quiet.post(
                f"/acknowledge/{token}/{foreign}", data={"csrf_token": field, "answer": "x"}
            ),
            await quiet.get(f"/discussions/new/{team}/{foreign}", headers=HTML),
            await quiet.post(
                "/discussions",
                data={"csrf_token": field, **good(ids["first"], token=f"{team}/{foreign}")},
                headers=HTML,
            ),
        ):
            html = await response.text()
            assert response.status == 404, html
            assert "This link can&#39;t be used" in html and "This link is not valid" in html
            assert "Elsewhere" not in html
    assert await acknowledgements(sessions) == [] and await records(sessions) == []

    # Each kind of token opens its own kind of link only.
    tokens: Any = quiet.app[links_key].tokens  # type: ignore[index]
    claims = tokens.read(token, Purpose.acknowledge_sent)
    per_brief = tokens.make(
        Claims(
            claims.subscriber_id, claims.version, Purpose.acknowledge, None, uuid.UUID(ids["first"])
        )
    )
    for path in (
        f"/acknowledge/{token}",  # no brief
        f"/acknowledge/{per_brief}/{ids['first']}",  # a per-brief token with a brief after it
        f"/acknowledge/{team}/{ids['first']}",  # the discussion link's token
        f"/discussions/new/{token}/{ids['first']}",
    ):
        refused = await quiet.get(path, headers=HTML)
        assert refused.status == 404 and "This link is not valid here" in await refused.text()
    assert await acknowledgements(sessions) == []


async def test_digest_links_are_revoked_and_expire_as_the_per_brief_ones_and_those_still_work(
    quiet: TestClient,
    publisher: dict[str, str],
    clock: Clock,
    sessions: async_sessionmaker[AsyncSession],
    smtp_server: SmtpServer,
) -> None:
    mine, ids = await setup(quiet, publisher, clock, sessions, smtp_server)
    path = f"/acknowledge/{links(mine, '/acknowledge/')[ids['first']]}/{ids['first']}"
    team = f"/discussions/new/{links(mine, '/discussions/new/')[ids['first']]}/{ids['first']}"
    async with sessions() as session:
        person = await session.scalar(select(Subscriber).where(Subscriber.email == "hv@nhs.net"))
    assert person is not None
    # The per-brief links of digests sent before, and of every alert: they keep working.
    made = quiet.app[links_key]  # type: ignore[index]
    for old in (
        made.acknowledge(person, uuid.UUID(ids["first"])),
        made.discuss(person, uuid.UUID(ids["first"])),
    ):
        opened = await quiet.get(old.removeprefix(BASE), headers=HTML)
        assert opened.status == 200 and "First" in await opened.text()

    async with sessions.begin() as session:
        await session.execute(update(Subscriber).values(token_version=Subscriber.token_version + 1))
    for revoked in (path, team):
        response = await quiet.get(revoked, headers=HTML)
        assert response.status == 404 and "This link no longer works" in await response.text()
    async with sessions.begin() as session:
        await session.execute(update(Subscriber).values(token_version=Subscriber.token_version - 1))
    assert (await quiet.get(path, headers=HTML)).status == 200

    clock.advance(days=91)
    expired = await quiet.get(team, headers=HTML)
    assert expired.status == 404 and "Links to record a team discussion last 90 days" in (
        await expired.text()
    )
    assert (await quiet.get(path, headers=HTML)).status == 200
    clock.advance(days=90)
    expired = await quiet.get(path, headers=HTML)
    assert expired.status == 404 and "Links to say you have read a brief last 180" in (
        await expired.text()
    )


async def test_a_brief_narrowed_after_the_digest_keeps_the_restricted_brief_rules(
    quiet: TestClient,
    publisher: dict[str, str],
    clock: Clock,
    sessions: async_sessionmaker[AsyncSession],
    smtp_server: SmtpServer,
) -> None:
    """Sent while public to an address that is no practitioner's, then narrowed: the
    digest's discussion link is the sign-in page, naming nothing of what the brief became;
    "I've read this" names only the title the person was sent."""
    _, ids = await setup(quiet, publisher, clock, sessions, smtp_server)
    [theirs] = [m for m in smtp_server.messages if m.recipients == ("h@gmail.com",)]
    brief_id = ids["elsewhere"]
    narrowed = await quiet.patch(
        f"/api/v1/briefs/{brief_id}",
        headers=publisher,
        json={"audience": "practitioners", "title": "Restricted now"},
    )
    assert narrowed.status == 200, await narrowed.text()
    team = f"/discussions/new/{links(theirs, '/discussions/new/')[brief_id]}/{brief_id}"
    refused = await quiet.get(team, headers=HTML)
    html = await refused.text()
    assert refused.status == 403 and "Sign in to record a team discussion" in html
    assert "Restricted now" not in html and "Elsewhere" not in html
    read = f"/acknowledge/{links(theirs, '/acknowledge/')[brief_id]}/{brief_id}"
    page = await quiet.get(read, headers=HTML)
    html = await page.text()
    assert page.status == 200 and "Elsewhere" in html and "Restricted now" not in html
    assert f'href="/briefs/{brief_id}"' not in html  # no way to the brief's page
