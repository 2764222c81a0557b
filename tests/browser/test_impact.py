"""The board's impact report on a 375 px phone: a known history, the page read without
sideways scrolling of the page itself (wide tables scroll in their own box), axe-core clean,
and the figures the same as on a laptop."""

from __future__ import annotations

from typing import Any

from tests.browser.conftest import ADMIN
from tests.browser.test_accessibility import scan
from tests.browser.test_journeys import staff_sign_in
from tests.practice.test_impact import PERIOD, _history
from tests.smtp import SmtpServer


async def test_the_impact_report_reads_on_a_phone(
    browser: Any, live: str, smtp_server: SmtpServer, staff: None, sessions: Any, screenshot: Any
) -> None:
    await _history(sessions)
    context = await browser.new_context(viewport={"width": 375, "height": 812}, bypass_csp=True)
    page = await context.new_page()
    await staff_sign_in(page, live, smtp_server, ADMIN)
    await page.goto(f"{live}/staff/impact?{PERIOD}")
    await page.get_by_role("heading", name="Impact", exact=False).first.wait_for()
    await screenshot(page, "console-impact-375")
    assert await page.evaluate("document.documentElement.scrollWidth") <= 375
    assert await scan(page) == []
    headline = page.locator('[data-figure="emails_delivered"] dd')
    assert await headline.inner_text() == "5"
    await context.close()
