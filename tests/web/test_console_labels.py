"""Labels, not codes, on the console's pages (issue 19, part 5): no taxonomy code, role or
frequency is shown as the code the API uses, wherever its label differs."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

from aiohttp.test_utils import TestClient

from service.taxonomy import FACETS, default_taxonomy
from tests.smtp import SmtpServer
from tests.web.conftest import ADMIN, form_post, sign_in
from tests.web.helpers import publish
from tests.web.test_console_staff import _member


class Text(HTMLParser):
    """What a reader sees: text outside attributes, scripts, styles and <code>."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in ("script", "style", "code", "textarea"):
            self.hidden += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "code", "textarea"):
            self.hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data)


def _seen(html: str) -> str:
    parser = Text()
    parser.feed(html)
    return " ".join(parser.parts)


def _codes() -> set[str]:
    # Codes of more than one word (a single word, like "health", is also English).
    taxonomy = default_taxonomy()
    codes = {term.code for facet in FACETS for term in taxonomy.terms(facet) if "-" in term.code}
    # A role and field names as the API writes them.
    return codes | {"admin", "practitioners_only", "learning_points", "why_it_matters"}


async def test_no_console_page_shows_a_code_for_a_label(
    web: TestClient, smtp_server: SmtpServer, staff: None, admin: dict[str, str], sessions: Any
) -> None:
    brief = await publish(
        web, admin, themes=["safer-sleep"], agencies=["health-visiting"], boroughs=["sefton"]
    )
    edit = {"learning_points": ["Ask who lives in the home."], "why_it_matters": "Because."}
    assert (await web.patch(f"/api/v1/briefs/{brief}", json=edit, headers=admin)).status == 200
    await sign_in(web, smtp_server, ADMIN)
    fields = [("name", "Sefton health visitors"), ("frequency", "immediate"),
              ("practitioners_only", "yes"), ("themes", "safer-sleep"),
              ("agencies", "health-visiting"), ("boroughs", "sefton")]  # fmt: skip
    group = (await form_post(web, "/staff/groups/new", fields)).headers["Location"]
    group = group.split("?")[0]
    await form_post(web, group, {"addresses": "hv@nhs.net"}, path=f"{group}/members")
    mapping = {"domain": "nhs.net", "agency": "health-visiting", "borough": "sefton"}
    await form_post(web, "/staff/domains", mapping)
    pages = [
        "/staff/briefs",
        f"/staff/briefs/{brief}",
        "/staff/groups",
        group,
        f"{group}/edit",
        "/staff/groups/new",
        "/staff/members",
        f"/staff/members/{(await _member(sessions, ADMIN)).id}",
        "/staff/members/new",
        "/staff/reach",
        "/staff/domains",
        "/staff/impact?from=2026-01-01&to=2026-12-31",
        "/staff/audit",
    ]
    codes = _codes()
    found = {}
    for path in pages:
        response = await web.get(path)
        assert response.status == 200, path
        seen = _seen(await response.text())
        shown = {c for c in codes if re.search(rf"(?<![\w.@-]){re.escape(c)}(?![\w.@-])", seen)}
        if shown:
            found[path] = shown
    assert found == {}
    seen = _seen(await (await web.get(f"/staff/briefs/{brief}")).text())
    assert "Edited, revision 2: learning points, why it matters" in seen
    seen = _seen(await (await web.get(group)).text())
    assert "Safer sleep" in seen and "Health visiting" in seen and "Immediately" in seen
