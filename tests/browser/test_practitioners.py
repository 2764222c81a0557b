"""A practitioner on a phone: the 403 page, sign-in, the restricted brief, the 410 page.

At 375 px wide, with axe-core on each new page (the context bypasses the CSP to let axe in;
the page's own scripts must still raise nothing).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import aiohttp
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.staff import service as staff_service
from service.staff.models import Role
from tests.briefs_data import brief_body
from tests.browser.test_accessibility import AXE, TAGS
from tests.browser.test_journeys import mail_link
from tests.smtp import SmtpServer

READER = "a.long.name.health.visitor@wirral.nhs.net"
RESTRICTED = "Child Q: what the strategy meeting missed"


async def publish(live: str, token: str, **fields: Any) -> str:
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession(headers=headers) as http:
        async with http.post(f"{live}/api/v1/briefs", json=brief_body(**fields)) as created:
            assert created.status == 201, await created.text()
            brief_id = str((await created.json())["id"])
        async with http.post(f"{live}/api/v1/briefs/{brief_id}/publish") as published:
            assert published.status == 200
    return brief_id


async def withdraw(live: str, token: str, brief_id: str) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    url = f"{live}/api/v1/briefs/{brief_id}/withdraw"
    async with aiohttp.ClientSession(headers=headers) as http, http.post(url) as response:
        assert response.status == 200


async def violations(page: Any) -> list[tuple[str, str]]:
    await page.add_script_tag(content=AXE)
    result = await page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", TAGS
    )
    return [
        (v["id"], v["impact"])
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


async def test_a_practitioner_on_a_phone(
    browser: Any,
    live: str,
    smtp_server: SmtpServer,
    sessions: async_sessionmaker[AsyncSession],
    screenshot: Any,
) -> None:
    async with sessions.begin() as session:
        token = await staff_service.create(
            session, email="ppu@merseyside.police.uk", role=Role.publisher, now=datetime.now(UTC)
        )
    restricted = await publish(live, token, title=RESTRICTED, audience="practitioners")
    await publish(live, token, title="Open to everyone: Baby T")
    withdrawn = await publish(live, token, title="Withdrawn: Child R")
    await withdraw(live, token, withdrawn)

    context = await browser.new_context(viewport={"width": 375, "height": 812}, bypass_csp=True)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    found: dict[str, list[tuple[str, str]]] = {}

    async def look(name: str) -> None:
        await screenshot(page, name)
        if problems := await violations(page):
            found[name] = problems

    answer = await page.goto(f"{live}/briefs/{restricted}")
    assert answer.status == 403
    assert RESTRICTED not in await page.content()
    await look("practitioner-403")
    answer = await page.goto(f"{live}/briefs/{withdrawn}")
    assert answer.status == 410
    await look("practitioner-410")

    await page.goto(f"{live}/briefs/{restricted}")
    await page.get_by_role("button", name="Sign in to read it").click()
    await page.get_by_label("Work email address").fill("someone@gmail.com")
    await page.get_by_role("button", name="Email me a sign-in link").click()
    await page.get_by_text("There is a problem").wait_for()
    await look("practitioner-sign-in-error")
    await page.get_by_label("Work email address").fill(READER)
    await page.get_by_role("button", name="Email me a sign-in link").click()
    await page.get_by_role("heading", name="Check your email").wait_for()
    message = (await smtp_server.received(1))[0]
    await page.goto(mail_link(message, live, "/practitioners/sign-in/"))
    await page.get_by_role("button", name="Sign in").click()
    await page.get_by_role("heading", name=RESTRICTED).wait_for()
    assert page.url == f"{live}/briefs/{restricted}"
    await look("practitioner-brief")
    await page.goto(f"{live}/")
    assert await page.get_by_text(re.compile("Signed in as")).is_visible()
    await look("practitioner-home")
    await screenshot(page, "practitioner-home-top", full_page=False)
    await page.locator("#results-heading").scroll_into_view_if_needed()
    await screenshot(page, "practitioner-home-results", full_page=False)

    await page.get_by_role("button", name="Sign out").click()
    await page.get_by_role("heading", name="You have signed out").wait_for()
    await context.close()
    assert found == {} and errors == []
