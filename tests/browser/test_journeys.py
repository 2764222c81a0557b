"""Real journeys in headless Chromium, under the real Content-Security-Policy."""

from __future__ import annotations

import re
from typing import Any

from tests.browser.conftest import PUBLISHER
from tests.smtp import Received, SmtpServer


def mail_link(message: Received, base: str, path: str) -> str:
    text = message.parsed().get_body(("plain",)).get_content()  # type: ignore[union-attr]
    found = re.search(re.escape(base + path) + r"\S+", text)
    assert found, text
    return found.group(0)


async def new_page(browser: Any) -> tuple[Any, Any, list[str]]:
    """A page whose console errors (a CSP violation, a script error) are collected."""
    context = await browser.new_context()
    page = await context.new_page()
    problems: list[str] = []
    context.set_default_timeout(10_000)

    def console(message: Any) -> None:
        # A failed load is reported below with its address instead.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            problems.append(message.text)

    def response(answer: Any) -> None:
        if answer.status >= 400 and not answer.url.endswith("/favicon.ico"):
            problems.append(f"{answer.status} {answer.url}")

    page.on("console", console)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("response", response)
    return context, page, problems


async def staff_sign_in(page: Any, live: str, smtp: SmtpServer, email: str) -> None:
    before = len(smtp.messages)
    await page.goto(f"{live}/staff")
    await page.get_by_label("Work email address").fill(email)
    await page.get_by_role("button", name="Email me a sign-in link").click()
    await page.get_by_role("heading", name="Check your email").wait_for()
    message = (await smtp.received(before + 1))[-1]
    await page.goto(mail_link(message, live, "/staff/sign-in/"))
    await page.get_by_role("button", name="Sign in").click()
    await page.get_by_role("heading", name="Briefs", exact=True).wait_for()


async def draft_and_publish(page: Any, live: str, screenshot: Any) -> str:
    await page.get_by_role("button", name="Write a new brief").click()
    await page.get_by_label("Title").fill("Safer sleep: learning from Baby T")
    await page.get_by_label("Summary").fill(
        "Baby T died while co-sleeping with a parent on a sofa in Sefton."
    )
    await page.get_by_label("Learning points").fill(
        "Discuss safer sleep at every contact.\nAsk who else lives in the home."
    )
    await page.get_by_label("Review", exact=True).fill("Baby T")
    await page.get_by_label("Board or partnership").fill("Sefton Safeguarding Children Partnership")
    await page.get_by_role("button", name="Suggest tags").click()
    await page.wait_for_url("**#tags")  # back at the tags, not the top of the form
    evidence = page.locator("#themes-safer-sleep-hint mark")
    assert await evidence.count() > 0
    assert await page.get_by_role("heading", name="Tags", exact=True).is_visible()
    safer_sleep = page.locator("#themes-safer-sleep")
    assert await safer_sleep.is_checked()
    await screenshot(page, "console-editor-suggestions")
    # Adjust: drop a suggestion if the tagger made it, add a theme of our own.
    infants = page.locator("#themes-infants")
    if await infants.is_checked():
        await infants.uncheck()
    await page.locator("#themes-professional-curiosity").check()
    await page.get_by_role("button", name="Save draft").click()
    await page.get_by_text("The draft has been saved.").wait_for()
    assert "Professional curiosity" in await page.content()
    await page.get_by_role("button", name="Publish").click()
    await page.get_by_role("button", name="Publish brief").click()
    await page.get_by_text("The brief has been published").wait_for()
    await screenshot(page, "console-brief")
    return str(page.url).split("/staff/briefs/")[1].split("?")[0]


async def test_staff_publishes_and_a_visitor_finds_and_subscribes(
    browser: Any, live: str, smtp_server: SmtpServer, staff: None, screenshot: Any
) -> None:
    context, page, problems = await new_page(browser)
    await staff_sign_in(page, live, smtp_server, PUBLISHER)
    await screenshot(page, "console-briefs")
    brief_id = await draft_and_publish(page, live, screenshot)
    await context.close()

    context, page, problems_visitor = await new_page(browser)
    await page.goto(f"{live}/")
    await page.get_by_label("Search learning briefs").fill("sleeping")
    await page.get_by_role("button", name="Search").click()
    await page.get_by_role("heading", name=re.compile("1 brief matching")).wait_for()
    await page.locator("#borough-sefton").check()
    await page.get_by_role("button", name="Apply filters").click()
    await page.get_by_role("heading", name=re.compile("1 brief matching")).wait_for()
    await screenshot(page, "site-search")
    await page.get_by_role("link", name="Safer sleep: learning from Baby T").click()
    await page.get_by_role("heading", name="Safer sleep: learning from Baby T").wait_for()
    assert brief_id in page.url
    await screenshot(page, "site-brief")
    await page.get_by_role("link", name="Get emails about these topics").click()
    assert await page.locator("#themes-safer-sleep").is_checked()
    await page.get_by_label("Email address").fill("reader@nhs.net")
    await page.get_by_label("As soon as a brief is published").check()
    await page.get_by_role("button", name="Subscribe").click()
    await page.get_by_role("heading", name="Check your email").wait_for()
    message = next(m for m in await smtp_server.received(2) if "reader@nhs.net" in m.recipients)
    await page.goto(mail_link(message, live, "/subscriptions/confirm/"))
    await page.get_by_role("button", name="Confirm subscription").click()
    await page.get_by_role("heading", name="Subscription confirmed").wait_for()
    await context.close()
    assert problems == [] and problems_visitor == []
