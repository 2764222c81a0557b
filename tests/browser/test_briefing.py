"""The 7-minute briefing in a browser: axe-core finds nothing serious, the headings are one
h1 and an h2 a section, and printed (print emulation, A4) it fits one page."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pypdf import PdfReader
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.staff import service as staff_service
from service.staff.models import Role
from tests.browser.test_practitioners import publish, violations

BRIEFING: dict[str, Any] = {
    "title": "Safer sleep: learning from Baby T",
    "background": "Baby T lived with his mother and her partner in Sefton.",
    "why_it_matters": "Sofa sharing is one of the highest risks for a young baby.",
    "actions": ["Record every safer-sleep conversation.", "Ask who else stays overnight."],
    "questions": ["How do we ask about sleep arrangements?", "Who visits the home?"],
    "resources": [
        {"title": "Safer sleep advice", "url": "https://www.lullabytrust.org.uk/safer-sleep"}
    ],
}


async def test_the_briefing_on_screen_and_on_paper(
    browser: Any,
    live: str,
    sessions: async_sessionmaker[AsyncSession],
    screenshot: Any,
    screenshots: Any,
) -> None:
    async with sessions.begin() as session:
        token = await staff_service.create(
            session, email="ppu@merseyside.police.uk", role=Role.publisher, now=datetime.now(UTC)
        )
    brief_id = await publish(live, token, **BRIEFING)
    context = await browser.new_context(viewport={"width": 1024, "height": 900}, bypass_csp=True)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))

    await page.goto(f"{live}/briefs/{brief_id}")
    await page.get_by_role("link", name="read the 7-minute briefing").click()
    assert page.url == f"{live}/briefs/{brief_id}/briefing"
    main = page.locator("main")
    assert await main.get_by_role("heading", level=1).all_inner_texts() == [BRIEFING["title"]]
    assert await main.get_by_role("heading", level=2).all_inner_texts() == [
        "Background",
        "What happened",
        "Why it matters",
        "Key points",
        "What to do",
        "Questions for reflection",
        "Resources",
    ]
    # Each section is a region named by its heading, for a screen reader's landmarks list.
    assert await page.get_by_role("region", name="What to do").count() == 1
    await screenshot(page, "briefing")
    assert await violations(page) == []

    await page.emulate_media(media="print")
    assert not await page.locator(".learnhub-masthead").is_visible()
    assert not await page.get_by_role("link", name="Download this briefing as a PDF").is_visible()
    await screenshot(page, "briefing-print")
    printed = screenshots / "briefing-print.pdf"
    await page.pdf(path=str(printed), format="A4", print_background=True)
    assert len(PdfReader(printed).pages) == 1
    assert errors == []
    await context.close()
