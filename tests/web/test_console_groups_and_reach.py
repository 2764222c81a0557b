"""Practitioner groups (admins) and the reach dashboard, through the console."""

from __future__ import annotations

import re

from aiohttp.test_utils import TestClient

from tests.smtp import SmtpServer
from tests.web.conftest import ADMIN, PUBLISHER, form_post, link, sign_in
from tests.web.helpers import publish


async def test_groups_members_and_the_feed_link(
    web: TestClient, smtp_server: SmtpServer, staff: None
) -> None:
    await sign_in(web, smtp_server, ADMIN)
    fields = [("name", "Sefton health visitors"), ("frequency", "daily")]
    fields += [("practitioners_only", "yes"), ("boroughs", "sefton")]
    response = await form_post(web, "/staff/groups/new", fields)
    assert response.status == 303
    group = response.headers["Location"].split("?")[0]
    assert (await form_post(web, "/staff/groups/new", fields)).status == 422  # name taken

    response = await form_post(web, group, {"addresses": "hv@nhs.net"}, path=f"{group}/members")
    assert response.status == 200
    assert "1 person has been invited" in await response.text()
    invite = (await smtp_server.received(2))[-1]
    assert invite.recipients == ("hv@nhs.net",)
    assert "/subscriptions/join/" in link(invite, "/subscriptions/join/")
    page = await (await web.get(group)).text()
    assert "hv@nhs.net" in page and "Invited" in page
    listing = await (await web.get("/staff/groups")).text()
    assert re.search(r"Sefton health visitors</a></td>.*?--numeric\">1</td>", listing, re.S)
    bad = await form_post(web, group, {"addresses": "not an address"}, path=f"{group}/members")
    assert bad.status == 422

    # The new feed link is shown once; the old one stops working.
    first = await form_post(web, group, {}, path=f"{group}/feed-token")
    url = re.search(r'id="feed-url" type="text" value="([^"]+)"', await first.text())
    assert url
    path = url.group(1).removeprefix("http://127.0.0.1:8080")
    assert (await web.get(path)).status == 200
    assert 'id="feed-url"' not in await (await web.get(group)).text()
    await form_post(web, group, {}, path=f"{group}/feed-token")
    assert (await web.get(path)).status == 404

    response = await form_post(web, group, {"email": "hv@nhs.net"}, path=f"{group}/members/remove")
    assert response.status == 303
    assert "hv@nhs.net" not in await (await web.get(group)).text()
    listing = await (await web.get("/staff/groups")).text()
    assert re.search(r"Sefton health visitors</a></td>.*?--numeric\">0</td>", listing, re.S)


async def test_reach_counts_subscribers_and_people_sent_each_brief(
    web: TestClient, smtp_server: SmtpServer, staff: None, admin: dict[str, str]
) -> None:
    fields = [("email", "reader@nhs.net"), ("frequency", "immediate"), ("borough", "sefton")]
    assert (await form_post(web, "/subscribe", fields)).status == 200
    confirm = link((await smtp_server.received(1))[0], "/subscriptions/confirm/")
    assert (await form_post(web, confirm, {})).status == 200
    brief_id = await publish(web, admin, title="Reach test brief", boroughs=["sefton"])
    alert = (await smtp_server.received(2))[-1]
    assert alert.recipients == ("reader@nhs.net",)

    await sign_in(web, smtp_server, PUBLISHER)
    # The worker marks the message sent just after the server accepts it; each request
    # gives it a turn of the event loop.
    for _ in range(200):
        page = await (await web.get("/staff/reach")).text()
        if re.search(rf'{brief_id}">Reach test brief</a></td><td[^>]*>[^<]*</td><td[^>]*>1<', page):
            break
    else:
        raise AssertionError(page)
    assert "1 confirmed subscriber." in page
    assert re.search(r">Immediate</th><td[^>]*>1<", page)
    assert re.search(r">Sefton</th><td[^>]*>1<", page)
