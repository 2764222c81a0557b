"""Staff sign-in by emailed link, sessions, sign-out, CSRF and roles."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

from aiohttp.test_utils import TestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.staff.models import StaffMember, StaffSession, StaffSignInLink
from tests.conftest import Clock
from tests.smtp import SmtpServer
from tests.web.conftest import ADMIN, PUBLISHER, form_post, link, sign_in
from tests.web.helpers import HTML, csrf


async def _in(client: TestClient, path: str = "/staff/briefs") -> bool:
    response = await client.get(path, allow_redirects=False)
    if response.status == 303:
        assert response.headers["Location"] == "/staff/sign-in"
        return False
    assert response.status == 200
    return True


async def test_sign_in_from_the_emailed_link_once(
    web: TestClient,
    smtp_server: SmtpServer,
    staff: None,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    assert not await _in(web)
    path = await sign_in(web, smtp_server, PUBLISHER)
    assert await _in(web)
    assert PUBLISHER in await (await web.get("/staff/briefs")).text()
    # Single use: the page now says the link can't be used.
    again = await web.get(path, headers=HTML)
    assert again.status == 404
    assert "This link can&#39;t be used" in await again.text()
    # Only hashes are stored.
    token = path.rsplit("/", 1)[1]
    async with sessions() as session:
        stored = await session.scalar(select(StaffSignInLink.token_hash))
        assert stored == hashlib.sha256(token.encode()).hexdigest()
        assert token not in str(await session.scalar(select(StaffSession.token_hash)))


async def test_the_same_answer_for_strangers_and_no_email(
    web: TestClient, smtp_server: SmtpServer, staff: None
) -> None:
    response = await form_post(web, "/staff/sign-in", {"email": "stranger@example.org"})
    assert response.status == 303
    assert response.headers["Location"] == "/staff/sign-in/check-your-email"
    await sign_in(web, smtp_server, ADMIN)  # the next message is the admin's: none in between
    assert smtp_server.recipients() == [ADMIN]


async def test_opening_the_link_does_not_sign_in_and_it_expires(
    web: TestClient, smtp_server: SmtpServer, staff: None, clock: Clock
) -> None:
    await form_post(web, "/staff/sign-in", {"email": PUBLISHER})
    path = link((await smtp_server.received(1))[0], "/staff/sign-in/")
    assert (await web.get(path)).status == 200
    assert not await _in(web)
    clock.advance(minutes=15)
    assert (await web.get(path)).status == 404


async def test_sessions_end_when_idle_and_after_twelve_hours(
    web: TestClient, smtp_server: SmtpServer, staff: None, clock: Clock
) -> None:
    await sign_in(web, smtp_server, PUBLISHER)
    clock.advance(minutes=29)
    assert await _in(web)
    clock.advance(minutes=29)  # idle time counts from the last page
    assert await _in(web)
    clock.advance(minutes=30)
    assert not await _in(web)

    await sign_in(web, smtp_server, PUBLISHER)
    for _ in range(12 * 3 - 1):
        clock.advance(minutes=20)
        assert await _in(web)
    clock.advance(minutes=20)
    assert not await _in(web)


async def test_sign_out(
    web: TestClient,
    smtp_server: SmtpServer,
    staff: None,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await sign_in(web, smtp_server, PUBLISHER)
    response = await form_post(web, "/staff/briefs", {}, path="/staff/sign-out")
    assert response.status == 303
    assert not await _in(web)
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(StaffSession)) == 0


async def test_cookie_flags_on_https(
    client: TestClient, staff: None, sessions: async_sessionmaker[AsyncSession], clock: Clock
) -> None:
    async with sessions.begin() as session:
        staff_id = await session.scalar(
            select(StaffMember.id).where(StaffMember.email == PUBLISHER)
        )
        assert staff_id is not None
        session.add(
            StaffSignInLink(
                token_hash=hashlib.sha256(b"known-token").hexdigest(),
                staff_id=staff_id,
                created_at=clock.now,
                expires_at=clock.now + timedelta(minutes=15),
            )
        )
    page = await client.get("/staff/sign-in/known-token")
    cookie = page.cookies["lh_csrf"].value
    response = await client.post(
        "/staff/sign-in/known-token",
        data={"csrf_token": csrf(await page.text())},
        headers={"Cookie": f"lh_csrf={cookie}"},
        allow_redirects=False,
    )
    assert response.status == 303
    header = next(v for v in response.headers.getall("Set-Cookie") if v.startswith("lh_staff="))
    for flag in ("HttpOnly", "SameSite=Lax", "Secure", "Path=/staff"):
        assert flag in header


async def test_forms_without_the_csrf_token_are_refused(
    web: TestClient, smtp_server: SmtpServer, staff: None
) -> None:
    assert (await web.post("/staff/sign-in", data={"email": PUBLISHER})).status == 403
    await sign_in(web, smtp_server, PUBLISHER)
    data = {"title": "x", "action": "save", "csrf_token": "forged"}
    assert (await web.post("/staff/briefs/new", data=data)).status == 403
    assert (await web.post("/staff/sign-out", data={})).status == 403
    assert await _in(web)


async def test_roles(web: TestClient, smtp_server: SmtpServer, staff: None) -> None:
    await sign_in(web, smtp_server, PUBLISHER)
    assert (await web.get("/staff/groups")).status == 403
    assert (await web.get("/staff/groups/new")).status == 403
    assert (await web.get("/staff/reach")).status == 200
    assert 'href="/staff/groups"' not in await (await web.get("/staff/briefs")).text()
    await sign_in(web, smtp_server, ADMIN)
    assert (await web.get("/staff/groups")).status == 200
    assert (await web.get("/staff/briefs/new")).status == 200


async def test_one_navigation_bar_the_consoles_once_signed_in(
    web: TestClient, smtp_server: SmtpServer, staff: None
) -> None:
    signed_out = await (await web.get("/staff/sign-in")).text()
    assert signed_out.count('class="govuk-service-navigation__list"') == 1
    assert 'href="/subscribe"' in signed_out
    await sign_in(web, smtp_server, PUBLISHER)
    page = await (await web.get("/staff/reach")).text()
    assert page.count('class="govuk-service-navigation__list"') == 1
    assert "staff console" in page
    current = re.search(r'<a [^>]*href="([^"]+)" aria-current="page"', page)
    assert current is not None and current.group(1) == "/staff/reach"
