"""A practitioner's whole journey, through HTTP and a real SMTP server."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from service.mail.models import MailMessage
from service.practitioners.models import PractitionerSession
from subscribers.subscriptions.models import Counter, Subscriber
from tests.briefs_data import brief_body
from tests.smtp import SmtpServer
from tests.subscribers.conftest import link, press_button
from tests.web.helpers import practitioner_cookie

SUBSCRIBE = {
    "email": " Health.Visitor@NHS.net ",
    "frequency": "immediate",
    "themes": ["safer-sleep"],
    "boroughs": ["sefton"],
}


async def subscribed(web: TestClient, smtp_server: SmtpServer, count: int = 1) -> str:
    """Subscribe and confirm; returns the manage path from the confirmation page."""
    response = await web.post("/api/v1/subscriptions", json=SUBSCRIBE)
    assert response.status == 202
    confirmation = (await smtp_server.received(count))[-1]
    assert confirmation.recipients == ("health.visitor@nhs.net",)
    confirm = link(confirmation, "/subscriptions/confirm/")
    api_state = await web.get("/api/v1/subscriptions/x")
    assert api_state.status == 404  # nothing is confirmed by opening the link
    done = await press_button(web, confirm)
    assert done.status == 200
    html = await done.text()
    assert "Subscription confirmed" in html
    found = re.search(r'href="http://127\.0\.0\.1:8080(/subscriptions/manage/[^"]+)"', html)
    assert found, html
    return found.group(1)


async def test_subscribe_confirm_alert_export_unsubscribe_erase(
    web: TestClient, smtp_server: SmtpServer, publisher: dict[str, str], sessions: Any
) -> None:
    manage = await subscribed(web, smtp_server)
    token = manage.rsplit("/", 1)[1]
    state = await (await web.get(f"/api/v1/subscriptions/{token}")).json()
    assert state.get("status") == "active", (manage, state)
    assert state["themes"] == ["safer-sleep"]

    created = await (await web.post("/api/v1/briefs", json=brief_body(), headers=publisher)).json()
    await web.post(f"/api/v1/briefs/{created['id']}/publish", headers=publisher)
    alert = (await smtp_server.received(2))[1].parsed()
    # A long subject may be folded right after "Subject:" (valid RFC 5322); Python's parser
    # then keeps the folding space.
    assert alert["Subject"].strip() == f"New learning brief: {brief_body()['title']}"
    assert alert["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    html = alert.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "Discuss safer sleep at every contact" in html
    assert "Why you got this: you follow Safer sleep, Sefton." in html

    # Signed in to read restricted learning too: that is held about the address as well.
    await practitioner_cookie(sessions, "health.visitor@nhs.net", datetime.now(UTC))
    exported = await web.get(f"/api/v1/subscriptions/{token}/export")
    assert exported.headers["Content-Disposition"].startswith("attachment")
    data = json.loads(await exported.text())
    assert data["email"] == "health.visitor@nhs.net"
    assert [e["kind"] for e in data["emails"]] == ["confirm", "alert"]
    assert data["consent"]["version"]
    assert len(data["practitioner_sign_in"]["sessions"]) == 1

    unsubscribe = alert["List-Unsubscribe"].strip("<>").removeprefix("http://127.0.0.1:8080")
    one_click = await web.post(unsubscribe, data={"List-Unsubscribe": "One-Click"})
    assert one_click.status == 200
    assert (await (await web.get(f"/api/v1/subscriptions/{token}")).json())["status"] == "ended"

    assert (await web.post(f"/api/v1/subscriptions/{token}/erase")).status == 204
    gone = await web.get(manage, headers={"Accept": "text/html"})
    assert gone.status == 404 and "This link no longer works" in await gone.text()
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Subscriber)) == 0
        assert await session.scalar(select(func.count()).select_from(PractitionerSession)) == 0
        left = list(await session.scalars(select(MailMessage)))
        assert sorted(m.kind for m in left) == ["alert", "confirm"]  # kept, without the address
        assert all(m.recipient == "erased@learnhub.invalid" for m in left)
        assert all(m.status in ("sent", "failed") for m in left)  # nothing left to send
        assert (await session.get(Counter, "subscribers_erased")).value == 1  # type: ignore[union-attr]


async def test_an_erased_persons_links_never_open_the_next_persons_subscription(
    web: TestClient, smtp_server: SmtpServer
) -> None:
    """On SQLite the next row took the erased row's id, and the version restarted at 1: the
    old manage link read the new person's data, the old confirmation link confirmed them."""
    first = {**SUBSCRIBE, "email": "first@nhs.net"}
    assert (await web.post("/api/v1/subscriptions", json=first)).status == 202
    old_confirm = link((await smtp_server.received(1))[-1], "/subscriptions/confirm/")
    done = await press_button(web, old_confirm)
    found = re.search(r"(/subscriptions/manage/[^\"]+)\"", await done.text())
    assert found
    old_token = found.group(1).rsplit("/", 1)[1]
    assert (await web.post(f"/api/v1/subscriptions/{old_token}/erase")).status == 204

    second = {**SUBSCRIBE, "email": "second@nhs.net"}
    assert (await web.post("/api/v1/subscriptions", json=second)).status == 202
    await smtp_server.received(2)
    assert (await web.get(f"/api/v1/subscriptions/{old_token}")).status == 404
    page = await web.get(old_confirm)
    assert page.status == 404
    confirm_api = old_confirm.replace("/subscriptions/confirm/", "/api/v1/subscriptions/confirm/")
    assert (await web.post(confirm_api)).status == 404
