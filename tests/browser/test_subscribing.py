"""Subscribing on a phone and on a laptop (issue 21): every page of the journey, axe-clean
with no sideways scrolling: the form, its errors, "Check your email", the confirmation page
and the confirmed one, the manage page, the ended subscription and the lost-link form."""

from __future__ import annotations

from typing import Any

from tests.browser.test_accessibility import scan
from tests.browser.test_journeys import mail_link
from tests.smtp import SmtpServer


async def test_the_whole_sign_up_at_375_and_1280(
    browser: Any, live: str, smtp_server: SmtpServer, screenshot: Any
) -> None:
    for n, (width, height) in enumerate(((375, 812), (1280, 900))):
        context = await browser.new_context(
            viewport={"width": width, "height": height}, bypass_csp=True
        )
        page = await context.new_page()
        found: dict[str, list[tuple[str, str]]] = {}

        async def look(
            name: str, page: Any = page, width: int = width, found: dict[str, Any] = found
        ) -> None:
            await screenshot(page, f"subscribe-{name}-{width}")
            assert await page.evaluate("document.documentElement.scrollWidth") <= width, name
            if violations := await scan(page):
                found[name] = [(v["id"], v["impact"]) for v in violations]

        address, before = f"hv{n}@nhs.net", len(smtp_server.messages)
        await page.goto(f"{live}/subscribe?theme=neglect")
        await look("form")
        await page.get_by_role("button", name="Subscribe").click()  # no address yet
        await page.get_by_text("There is a problem").wait_for()
        await look("form-errors")
        await page.get_by_label("Email address").fill(address)
        await page.get_by_label("Once a week (on Mondays, at 7:30am)").check()
        await page.get_by_role("button", name="Subscribe").click()
        await page.get_by_role("heading", name="Check your email").wait_for()
        assert address in await page.content()
        await look("check-your-email")

        message = (await smtp_server.received(before + 1))[-1]
        await page.goto(mail_link(message, live, "/subscriptions/confirm/"))
        await look("confirm")
        await page.get_by_role("button", name="Confirm subscription").click()
        await page.get_by_role("heading", name="Subscription confirmed").wait_for()
        await look("confirmed")

        await page.get_by_role("link", name="Change what you get").click()
        await page.get_by_role("heading", name="Manage your emails").wait_for()
        await look("manage")
        await page.get_by_role("button", name="Unsubscribe from everything").click()
        await page.get_by_role("heading", name="You have unsubscribed").wait_for()
        await look("ended")

        await page.goto(f"{live}/subscriptions/lost")
        await look("lost")
        await page.get_by_label("Email address").fill(address)
        await page.get_by_role("button", name="Email me the link").click()
        await page.get_by_role("heading", name="Check your email").wait_for()
        await look("lost-sent")
        await context.close()
        assert found == {}, (width, found)
