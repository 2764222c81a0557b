"""Finding briefs on a phone and on a laptop (issue 21, part 2): on a 375 px screen the results
come first and a button jumps to the filters, without JavaScript too; chosen filters show as
tags that remove themselves; on a laptop the filters sit to the right of the results."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from playwright.async_api import expect
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.staff import service as staff_service
from service.staff.models import Role
from tests.browser.test_practitioners import publish, violations

CROSS = "\N{MULTIPLICATION SIGN}"
REMOVE = "Remove filter:"  # visually hidden: what a screen reader says


async def test_results_first_on_a_phone_and_filters_beside_them_on_a_laptop(
    browser: Any, live: str, sessions: async_sessionmaker[AsyncSession], screenshot: Any
) -> None:
    async with sessions.begin() as session:
        token = await staff_service.create(
            session, email="ppu@merseyside.police.uk", role=Role.publisher, now=datetime.now(UTC)
        )
    await publish(live, token, title="Baby T: safer sleep")
    await publish(
        live,
        token,
        title="Child W: domestic abuse in Wirral",
        summary="Mother had been a victim of domestic abuse in Wirral for years.",
        learning_points=["Ask about domestic abuse routinely."],
    )

    for javascript in (True, False):
        context = await browser.new_context(
            viewport={"width": 375, "height": 812}, java_script_enabled=javascript
        )
        page = await context.new_page()
        await page.goto(f"{live}/?q=DV&theme=domestic-abuse&borough=wirral")
        results = await page.locator("#results-heading").bounding_box()
        first = await page.get_by_role(
            "link", name="Child W: domestic abuse in Wirral"
        ).bounding_box()
        filters = await page.get_by_role("heading", name="Filter briefs").bounding_box()
        assert results and first and filters
        # The results begin on the first screen (without JavaScript the site's menu is open
        # above them); the filters come after the results.
        assert results["y"] < 812 and first["y"] < filters["y"]
        if javascript:
            assert first["y"] < 812
        assert await page.evaluate("document.documentElement.scrollWidth") <= 375
        await screenshot(page, f"finder-375{'' if javascript else '-no-js'}", full_page=False)

        # The chosen filters as tags; removing one keeps the search and the other.
        async def tags(page: Any = page) -> list[str]:
            found = await page.locator(".learnhub-selected__tag").all_inner_texts()
            return [" ".join(text.split()) for text in found]

        assert await tags() == [f"{REMOVE} Domestic abuse {CROSS}", f"{REMOVE} Wirral {CROSS}"]
        await page.get_by_role("link", name="Remove filter: Wirral").click()
        await page.wait_for_url(f"{live}/?q=DV&theme=domestic-abuse")
        assert await tags() == [f"{REMOVE} Domestic abuse {CROSS}"]

        # The button takes the reader to the filters.
        await page.get_by_role("button", name="Filter results (1 selected)").click()
        await page.wait_for_url(f"{live}/?q=DV&theme=domestic-abuse#filters")
        await expect(page.get_by_role("heading", name="Filter briefs")).to_be_in_viewport()
        await context.close()

    context = await browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    page = await context.new_page()
    await page.goto(f"{live}/?q=DV&theme=domestic-abuse")
    filters = await page.get_by_role("heading", name="Filter briefs").bounding_box()
    results = await page.locator("#results-heading").bounding_box()
    assert filters and results
    # Beside the results, to their right: where they come in the page, so the Tab key meets
    # them in the order they are seen.
    assert filters["x"] > results["x"] and abs(filters["y"] - results["y"]) < 50
    assert not await page.get_by_role("button", name="Filter results (1 selected)").is_visible()
    await screenshot(page, "finder-desktop", full_page=False)
    assert await violations(page) == []
    await context.close()
