"""The privacy notice, accessibility statement and contact page (issue 21, part 5): linked from
every page's footer, naming the operator from its settings, saying what the code keeps (its
own constants); and the site's icon."""

from __future__ import annotations

import inspect
import re
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from handlers.console.copies import KEPT_COOKIE
from learnhub.app import create_app
from practice import retention
from service.mail.service import purge_bodies
from service.practitioners import sessions as practitioner_sessions
from service.settings import Settings
from service.staff import copies
from service.staff import sessions as staff_sessions
from tests.conftest import Clock

PAGES = {
    "/privacy": "Privacy notice",
    "/accessibility": "Accessibility statement",
    "/contact": "Contact",
}


@pytest.fixture
async def operated(
    aiohttp_client: Any, settings: Settings, clock: Clock, engine: Any
) -> TestClient:
    chosen = settings.model_copy(
        update={
            "organisation_name": "Wirral Safeguarding Partnership",
            "organisation_email": "learning@wirral.example",
            "organisation_phone": "0151 000 0000",
            "dpo_email": "dpo@wirral.example",
            "evidence_years": 2,
        }
    )
    return await aiohttp_client(create_app(chosen, clock=clock, run_workers=False))  # type: ignore[no-any-return]


def text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


async def test_every_page_links_the_three_in_its_footer(client: TestClient) -> None:
    for path in ("/", "/subscribe", "/feeds", *PAGES):
        html = await (await client.get(path)).text()
        footer = html.split('<footer class="govuk-footer"', 1)[1]
        for link, label in (
            ("/privacy", "Privacy"),
            ("/accessibility", "Accessibility statement"),
            ("/contact", "Contact"),
        ):
            assert f'href="{link}">{label}</a>' in footer, (path, link)


async def test_the_pages_name_the_operator_from_its_settings(operated: TestClient) -> None:
    for path, heading in PAGES.items():
        response = await operated.get(path)
        assert response.status == 200
        page = text(await response.text())
        assert heading in page
        assert "Wirral Safeguarding Partnership" in page
        assert "learning@wirral.example" in page
    privacy = text(await (await operated.get("/privacy")).text())
    assert "dpo@wirral.example" in privacy
    assert "2 years, as the board's evidence" in text(await (await operated.get("/privacy")).text())
    contact = text(await (await operated.get("/contact")).text())
    assert "0151 000 0000" in contact and "call 999" in contact


async def test_the_contact_email_defaults_to_the_from_address(client: TestClient) -> None:
    page = text(await (await client.get("/contact")).text())
    assert "learning@localhost" in page  # LEARNHUB_MAIL_FROM's default


async def test_the_privacy_notice_says_what_the_code_keeps(client: TestClient) -> None:
    page = text(await (await client.get("/privacy")).text())
    kept = inspect.signature(purge_bodies).parameters["older_than"].default
    assert f"deleted {kept.days} days after it is sent" in page
    link_minutes = int(practitioner_sessions.LINK_LIFETIME.total_seconds() // 60)
    assert f"Sign-in links work for {link_minutes} minutes" in page
    assert staff_sessions.LINK_LIFETIME == practitioner_sessions.LINK_LIFETIME
    assert f"until {practitioner_sessions.IDLE.days} days without a visit" in page
    assert f"staff until {int(staff_sessions.IDLE.total_seconds() // 60)} minutes" in page
    assert f"at most {int(staff_sessions.ABSOLUTE.total_seconds() // 3600)} hours" in page
    assert f"you do not confirm: {retention.UNCONFIRMED_FOR.days} days" in page
    assert f"for {retention.UNSUBSCRIBED_FOR.days} days, so that you can change" in page
    assert f"{retention.UNSUBSCRIBED_FOR.days} days after you leave your last group" in page
    assert (
        f"bounced: {Settings.model_fields['evidence_years'].default} years, as the board's evidence"
        in page
    )
    for cookie in ("lh_csrf", "lh_practitioner", "lh_staff", KEPT_COOKIE):
        assert cookie in page
    assert f"for at most {copies.WORKING_LIFETIME.days} days" in page
    kept_hours = int(copies.KEPT_LIFETIME.total_seconds() // 3600)
    assert f"ended is kept for {kept_hours} hours" in page
    assert f"{kept_hours} hours, or when the brief is back" in page


async def test_the_icon(client: TestClient) -> None:
    response = await client.get("/favicon.ico")
    assert response.status == 200
    assert response.headers["Content-Type"] in ("image/x-icon", "image/vnd.microsoft.icon")
    assert "max-age" in response.headers["Cache-Control"]
    assert (await response.read())[:4] == b"\x00\x00\x01\x00"  # an ICO file
    touch = await client.get("/apple-touch-icon.png")
    assert touch.status == 200 and (await touch.read())[:8] == b"\x89PNG\r\n\x1a\n"
