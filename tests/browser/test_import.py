"""Importing a review in a browser: the upload page, a bad file's sentence, the draft's
editor with what was imported, the imported review's page, and the file offered on the
brief's page; axe-core finds nothing serious, at desk width and on a 375 px phone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.browser.conftest import PUBLISHER
from tests.browser.test_journeys import staff_sign_in
from tests.browser.test_practitioners import violations
from tests.documents.review import BOARD, LEARNING, review_pdf
from tests.smtp import SmtpServer


async def no_sideways_scroll(page: Any) -> None:
    assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


async def test_importing_a_review(
    browser: Any,
    live: str,
    smtp_server: SmtpServer,
    staff: None,
    screenshot: Any,
    tmp_path: Path,
) -> None:
    review = tmp_path / "Child L LCSPR.pdf"
    review.write_bytes(review_pdf())
    scan = tmp_path / "notes.pdf"
    scan.write_bytes(b"<html>not a review</html>")
    for width in (1024, 375):
        context = await browser.new_context(viewport={"width": width, "height": 900},
                                            bypass_csp=True)  # fmt: skip
        page = await context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e, errors=errors: errors.append(str(e)))
        await staff_sign_in(page, live, smtp_server, PUBLISHER)

        await page.get_by_role("button", name="Import a review (PDF or Word)").click()
        await page.get_by_role("heading", name="Import a review").wait_for()
        await screenshot(page, f"import-{width}")
        assert await violations(page) == []
        await no_sideways_scroll(page)

        await page.get_by_label("The review").set_input_files(str(scan))
        await page.get_by_role("button", name="Import and check the draft").click()
        summary = page.locator(".govuk-error-summary")
        await summary.wait_for()
        assert "This file is not a PDF or a Word document (.docx)." in await summary.inner_text()
        await screenshot(page, f"import-error-{width}")
        assert await violations(page) == []

        await page.get_by_label("The review").set_input_files(str(review))
        await page.get_by_role("button", name="Import and check the draft").click()
        await page.get_by_role("heading", name="Edit brief").wait_for()
        banner = page.get_by_role("region", name="Imported: check the draft")
        assert "Made from Child L LCSPR.pdf (PDF, 27 KB, 3 pages)" in await banner.inner_text()
        assert await page.get_by_label("Title").input_value() == "Learning from Child L"
        assert await page.get_by_label("Learning points").input_value() == "\n".join(LEARNING)
        assert await page.get_by_label("Board or partnership").input_value() == BOARD
        assert await page.get_by_label("Year").input_value() == "2025"
        assert await page.get_by_role("checkbox", name="Knowsley").is_checked()
        await screenshot(page, f"import-editor-{width}")
        assert await violations(page) == []
        await no_sideways_scroll(page)

        await banner.get_by_role("link", name="See the review's tidied text").click()
        await page.get_by_role("heading", name="Child L LCSPR.pdf").wait_for()
        await page.get_by_role("button", name="Offer the full review on the brief's page").click()
        await page.get_by_text("The brief's page offers the full review.").wait_for()
        await screenshot(page, f"import-review-{width}")
        assert await violations(page) == []
        await no_sideways_scroll(page)
        assert errors == []
        await context.close()
