"""Console administration in a browser, under the real CSP (issue 19, part 5): an admin adds
a member of staff and changes their role, changes a group, pastes addresses and reads what
became of each, then reads the audit log; on a 375 px phone (no sideways scrolling of the
page) and on a laptop, with axe-core on every page and its error states."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import ADMIN, PUBLISHER
from tests.browser.test_accessibility import scan
from tests.browser.test_journeys import staff_sign_in
from tests.smtp import SmtpServer

PASTE = (
    '"Smith, Jo" <jo.smith@nhs.net>; Sam Jones <sam.jones@merseyside.police.uk>\n'
    "volunteer@gmail.com, not-an-address, a.very.long.address.for.a.safeguarding.lead"
    "@merseyside.police.uk"
)


@pytest.mark.parametrize(("width", "height"), [(375, 812), (1280, 900)])
async def test_an_admin_manages_staff_groups_and_reads_the_audit_log(
    browser: Any,
    live: str,
    smtp_server: SmtpServer,
    staff: None,
    screenshot: Any,
    width: int,
    height: int,
) -> None:
    # The real CSP for the journey; axe needs its script in, so it runs in a second context.
    context = await browser.new_context(viewport={"width": width, "height": height})
    page = await context.new_page()
    problems: list[str] = []

    def console(message: Any) -> None:
        # A failed load is reported below with its address instead (as tests/browser's
        # journeys do); the forms' errors are 422s on purpose.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            problems.append(message.text)

    def response(answer: Any) -> None:
        if (
            answer.status >= 400
            and answer.status != 422
            and not answer.url.endswith("/favicon.ico")
        ):
            problems.append(f"{answer.status} {answer.url}")

    page.on("console", console)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("response", response)
    await staff_sign_in(page, live, smtp_server, ADMIN)
    visited: dict[str, str] = {}

    async def look(name: str) -> None:
        visited[name] = page.url
        await screenshot(page, f"admin-{name}-{width}")
        wide = await page.evaluate("document.documentElement.scrollWidth")
        assert wide <= width, (name, wide)

    # Staff: add, with a mistake first; the token panel; change the role.
    await page.goto(f"{live}/staff/members")  # the navigation is a menu on a phone
    await page.get_by_role("heading", name="Staff", exact=True).wait_for()
    await look("staff")
    await page.get_by_role("button", name="Add a member of staff").click()
    await page.get_by_label("Work email address").fill("not an address")
    await page.get_by_role("button", name="Add to staff").click()
    await page.get_by_text("There is a problem").wait_for()
    await look("staff-new-errors")
    await page.get_by_label("Work email address").fill("new.lead@merseyside.police.uk")
    await page.get_by_label("Administrator").check()
    await page.get_by_role("button", name="Add to staff").click()
    await page.get_by_role("heading", name="Added to staff").wait_for()
    await look("staff-added")
    await page.get_by_role("link", name="Back to staff").click()
    await page.get_by_role("link", name="role of new.lead@merseyside.police.uk").click()
    await page.get_by_label("Publisher").check()
    await page.get_by_role("button", name="Save role").click()
    await page.get_by_text("The role has been changed.").wait_for()
    await page.get_by_role("link", name=f"role of {PUBLISHER}").click()
    await look("staff-member")
    await page.get_by_role("button", name=f"Remove {PUBLISHER} from staff").click()
    await page.get_by_role("heading", name="Remove them from staff?").wait_for()
    await look("staff-remove")
    await page.get_by_role("button", name="Remove from staff").click()
    await page.get_by_text("They have been signed out").wait_for()

    # A group: create, change, paste addresses.
    await page.goto(f"{live}/staff/groups/new")
    await page.get_by_label("Name").fill("Sefton health visitors")
    await page.get_by_label("A practitioner group").check()
    await page.get_by_role("button", name="Create group").click()
    await page.get_by_text("The group has been created.").wait_for()
    await page.get_by_role("link", name="Change the group").click()
    await page.get_by_label("Sefton").check()
    await page.get_by_label("Once a day").check()
    await look("group-edit")
    await page.get_by_role("button", name="Save changes").click()
    await page.get_by_text("The group has been changed.").wait_for()
    await page.get_by_label("Add members").fill(PASTE)
    await page.get_by_role("button", name="Invite", exact=True).click()
    await page.get_by_text("What happened to each address").wait_for()
    await page.get_by_text("3 people have been invited").wait_for()
    await page.get_by_text("There is a problem").wait_for()
    await look("group-invited")
    assert await page.get_by_label("Add members").input_value() == (
        "volunteer@gmail.com\nnot-an-address"
    )

    # The audit log, filtered, and its CSV.
    await page.goto(f"{live}/staff/audit")
    await page.get_by_role("heading", name="Audit log").wait_for()
    await look("audit")
    await page.get_by_label("What").select_option("staff")
    await page.get_by_role("button", name="Show").click()
    await page.get_by_role("heading", name="3 entries").wait_for()
    async with page.expect_download() as download:
        await page.get_by_role("link", name="Download these entries as CSV").click()
    assert (await download.value).suggested_filename.startswith("audit-log-")
    await page.goto(f"{live}/staff/audit?from=2026-02-30")
    await page.get_by_text("There is a problem").wait_for()
    await look("audit-errors")
    assert problems == []  # nothing refused by the CSP, no script errors
    cookies = await context.cookies()
    await context.close()

    # axe-core on each page as it was seen (a GET again; the states after a POST are
    # posted again in the scanning context).
    context = await browser.new_context(
        viewport={"width": width, "height": height}, bypass_csp=True
    )
    await context.add_cookies(cookies)
    page = await context.new_page()
    found = {}
    for name, url in visited.items():
        if name in ("staff-new-errors", "staff-added", "group-invited"):
            continue
        await page.goto(url)
        if violations := await scan(page):
            found[name] = [(v["id"], v["impact"]) for v in violations]
    await page.goto(visited["staff"])
    await page.get_by_role("button", name="Add a member of staff").click()
    await page.get_by_role("button", name="Add to staff").click()
    await page.get_by_text("There is a problem").wait_for()
    if violations := await scan(page):
        found["staff-new-errors"] = [(v["id"], v["impact"]) for v in violations]
    await page.goto(visited["group-edit"].removesuffix("/edit"))
    await page.get_by_label("Add members").fill(PASTE)
    await page.get_by_role("button", name="Invite", exact=True).click()
    await page.get_by_text("What happened to each address").wait_for()
    if violations := await scan(page):
        found["group-invited"] = [(v["id"], v["impact"]) for v in violations]
    await context.close()
    assert found == {}
