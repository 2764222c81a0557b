"""A sign-up that says what it did (issue 21, part 4): the address on "Check your email"; the
choices, with the digest's day and time, restated in the confirmation email and on the confirm
pages; newer choices kept pending and said so; a route for a lost link that answers alike for
every address; an ended subscription's page that offers to subscribe again; plain words."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

from aiohttp.test_utils import TestClient

from tests.conftest import Clock
from tests.smtp import SmtpServer
from tests.subscribers.conftest import link, press_button
from tests.waiting import until


def csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found
    return found.group(1)


def said(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def text_of(message: Any) -> str:
    return " ".join(message.parsed().get_body(("plain",)).get_content().split())


async def _subscribe(web: TestClient, email: str, **fields: Any) -> Any:
    page = await (await web.get("/subscribe")).text()
    data: list[tuple[str, str]] = [("csrf_token", csrf(page)), ("email", email)]
    for name, value in fields.items():
        for one in value if isinstance(value, list) else [value]:
            data.append((name, one))
    return await web.post("/subscribe", data=data)


async def test_the_sign_up_restates_what_was_asked_for(
    web: TestClient, smtp_server: SmtpServer
) -> None:
    form = said(await (await web.get("/subscribe")).text())
    assert "Once a week (on Mondays, at 7:30am)" in form
    assert "Once a day (at 7:30am)" in form

    response = await _subscribe(
        web,
        "hv@nhs.net",
        frequency="weekly",
        themes=["neglect", "safer-sleep"],
        boroughs="wirral",
    )
    page = said(await response.text())
    assert response.status == 200
    assert "Check your email" in page and "hv@nhs.net" in page
    assert "within 10 minutes" in page  # what happens to a second request, said

    [message] = await smtp_server.received(1)
    email = text_of(message)
    for line in (
        "How often: Once a week, on Mondays at 7:30am, when there are new briefs",
        "Themes: Neglect, Safer sleep",
        "Agencies: All agencies",
        "Boroughs: Wirral",
    ):
        assert line in email, email

    confirm = link(message, "/subscriptions/confirm/")
    page = said(await (await web.get(confirm)).text())
    assert "Themes: Neglect, Safer sleep" in page and "Boroughs: Wirral" in page
    done = said(await (await press_button(web, confirm)).text())
    assert "Subscription confirmed" in done
    assert "How often: Once a week, on Mondays at 7:30am" in done


async def test_newer_choices_wait_for_the_same_confirmation(
    web: TestClient, smtp_server: SmtpServer
) -> None:
    await _subscribe(web, "sw@wirral.gov.uk", frequency="daily", themes="neglect")
    [first] = await smtp_server.received(1)
    # Five minutes later, other choices: no second email (the limit), but the first link
    # confirms the newest choices, and its page shows them.
    await _subscribe(web, "sw@wirral.gov.uk", frequency="immediate", themes="domestic-abuse")
    confirm = link(first, "/subscriptions/confirm/")

    async def newest() -> bool:  # once the request is handled, after the answer
        return "Themes: Domestic abuse" in said(await (await web.get(confirm)).text())

    await until(newest, within=10, what="the newer choices, pending")
    page = said(await (await web.get(confirm)).text())
    assert "Neglect" not in page
    assert "As soon as a brief is published" in page
    await press_button(web, confirm)
    assert len(smtp_server.messages) == 1


async def test_a_lost_link_answers_alike_for_every_address(
    web: TestClient, smtp_server: SmtpServer, clock: Clock
) -> None:
    await _subscribe(web, "gp@nhs.net", themes="neglect")
    [confirmation] = await smtp_server.received(1)
    await press_button(web, link(confirmation, "/subscriptions/confirm/"))
    clock.advance(minutes=11)  # past the one-link-in-ten-minutes limit

    form = await (await web.get("/subscriptions/lost")).text()
    assert "Email address" in form
    answers = []
    for address in ("gp@nhs.net", "nobody@nhs.net"):
        response = await web.post(
            "/subscriptions/lost", data={"csrf_token": csrf(form), "email": address}
        )
        assert response.status == 200
        answers.append(said(await response.text()).replace(address, "ADDRESS"))
    assert answers[0] == answers[1]
    assert "If ADDRESS gets emails from us, we have sent it a link" in answers[0]
    [_, manage_email] = await smtp_server.received(2)
    assert manage_email.recipients == ("gp@nhs.net",)
    assert link(manage_email, "/subscriptions/manage/")

    bad = await web.post("/subscriptions/lost", data={"csrf_token": csrf(form), "email": "nope"})
    assert bad.status == 422
    assert "Enter an email address in the correct format" in await bad.text()


async def test_after_unsubscribing_the_page_offers_to_subscribe_again(
    web: TestClient, smtp_server: SmtpServer
) -> None:
    await _subscribe(web, "mw@nhs.net", themes="neglect")
    [confirmation] = await smtp_server.received(1)
    confirmed = await (
        await press_button(web, link(confirmation, "/subscriptions/confirm/"))
    ).text()
    manage = confirmed[confirmed.index("/subscriptions/manage/") :].split('"', 1)[0]
    page = await (await web.get(manage)).text()
    assert "Download everything we hold about you" in page and "(JSON)" not in page

    # Saving what is already there says so.
    response = await web.post(
        manage,
        data={
            "csrf_token": csrf(page),
            "action": "save",
            "frequency": "weekly",
            "themes": "neglect",
        },
    )
    assert "You made no changes." in said(await response.text())

    page = await (await web.get(manage)).text()
    old_tab = csrf(page)
    gone = await web.post(manage, data={"csrf_token": old_tab, "action": "unsubscribe"})
    page = said(await gone.text())
    assert "You have unsubscribed" in page
    assert "Subscribe again" in page
    assert "Save changes" not in page and "How often do you want emails?" not in page
    assert "Download everything we hold about you" in page  # their rights stay
    # A save posted from an old tab changes nothing and says why.
    response = await web.post(
        manage,
        data={"csrf_token": old_tab, "action": "save", "frequency": "daily"},
    )
    assert "Your changes have been saved" not in said(await response.text())
    assert "You have unsubscribed" in said(await response.text())
