"""A practitioner records a team discussion on a phone, then updates an action from the email.

At 375 px wide, with axe-core on the form, its errors, the confirmation, the record and the
saved record; the form once more at desktop width for the screenshots.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.practitioners.models import PractitionerSession
from service.staff import service as staff_service
from service.staff.models import Role
from service.staff.service import hash_token
from tests.browser.test_journeys import mail_link
from tests.browser.test_practitioners import publish, violations
from tests.smtp import SmtpServer

READER = "health.visitor@nhs.net"
TITLE = "Safer sleep: learning from Baby T"


async def test_a_practitioner_records_a_discussion_on_a_phone(
    browser: Any,
    live: str,
    smtp_server: SmtpServer,
    sessions: async_sessionmaker[AsyncSession],
    screenshot: Any,
) -> None:
    now = datetime.now(UTC)
    secret = secrets.token_urlsafe(32)
    async with sessions.begin() as session:
        token = await staff_service.create(
            session, email="ppu@merseyside.police.uk", role=Role.publisher, now=now
        )
        session.add(
            PractitionerSession(
                token_hash=hash_token(secret), email=READER, created_at=now, last_seen_at=now
            )
        )
    brief_id = await publish(live, token, title=TITLE)
    today = now.astimezone(ZoneInfo("Europe/London")).date()

    context = await browser.new_context(viewport={"width": 375, "height": 812}, bypass_csp=True)
    await context.add_cookies([{"name": "lh_practitioner", "value": secret, "url": live}])
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    found: dict[str, list[tuple[str, str]]] = {}

    async def look(name: str) -> None:
        await screenshot(page, name)
        if problems := await violations(page):
            found[name] = problems

    await page.goto(f"{live}/briefs/{brief_id}")
    await page.get_by_role("link", name="Record a team discussion").click()
    await page.get_by_role("heading", name="Record a team discussion").wait_for()
    await look("discussion-form")
    await page.get_by_role("button", name="Save the record").click()
    await page.get_by_text("There is a problem").wait_for()
    await look("discussion-form-errors")

    await page.locator("#held_on-day").fill(str(today.day))
    await page.locator("#held_on-month").fill(str(today.month))
    await page.locator("#held_on-year").fill(str(today.year))
    await page.get_by_label("Team or service name").fill("Wirral 0-19 team")
    await page.get_by_label("Agency").select_option("health-visiting")
    await page.get_by_label("Wirral").check()
    await page.get_by_label("Number of practitioners present").fill("9")
    await page.get_by_label("Reflections").fill("We rehearsed the safer sleep conversation.")
    await page.get_by_role("button", name="Add another action").click()
    await page.locator("#actions-3-what").wait_for()
    await page.locator("#actions-1-what").fill("Add safer sleep to every contact checklist")
    await page.locator("#actions-1-owner_role").fill("Team leader")
    await page.locator("#actions-1-due_on-day").fill("31")
    await page.locator("#actions-1-due_on-month").fill("3")
    await page.locator("#actions-1-due_on-year").fill(str(today.year + 1))
    await look("discussion-form-three-rows")
    await page.get_by_role("button", name="Save the record").click()
    await page.get_by_role("heading", name="Team discussion recorded").wait_for()
    await look("discussion-recorded")

    message = (await smtp_server.received(1))[0]
    assert message.recipients == (READER,)
    await page.goto(mail_link(message, live, "/discussions/"))
    await page.get_by_role("heading", name="Team discussion record").wait_for()
    await look("discussion-record")
    await page.get_by_label("Done").check()
    await page.get_by_role("button", name="Save the status of the actions").click()
    await page.get_by_text("The status of the actions has been saved.").wait_for()
    await look("discussion-record-saved")
    await context.close()

    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    await context.add_cookies([{"name": "lh_practitioner", "value": secret, "url": live}])
    page = await context.new_page()
    page.on("pageerror", lambda e: errors.append(str(e)))
    await page.goto(f"{live}/discussions/new?brief={brief_id}")  # under the real CSP
    await screenshot(page, "discussion-form-desktop")
    await context.close()
    assert found == {} and errors == []
