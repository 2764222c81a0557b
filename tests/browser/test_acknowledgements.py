"""'I've read this' from a real alert on a 375 px phone: the page, its error, the thank-you,
the manage page listing it and its removal, with axe-core on each."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.staff import service as staff_service
from service.staff.models import Role
from tests import factories
from tests.browser.test_journeys import mail_link
from tests.browser.test_practitioners import publish, violations
from tests.smtp import SmtpServer

READER = "health.visitor@nhs.net"
TITLE = "Safer sleep: learning from Baby T"


async def test_a_practitioner_acknowledges_a_brief_on_a_phone(
    browser: Any,
    live: str,
    smtp_server: SmtpServer,
    sessions: async_sessionmaker[AsyncSession],
    screenshot: Any,
) -> None:
    now = datetime.now(UTC)
    async with sessions.begin() as session:
        token = await staff_service.create(
            session, email="ppu@merseyside.police.uk", role=Role.publisher, now=now
        )
        await factories.person(session, READER, "immediate", since=now)
    await publish(live, token, title=TITLE)
    (alert,) = await smtp_server.received(1)
    acknowledge = mail_link(alert, live, "/acknowledge/")

    context = await browser.new_context(viewport={"width": 375, "height": 812}, bypass_csp=True)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    found: dict[str, list[tuple[str, str]]] = {}

    async def look(name: str) -> None:
        await screenshot(page, name)
        if problems := await violations(page):
            found[name] = problems

    await page.goto(acknowledge)
    await page.get_by_role("heading", name="I've read this").wait_for()
    assert await page.get_by_text(TITLE).count() == 1
    # Nothing wider than the phone: no sideways scrolling.
    assert await page.evaluate("document.documentElement.scrollWidth") <= 375
    await look("acknowledge")
    answer = page.get_by_label("How will this change your practice? (optional)")
    await answer.fill("x" * 2001)
    await page.get_by_role("button", name="Confirm I've read this").click()
    await page.get_by_text("There is a problem").wait_for()
    await look("acknowledge-error")
    await page.get_by_role("link", name="Your answer must be 2,000 characters or fewer").click()
    assert await page.evaluate("document.activeElement.id") == "answer"
    await answer.fill("Ask about the sleeping place at every visit.\nRecord who lives at home.")
    await page.get_by_role("button", name="Confirm I've read this").click()
    await page.get_by_text("We have recorded that you have read this").wait_for()
    await look("acknowledge-saved")

    await page.get_by_role("link", name="your manage page").click()
    await page.get_by_role("heading", name="Briefs you told us you have read").wait_for()
    assert await page.get_by_text("Record who lives at home.").count() == 1
    assert await page.evaluate("document.documentElement.scrollWidth") <= 375
    await look("manage-acknowledgements")
    await page.get_by_role("button", name=f"Remove {TITLE}").click()
    await page.get_by_text("That acknowledgement has been removed.").wait_for()
    assert await page.get_by_text("Briefs you told us you have read").count() == 0
    await context.close()

    context = await browser.new_context(bypass_csp=True)
    page = await context.new_page()
    await page.goto(acknowledge)
    await screenshot(page, "acknowledge-desktop")
    await context.close()
    assert errors == []
    assert found == {}
