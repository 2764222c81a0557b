"""axe-core on each main page: no serious or critical violations (WCAG 2.2 AA rules)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.browser.conftest import ADMIN
from tests.browser.test_journeys import draft_and_publish, staff_sign_in
from tests.smtp import SmtpServer

AXE = (Path(__file__).parent / "axe.min.js").read_text()
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]


async def scan(page: Any) -> list[dict[str, Any]]:
    await page.add_script_tag(content=AXE)
    result = await page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", TAGS
    )
    return [v for v in result["violations"] if v["impact"] in ("serious", "critical")]


async def test_main_pages_have_no_serious_violations(
    browser: Any, live: str, smtp_server: SmtpServer, staff: None, screenshot: Any
) -> None:
    # bypass_csp lets axe's script in; the journeys test the pages under the real policy.
    context = await browser.new_context(bypass_csp=True)
    page = await context.new_page()
    await staff_sign_in(page, live, smtp_server, ADMIN)
    brief_id = await draft_and_publish(page, live, screenshot)
    pages = {
        "site-home": "/",
        "site-results": "/?q=sleep&theme=safer-sleep",
        "site-brief": f"/briefs/{brief_id}",
        "site-subscribe": "/subscribe?theme=safer-sleep",
        "site-not-found": "/briefs/00000000-0000-0000-0000-000000000000",
        "site-taxonomy": "/taxonomy/agencies",
        "site-privacy": "/privacy",
        "site-accessibility": "/accessibility",
        "site-contact": "/contact",
        "console-briefs": "/staff/briefs",
        "console-brief": f"/staff/briefs/{brief_id}",
        "console-editor": f"/staff/briefs/{brief_id}/edit",
        "console-preview-email": f"/staff/briefs/{brief_id}/preview/email",
        "console-preview-feed": f"/staff/briefs/{brief_id}/preview/feed",
        "console-withdraw": f"/staff/briefs/{brief_id}/withdraw",
        "console-groups-new": "/staff/groups/new",
        "console-reach": "/staff/reach",
        "console-domains": "/staff/domains",
        "console-impact": "/staff/impact?from=2026-01-01&to=2027-12-31",
        "console-impact-errors": "/staff/impact?from=2026-02-30&to=2026-01-01",
    }
    found = {}
    for name, path in pages.items():
        await page.goto(live + path)
        await screenshot(page, name)
        violations = await scan(page)
        if violations:
            found[name] = [(v["id"], v["impact"], len(v["nodes"])) for v in violations]
    # The editor with suggestions and an error summary.
    await page.goto(f"{live}/staff/briefs/new")
    await page.get_by_role("button", name="Save draft").click()
    await page.get_by_text("There is a problem").wait_for()
    await screenshot(page, "console-editor-errors")
    if violations := await scan(page):
        found["console-editor-errors"] = [(v["id"], v["impact"]) for v in violations]
    await page.goto(f"{live}/staff/sign-in")  # signed in still: the form shows the nav
    await context.close()

    context = await browser.new_context(bypass_csp=True)
    page = await context.new_page()
    await page.goto(f"{live}/staff/sign-in")
    await screenshot(page, "console-sign-in")
    if violations := await scan(page):
        found["console-sign-in"] = [(v["id"], v["impact"]) for v in violations]
    await context.close()
    assert found == {}
