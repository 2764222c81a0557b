"""The admins' map of email domains to an agency and borough (issue 18, part 4)."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from subscribers.subscriptions.models import DomainAgency
from tests.smtp import SmtpServer
from tests.web.conftest import ADMIN, PUBLISHER, form_post, sign_in


async def test_admins_map_domains_in_the_console(
    web: TestClient, smtp_server: SmtpServer, staff: None, sessions: Any
) -> None:
    await sign_in(web, smtp_server, ADMIN)
    added = await form_post(
        web,
        "/staff/domains",
        {"domain": " Merseyside.Police.UK ", "agency": "police", "borough": ""},
    )
    assert added.status == 303 and added.headers["Location"] == "/staff/domains?done=added"
    page = await (await web.get("/staff/domains?done=added")).text()
    assert "merseyside.police.uk" in page and "The domain has been mapped." in page
    # Adding it again replaces its mapping.
    again = {"domain": "merseyside.police.uk", "agency": "police", "borough": "knowsley"}
    assert (await form_post(web, "/staff/domains", again)).status == 303
    async with sessions() as session:
        rows = list(await session.scalars(select(DomainAgency)))
    assert [(r.domain, r.agency, r.borough) for r in rows] == [
        ("merseyside.police.uk", "police", "knowsley")
    ]

    for bad, field in (
        ({"domain": "nodots", "agency": "police"}, "domain"),
        ({"domain": "nhs.net", "agency": "", "borough": ""}, "agency"),
        ({"domain": "nhs.net", "agency": "pirates"}, "agency"),
        ({"domain": "nhs.net", "borough": "atlantis"}, "borough"),
    ):
        refused = await form_post(web, "/staff/domains", bad)
        assert refused.status == 422, bad
        html = await refused.text()
        assert "There is a problem" in html and f'href="#{field}"' in html, (bad, html)

    removed = await form_post(
        web, "/staff/domains", {"domain": "merseyside.police.uk"}, path="/staff/domains/remove"
    )
    assert removed.status == 303
    async with sessions() as session:
        assert list(await session.scalars(select(DomainAgency))) == []


async def test_only_admins_map_domains(
    web: TestClient, smtp_server: SmtpServer, staff: None
) -> None:
    assert (await web.get("/staff/domains", allow_redirects=False)).status == 303
    await sign_in(web, smtp_server, PUBLISHER)
    assert (await web.get("/staff/domains")).status == 403
