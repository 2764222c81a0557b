"""Practitioners' sign-in by emailed link, and what the site shows them, through HTTP and SMTP."""

from __future__ import annotations

import asyncio
import re
from typing import Any
from urllib.parse import quote

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.mail.compose import Composer
from service.practitioners.models import PractitionerSession, PractitionerSignInLink
from service.practitioners.sessions import local_path, request_link
from service.settings import Settings
from tests.conftest import Clock
from tests.smtp import SmtpServer
from tests.web.conftest import link
from tests.web.helpers import HTML, csrf, publish

READER = "health.visitor@nhs.net"
TITLE = "Child Q: what the strategy meeting missed"
SECRET: dict[str, Any] = {
    "title": TITLE,
    "summary": "Zebra-crossing words that only practitioners may read.",
    "learning_points": ["A restricted learning point about quokkas."],
    "themes": ["neglect"],
    "audience": "practitioners",
}


def hidden(html: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert found, html
    return found.group(1).replace("&#34;", '"').replace("&amp;", "&").replace("&#39;", "'")


async def ask(client: TestClient, email: str, page: str = "/practitioners/sign-in") -> Any:
    """Open the sign-in form and send it as a browser would, hidden fields and all."""
    opened = await client.get(page)
    assert opened.status == 200
    html = await opened.text()
    data = {"csrf_token": csrf(html), "next": hidden(html, "next"), "email": email}
    return await client.post("/practitioners/sign-in", data=data, allow_redirects=False)


async def press(client: TestClient, path: str) -> Any:
    """Open the emailed link's page, then press its button."""
    page = await client.get(path, headers=HTML)
    token = csrf(await page.text())
    return await client.post(path, data={"csrf_token": token}, allow_redirects=False)


async def sign_in(
    client: TestClient, smtp: SmtpServer, page: str = "/practitioners/sign-in"
) -> Any:
    before = len(smtp.messages)
    assert (await ask(client, READER, page)).status == 200
    message = (await smtp.received(before + 1))[-1]
    assert message.recipients == (READER,)
    response = await press(client, link(message, "/practitioners/sign-in/"))
    assert response.status == 303
    return response


async def status(client: TestClient, path: str, **headers: str) -> int:
    return (await client.get(path, headers={**HTML, **headers})).status


async def count(sessions: async_sessionmaker[AsyncSession], model: Any) -> int:
    async with sessions() as session:
        return await session.scalar(select(func.count()).select_from(model)) or 0


def cookie(client: TestClient) -> str:
    found = [c.value for c in client.session.cookie_jar if c.key == "lh_practitioner"]
    assert found
    return found[0]


async def test_the_whole_journey(
    web: TestClient,
    smtp_server: SmtpServer,
    publisher: dict[str, str],
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    restricted = await publish(web, publisher, **SECRET)
    await publish(web, publisher, title="Open to all", themes=["neglect"])

    refused = await web.get(f"/briefs/{restricted}", headers=HTML)
    assert refused.status == 403
    html = await refused.text()
    sign_in_link = f"/practitioners/sign-in?next={quote(f'/briefs/{restricted}', safe='')}"
    assert f'href="{sign_in_link}"' in html
    assert "Practitioner sign in" in html  # the header's link

    checked = await ask(web, READER, sign_in_link)
    assert checked.status == 200
    assert "Check your email" in (text := await checked.text()) and READER in text
    message = (await smtp_server.received(1))[0]
    assert message.recipients == (READER,)
    path = link(message, "/practitioners/sign-in/")
    opened = await web.get(path, headers=HTML)
    assert opened.status == 200 and 'type="submit"' in await opened.text()
    assert (await web.get(f"/briefs/{restricted}", headers=HTML)).status == 403  # GET: no sign-in

    signed_in = await press(web, path)
    assert signed_in.status == 303
    assert signed_in.headers["Location"] == f"/briefs/{restricted}"  # back to the brief
    page = await web.get(f"/briefs/{restricted}", headers=HTML)
    assert page.status == 200
    assert page.headers["Cache-Control"] == "private, no-store"
    html = await page.text()
    assert TITLE in html and "Practitioners only" in html
    assert f"Signed in as {READER}" in html

    home = await (await web.get("/")).text()
    assert TITLE in home and "Open to all" in home and "Practitioners only" in home
    assert "2 briefs" in home
    assert re.search(r'for="theme-neglect">[^<]*<span class="learnhub-meta">\(2<', home)
    assert TITLE in await (await web.get("/?q=quokkas")).text()
    assert TITLE in await (await web.get("/?theme=neglect")).text()
    assert "2 briefs<span" in await (await web.get("/taxonomy/themes")).text()

    home_page = await web.get("/")
    out = await web.post(
        "/practitioners/sign-out",
        data={"csrf_token": csrf(await home_page.text())},
        allow_redirects=False,
    )
    assert out.status == 303
    assert await count(sessions, PractitionerSession) == 0  # the cookie would open nothing
    assert (await web.get(f"/briefs/{restricted}", headers=HTML)).status == 403
    home = await (await web.get("/")).text()
    assert TITLE not in home and "Practitioners only" not in home
    assert "1 brief" in home and "Practitioner sign in" in home
    assert "2 briefs<span" not in await (await web.get("/taxonomy/themes")).text()


async def test_an_address_outside_the_domains_is_told_and_sent_nothing(
    web: TestClient, smtp_server: SmtpServer
) -> None:
    for email, words in [
        ("someone@gmail.com", "You can&#39;t sign in with an address at gmail.com"),
        ("nhs.net@evil.example", "You can&#39;t sign in with an address at evil.example"),
        ("not an address", "Enter an email address in the correct format"),
        ("", "Enter your work email address"),
    ]:
        response = await ask(web, email)
        assert response.status == 422
        html = await response.text()
        assert "There is a problem" in html and words in html
        assert 'class="govuk-error-message"' in html
    await sign_in(web, smtp_server)  # the next message is the practitioner's: none before it
    assert smtp_server.recipients() == [READER]


async def test_the_service_itself_sends_no_link_outside_the_domains(
    settings: Settings, sessions: async_sessionmaker[AsyncSession], clock: Clock
) -> None:
    composer = Composer.from_settings(settings)
    domains = settings.practitioner_domains
    async with sessions.begin() as session:
        for email, sent in [
            ("someone@gmail.com", False),
            ("x@evil-nhs.net", False),
            (READER, True),
        ]:
            queued = await request_link(
                session, email, "/", practitioner_domains=domains, composer=composer,
                base_url=settings.base_url, now=clock.now,
            )  # fmt: skip
            assert queued is sent
    assert await count(sessions, PractitionerSignInLink) == 1


async def test_a_subdomain_counts_and_every_inside_address_gets_the_same_page(
    web: TestClient, smtp_server: SmtpServer
) -> None:
    first = await ask(web, "officer@wirral.merseyside.police.uk")
    second = await ask(web, "Officer@Wirral.Merseyside.Police.UK")
    assert first.status == second.status == 200
    one, two = await first.text(), await second.text()
    assert "officer@wirral.merseyside.police.uk" in one
    assert one == two
    assert (await smtp_server.received(2))[0].recipients == ("officer@wirral.merseyside.police.uk",)


async def test_forged_expired_and_used_links_open_nothing(
    web: TestClient,
    smtp_server: SmtpServer,
    clock: Clock,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async def refused(path: str) -> None:
        page = await web.get(path, headers=HTML)
        assert page.status == 404
        html = await page.text()
        assert "This sign-in link can&#39;t be used" in html
        assert 'href="/practitioners/sign-in"' in html  # a way to ask again
        form = await (await web.get("/practitioners/sign-in")).text()
        pressed = await web.post(path, data={"csrf_token": csrf(form)}, allow_redirects=False)
        assert pressed.status == 404
        assert "lh_practitioner" not in pressed.cookies

    await refused("/practitioners/sign-in/forged-token")

    await ask(web, READER)
    expiring = link((await smtp_server.received(1))[0], "/practitioners/sign-in/")
    clock.advance(minutes=15)
    await refused(expiring)
    assert await count(sessions, PractitionerSession) == 0

    await sign_in(web, smtp_server)
    used = link(smtp_server.messages[-1], "/practitioners/sign-in/")
    web.session.cookie_jar.clear()
    await refused(used)
    assert await count(sessions, PractitionerSession) == 1


async def test_two_presses_at_once_open_one_session(
    web: TestClient, smtp_server: SmtpServer, sessions: async_sessionmaker[AsyncSession]
) -> None:
    # The conditional UPDATE decides on PostgreSQL; SQLite lets one writer in at a time.
    await ask(web, READER)
    path = link((await smtp_server.received(1))[0], "/practitioners/sign-in/")
    page = await web.get(path)
    data = {"csrf_token": csrf(await page.text())}
    answers = await asyncio.gather(
        *(web.post(path, data=data, allow_redirects=False) for _ in range(2))
    )
    assert sorted(a.status for a in answers) == [303, 404]
    assert await count(sessions, PractitionerSession) == 1


@pytest.mark.parametrize(
    "next_path",
    ["https://evil.example/briefs", "//evil.example", "/\\evil.example", "javascript:alert(1)"],
)
async def test_next_leads_nowhere_but_this_site(
    web: TestClient, smtp_server: SmtpServer, next_path: str
) -> None:
    form = await web.get("/practitioners/sign-in", params={"next": next_path})
    assert hidden(await form.text(), "next") == "/"
    # A hand-made form with the foreign address in it fares no better.
    data = {"csrf_token": csrf(await form.text()), "next": next_path, "email": READER}
    assert (await web.post("/practitioners/sign-in", data=data)).status == 200
    message = (await smtp_server.received(1))[0]
    response = await press(web, link(message, "/practitioners/sign-in/"))
    assert response.headers["Location"] == "/"


def test_local_paths() -> None:
    assert local_path("/briefs/1?theme=neglect") == "/briefs/1?theme=neglect"
    for foreign in [None, "", "briefs", "//x", "/\\x", "/a\\b", "http://x", "/a b", "/a\nb"]:
        assert local_path(foreign) == "/"
    assert local_path("/" + "a" * 600) == "/"


async def test_pages_behind_emailed_links_never_put_their_token_in_the_sign_in_link(
    client: TestClient,
) -> None:
    """Found by review: on /subscriptions/manage/{token} the masthead's sign-in link carried
    the page's path, token and all, into next, and so into the stored sign-in link."""
    token = "WzEsMSwibSIsbnVsbF0.awQAkA.J8fbRtSXGm1dw__xfe0qXKPYGZA"  # noqa: S105  # a shape
    for path in (f"/subscriptions/manage/{token}", f"/unsubscribe/{token}"):
        html = await (await client.get(path, headers=HTML)).text()
        assert token[:20] not in html.replace(path, ""), path
        assert 'href="/practitioners/sign-in"' in html
