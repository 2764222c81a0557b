"""Practitioners' sessions: a domain removed from the settings, idle expiry, the cookie, CSRF."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from learnhub.app import create_app
from service.practitioners.models import PractitionerSession, PractitionerSignInLink
from service.settings import Settings
from tests.conftest import Clock
from tests.smtp import SmtpServer
from tests.web.helpers import HTML, csrf, publish
from tests.web.test_practitioners import READER, SECRET, TITLE, cookie, count, sign_in, status


async def test_a_domain_removed_from_the_settings_ends_its_sessions(
    web: TestClient,
    smtp_server: SmtpServer,
    publisher: dict[str, str],
    aiohttp_client: Any,
    mail_settings: Settings,
    clock: Clock,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    restricted = await publish(web, publisher, **SECRET)
    await sign_in(web, smtp_server)
    assert await status(web, f"/briefs/{restricted}") == 200
    narrower = mail_settings.model_copy(update={"practitioner_domains": ("merseyside.police.uk",)})
    other: TestClient = await aiohttp_client(create_app(narrower, clock=clock, run_workers=False))
    token = cookie(web)

    response = await other.get(
        f"/briefs/{restricted}", headers={**HTML, "Cookie": f"lh_practitioner={token}"}
    )
    assert response.status == 403
    assert TITLE not in await response.text()
    assert await count(sessions, PractitionerSession) == 0  # ended, not just refused
    assert await status(web, f"/briefs/{restricted}") == 403  # everywhere


async def test_sessions_end_after_thirty_idle_days(
    web: TestClient,
    smtp_server: SmtpServer,
    publisher: dict[str, str],
    clock: Clock,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    restricted = await publish(web, publisher, **SECRET)
    await sign_in(web, smtp_server)
    clock.advance(days=29)
    response = await web.get(f"/briefs/{restricted}", headers=HTML)
    assert response.status == 200
    # The visit touched the session, and the cookie lives 30 more days with it.
    refreshed = [c for c in response.headers.getall("Set-Cookie") if "lh_practitioner=" in c]
    assert refreshed and "Max-Age=2592000" in refreshed[0]
    clock.advance(days=29)  # idle time counts from the last visit
    assert await status(web, f"/briefs/{restricted}") == 200
    clock.advance(seconds=30)
    assert await status(web, f"/briefs/{restricted}") == 200
    async with sessions() as session:  # a visit within a minute of the last writes nothing
        seen = await session.scalar(select(PractitionerSession.last_seen_at))
        assert seen == clock.now - timedelta(seconds=30)
    clock.advance(days=29, hours=23)
    assert await status(web, f"/briefs/{restricted}") == 200
    clock.advance(days=30)
    assert await status(web, f"/briefs/{restricted}") == 403
    assert await count(sessions, PractitionerSession) == 0


async def test_cookie_flags_on_https(
    client: TestClient, sessions: async_sessionmaker[AsyncSession], clock: Clock
) -> None:
    async with sessions.begin() as session:
        session.add(
            PractitionerSignInLink(
                token_hash=hashlib.sha256(b"known-token").hexdigest(),
                email=READER,
                next_path="/briefs/x",
                created_at=clock.now,
                expires_at=clock.now + timedelta(minutes=15),
            )
        )
    page = await client.get("/practitioners/sign-in/known-token")
    assert READER in await page.text()
    response = await client.post(
        "/practitioners/sign-in/known-token",
        data={"csrf_token": csrf(await page.text())},
        headers={"Cookie": f"lh_csrf={page.cookies['lh_csrf'].value}"},
        allow_redirects=False,
    )
    assert response.status == 303 and response.headers["Location"] == "/briefs/x"
    header = next(
        v for v in response.headers.getall("Set-Cookie") if v.startswith("lh_practitioner=")
    )
    for flag in ("HttpOnly", "SameSite=Lax", "Secure", "Path=/;", "Max-Age=2592000"):
        assert flag in header + ";"
    async with sessions() as session:
        stored = await session.scalar(select(PractitionerSession.token_hash))
    assert cookie_value(header) not in str(stored)  # only the hash is kept


def cookie_value(header: str) -> str:
    return header.split(";", 1)[0].split("=", 1)[1]


async def test_forms_without_the_csrf_token_are_refused(
    web: TestClient, smtp_server: SmtpServer
) -> None:
    assert (await web.post("/practitioners/sign-in", data={"email": READER})).status == 403
    await sign_in(web, smtp_server)
    assert (await web.post("/practitioners/sign-out", data={"csrf_token": "x"})).status == 403
    assert f"Signed in as {READER}" in await (await web.get("/")).text()
