"""The feeds page in a browser (issue 21, part 3): at 375 and 1280 px, axe-clean; "Copy" puts
the address on the clipboard and says so; a brief's feed link leads here, not to raw XML."""

from __future__ import annotations

from typing import Any

from tests.browser.test_practitioners import violations


async def test_copy_a_feed_address_on_a_phone_and_a_laptop(
    browser: Any, live: str, screenshot: Any
) -> None:
    for width, height in ((375, 812), (1280, 900)):
        context = await browser.new_context(
            viewport={"width": width, "height": height}, bypass_csp=True
        )
        await context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live)
        page = await context.new_page()
        await page.goto(f"{live}/feeds?theme=neglect#your-feed")
        button = page.get_by_role("button", name="Copy the atom feed address").nth(1)
        await button.click()
        await page.locator("#chosen-atom-status").get_by_text("Address copied").wait_for()
        copied = await page.evaluate("navigator.clipboard.readText()")
        assert copied == f"{live}/feeds/briefs.atom?theme=neglect"
        assert await page.evaluate("document.documentElement.scrollWidth") <= width
        await screenshot(page, f"feeds-{width}")
        assert await violations(page) == []
        await context.close()
