"""The subscriber's pages work without JavaScript: forms, errors, manage, erase."""

from __future__ import annotations

import re

from aiohttp.test_utils import TestClient

from tests.smtp import SmtpServer
from tests.subscribers.conftest import link, press_button


def csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found
    return found.group(1)


async def test_subscribe_form_prefills_validates_and_subscribes(
    web: TestClient, smtp_server: SmtpServer
) -> None:
    page = await (await web.get("/subscribe?theme=neglect&borough=wirral")).text()
    assert 'id="themes-neglect" name="themes" type="checkbox" value="neglect" checked' in page
    assert 'id="boroughs-wirral" name="boroughs" type="checkbox" value="wirral" checked' in page
    assert '<label class="govuk-label govuk-label--s" for="email">Email address</label>' in page

    bad = await web.post(
        "/subscribe", data={"csrf_token": csrf(page), "email": "nope", "themes": "neglect"}
    )
    html = await bad.text()
    assert bad.status == 422
    assert '<h2 class="govuk-error-summary__title">There is a problem</h2>' in html
    assert '<a href="#email">Enter an email address in the correct format' in html
    assert "<title>Error: " in html
    assert 'value="neglect" checked' in html  # choices survive the error

    good = await web.post(
        "/subscribe",
        data={
            "csrf_token": csrf(page),
            "email": "sw@wirral.gov.uk",
            "frequency": "daily",
            "themes": "neglect",
        },
    )
    assert good.status == 200 and good.url.path == "/subscribe"  # no redirect: see below
    assert "Check your email" in await good.text()
    assert "sw@wirral.gov.uk" in await good.text()  # named on the page, never in a URL
    assert (await smtp_server.received(1))[0].recipients == ("sw@wirral.gov.uk",)


async def test_manage_page_saves_pauses_and_erases(
    web: TestClient, smtp_server: SmtpServer
) -> None:
    await web.post("/api/v1/subscriptions", json={"email": "gp@nhs.net", "themes": ["neglect"]})
    confirmed = await press_button(
        web, link((await smtp_server.received(1))[0], "/subscriptions/confirm/")
    )
    html = await confirmed.text()
    manage = html[html.index("/subscriptions/manage/") :].split('"', 1)[0]
    page = await (await web.get(manage)).text()
    assert 'value="neglect" checked' in page
    saved = await web.post(
        manage,
        data={
            "csrf_token": csrf(page),
            "action": "save",
            "frequency": "weekly",
            "themes": ["domestic-abuse"],
            "paused": "yes",
        },
    )
    text = await saved.text()
    assert "Your changes have been saved." in text
    assert 'value="domestic-abuse" checked' in text and 'value="neglect" checked' not in text
    assert 'id="paused" name="paused" type="checkbox" value="yes" checked' in text
    erased = await press_button(web, manage + "/erase")
    assert "Your data has been erased" in await erased.text()
    assert (await web.get(manage)).status == 404
