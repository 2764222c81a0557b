"""Who the recipients are (issue 18, part 4): what a person says of their agency, borough and
role, on subscribing and when managing; and the admins' map of email domains."""

from __future__ import annotations

import json
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from subscribers.subscriptions.models import Subscriber
from tests.smtp import SmtpServer
from tests.subscribers.conftest import link, press_button
from tests.web.conftest import form_post

SUBSCRIBE = {
    "email": "dsl@school.example",
    "frequency": "weekly",
    "my_agency": "education",
    "my_borough": "wirral",
    "my_role": "safeguarding-lead",
}


async def _manage_token(web: TestClient, smtp_server: SmtpServer) -> str:
    assert (await web.post("/api/v1/subscriptions", json=SUBSCRIBE)).status == 202
    confirm = link((await smtp_server.received(1))[-1], "/subscriptions/confirm/")
    html = await (await press_button(web, confirm)).text()
    return html.split("/subscriptions/manage/", 1)[1].split('"', 1)[0]


async def test_stated_on_subscribing_changed_exported_and_erased(
    web: TestClient, smtp_server: SmtpServer, sessions: Any
) -> None:
    token = await _manage_token(web, smtp_server)
    state = await (await web.get(f"/api/v1/subscriptions/{token}")).json()
    assert (state["my_agency"], state["my_borough"], state["my_role"]) == (
        "education",
        "wirral",
        "safeguarding-lead",
    )
    # Absent keeps an answer, "" clears it, a new value replaces it.
    changed = await web.patch(
        f"/api/v1/subscriptions/{token}", json={"my_borough": "", "my_role": "manager"}
    )
    assert changed.status == 200, await changed.text()
    state = await changed.json()
    assert (state["my_agency"], state["my_borough"], state["my_role"]) == (
        "education",
        None,
        "manager",
    )
    for bad in ({"my_agency": "pirates"}, {"my_role": "Jane Smith"}, {"my_borough": 3}):
        refused = await web.patch(f"/api/v1/subscriptions/{token}", json=bad)
        assert refused.status == 422, (bad, await refused.text())
    exported = json.loads(await (await web.get(f"/api/v1/subscriptions/{token}/export")).text())
    assert exported["subscription"]["my_agency"] == "education"
    assert exported["subscription"]["my_role"] == "manager"

    assert (await web.post(f"/api/v1/subscriptions/{token}/erase")).status == 204
    async with sessions() as session:
        assert list(await session.scalars(select(Subscriber))) == []


async def test_unknown_codes_on_subscribing_are_refused(web: TestClient) -> None:
    response = await web.post("/api/v1/subscriptions", json={**SUBSCRIBE, "my_agency": "pirates"})
    assert response.status == 422
    assert "pirates" in await response.text()


async def test_the_subscribe_and_manage_forms_ask_and_change_it(
    web: TestClient, smtp_server: SmtpServer, sessions: Any
) -> None:
    form = await (await web.get("/subscribe")).text()
    assert 'id="my_agency"' in form and 'id="my_role"' in form and "Prefer not to say" in form
    fields = [("email", "hv@nhs.net"), ("my_agency", "pirates"), ("my_role", "")]
    refused = await form_post(web, "/subscribe", fields)
    assert refused.status == 422
    assert 'href="#my_agency"' in await refused.text()
    fields = [("email", "hv@nhs.net"), ("my_agency", "health-visiting"), ("my_borough", "")]
    assert (await form_post(web, "/subscribe", [*fields, ("my_role", "")])).status == 200
    confirm = link((await smtp_server.received(1))[-1], "/subscriptions/confirm/")
    html = await (await press_button(web, confirm)).text()
    manage = "/subscriptions/manage/" + html.split("/subscriptions/manage/", 1)[1].split('"')[0]
    async with sessions() as session:
        person = await session.scalar(select(Subscriber))
        assert (person.my_agency, person.my_borough, person.my_role) == (
            "health-visiting",
            None,
            None,
        )
    page = await (await web.get(manage)).text()
    assert '<option value="health-visiting" selected>' in page
    about = [("frequency", "weekly"), ("my_agency", ""), ("my_borough", "sefton")]
    saved = await form_post(web, manage, [*about, ("my_role", "practitioner")])
    assert saved.status == 303, await saved.text()
    async with sessions() as session:
        person = await session.scalar(select(Subscriber))
        assert (person.my_agency, person.my_borough, person.my_role) == (
            None,
            "sefton",
            "practitioner",
        )
