"""Nothing lost (issue 19, part 2), in headless Chromium at 1280 px and on a 375 px phone:
a draft sent after the session has ended comes back after signing in again (with the script
and without it); autosave says when it kept a copy, that the session has ended without
touching the text, and offers the copy back to restore. axe-core finds nothing serious."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiohttp import web
from pydantic import SecretStr

from learnhub.app import create_app
from service.settings import Settings
from tests.browser.conftest import PUBLISHER
from tests.browser.test_accessibility import scan
from tests.browser.test_journeys import mail_link, staff_sign_in
from tests.conftest import Clock
from tests.smtp import SmtpServer, free_port

KEPT = "Your session ended before your changes were saved; sign in and they will be back"
ENDED = "Your session has ended: copy your text, or sign in again in another tab"
LONDON = ZoneInfo("Europe/London")
TITLE = "Bruising in babies who are not yet mobile"
SUMMARY = "Baby M was seen three times with bruises. Nobody asked how they came."


@pytest.fixture
def server_clock() -> Clock:
    """The service's clock: now, moved on by hand to end sessions."""
    return Clock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
async def live(
    settings: Settings, smtp_server: SmtpServer, engine: Any, server_clock: Clock
) -> AsyncIterator[str]:
    """As tests/browser/conftest.py's, with a clock the test moves."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    live_settings = settings.model_copy(
        update={"smtp_url": SecretStr(smtp_server.url), "base_url": base}
    )
    runner = web.AppRunner(create_app(live_settings, clock=server_clock))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield base
    await runner.cleanup()


async def context_of(browser: Any, width: int, **options: Any) -> tuple[Any, Any, list[str]]:
    context = await browser.new_context(viewport={"width": width, "height": 900}, **options)
    context.set_default_timeout(10_000)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    return context, page, errors


async def checked(page: Any, screenshot: Any, name: str, *, script: bool = True) -> None:
    """A screenshot, axe-core, and no sideways scrolling (axe and the measure need scripts:
    without them, the screenshot only)."""
    await screenshot(page, name)
    if script:
        assert [(v["id"], v["impact"]) for v in await scan(page)] == [], name
        assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


async def sign_in_again(page: Any, live: str, smtp: SmtpServer) -> None:
    """From the sign-in page: ask for a link, open it in this browser, press Sign in."""
    before = len(smtp.messages)
    await page.get_by_label("Work email address").fill(PUBLISHER)
    await page.get_by_role("button", name="Email me a sign-in link").click()
    await page.get_by_role("heading", name="Check your email").wait_for()
    assert "Open the link in this browser" in await page.locator("main").inner_text()
    message = (await smtp.received(before + 1))[-1]
    await page.goto(mail_link(message, live, "/staff/sign-in/"))
    await page.get_by_role("button", name="Sign in").click()


async def write(page: Any) -> None:
    await page.get_by_label("Title").fill(TITLE)
    await page.get_by_label("Summary").fill(SUMMARY)
    await page.get_by_label("Learning points").fill("Ask how a bruise came.\nRefer.")
    await page.get_by_label("Review", exact=True).fill("Baby M")
    await page.get_by_label("Board or partnership").fill("Wirral Safeguarding Children Partnership")


@pytest.mark.parametrize(("width", "script"), [(1280, True), (375, True), (375, False)])
async def test_a_draft_sent_after_the_session_ended_is_back_after_signing_in(
    browser: Any,
    live: str,
    smtp_server: SmtpServer,
    staff: None,
    screenshot: Any,
    server_clock: Clock,
    width: int,
    script: bool,
) -> None:
    name = f"{width}{'' if script else '-no-js'}"
    context, page, errors = await context_of(
        browser, width, bypass_csp=True, java_script_enabled=script
    )
    await staff_sign_in(page, live, smtp_server, PUBLISHER)
    await page.goto(f"{live}/staff/briefs/new")
    await write(page)
    server_clock.advance(minutes=31)  # the publisher was away: the session has ended
    await page.get_by_role("button", name="Save draft").click()

    await page.get_by_role("heading", name="Sign in to the staff console").wait_for()
    assert KEPT in await page.get_by_role("region", name="Important").inner_text()
    await checked(page, screenshot, f"kept-sign-in-{name}", script=script)
    await sign_in_again(page, live, smtp_server)

    await page.get_by_role("heading", name="Write a new brief").wait_for()
    banner = await page.get_by_role("region", name="Important").inner_text()
    assert "Your session ended before your changes were saved, so we kept them" in banner
    assert "They are not saved yet" in banner
    assert await page.get_by_label("Title").input_value() == TITLE
    assert await page.get_by_label("Summary").input_value() == SUMMARY
    await checked(page, screenshot, f"kept-editor-{name}", script=script)
    await page.get_by_role("button", name="Save draft").click()
    await page.get_by_text("The draft has been saved.").wait_for()
    assert TITLE in await page.locator("main").inner_text()
    assert errors == []
    await context.close()


@pytest.mark.parametrize("width", [1280, 375])
async def test_autosave_says_what_it_did_and_its_copy_comes_back(
    browser: Any,
    live: str,
    smtp_server: SmtpServer,
    staff: None,
    screenshot: Any,
    server_clock: Clock,
    width: int,
) -> None:
    context, page, errors = await context_of(browser, width, bypass_csp=True)
    await page.clock.install()  # the page's timers run when the test says
    await staff_sign_in(page, live, smtp_server, PUBLISHER)
    await page.goto(f"{live}/staff/briefs/new")
    status = page.locator("#autosave-status")
    assert await status.get_attribute("role") == "status"
    assert await status.inner_text() == ""
    await write(page)
    await page.clock.run_for(11_000)
    saved = f"Saved a copy at {server_clock.now.astimezone(LONDON):%H:%M}"
    await page.get_by_text(saved).wait_for()
    await checked(page, screenshot, f"autosave-saved-{width}")
    await screenshot(page, f"autosave-saved-in-view-{width}", full_page=False)
    # Nothing is saved as a draft by autosave.
    await page.goto(f"{live}/staff/briefs")
    assert TITLE not in await page.locator("main").inner_text()

    # Back to the editor: the copy is offered, to restore or discard.
    await page.goto(f"{live}/staff/briefs/new")
    banner = page.get_by_role("region", name="Important")
    assert "You have unsaved changes from" in await banner.inner_text()
    assert await page.get_by_label("Title").input_value() == ""
    await checked(page, screenshot, f"autosave-offered-{width}")
    await page.get_by_label("Title").fill("Typed before choosing")
    await page.get_by_text("No copy of your changes is being kept until you restore").wait_for()
    await banner.get_by_role("button", name="Restore my changes").click()
    await page.get_by_text("Your unsaved changes from").wait_for()
    assert await page.get_by_label("Title").input_value() == TITLE
    assert await page.get_by_label("Summary").input_value() == SUMMARY
    await checked(page, screenshot, f"autosave-restored-{width}")

    # The session ends while the publisher types: the page says so, and the text stays.
    server_clock.advance(minutes=31)
    await page.get_by_label("Summary").fill(SUMMARY + " A second paragraph, typed late.")
    await page.clock.run_for(11_000)
    await page.get_by_text(ENDED).wait_for()
    assert await page.get_by_label("Title").input_value() == TITLE
    assert "typed late" in await page.get_by_label("Summary").input_value()
    await checked(page, screenshot, f"autosave-ended-{width}")
    await screenshot(page, f"autosave-ended-in-view-{width}", full_page=False)  # the status

    # Signed in again in another tab: the next change is kept again.
    other = await context.new_page()
    await staff_sign_in(other, live, smtp_server, PUBLISHER)
    await other.close()
    await page.get_by_label("Questions for reflection").fill("How do we ask?")
    await page.clock.run_for(11_000)
    saved = f"Saved a copy at {server_clock.now.astimezone(LONDON):%H:%M}"
    await page.get_by_text(saved).wait_for()

    # Saved as a draft: the copy has done its work and is offered no more.
    await page.get_by_role("button", name="Save draft").click()
    await page.get_by_text("The draft has been saved.").wait_for()
    await page.goto(f"{live}/staff/briefs/new")
    assert await page.get_by_role("region", name="Important").count() == 0
    assert errors == []
    await context.close()


async def test_autosave_runs_under_the_real_content_security_policy(
    browser: Any, live: str, smtp_server: SmtpServer, staff: None, server_clock: Clock
) -> None:
    context, page, errors = await context_of(browser, 1280)
    csp: list[str] = []
    page.on("console", lambda m: csp.append(m.text) if "Content Security" in m.text else None)
    await page.clock.install()
    await staff_sign_in(page, live, smtp_server, PUBLISHER)
    await page.goto(f"{live}/staff/briefs/new")
    await page.get_by_label("Title").fill(TITLE)
    await page.clock.run_for(11_000)
    await page.get_by_text("Saved a copy at").wait_for()
    assert errors == [] and csp == []
    await context.close()
