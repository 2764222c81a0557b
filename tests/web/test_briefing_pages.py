"""The 7-minute briefing: its page and PDF, the audience and lifecycle rules, the editor's
fields, and the alerts and digests that lead with what to do and link the briefing."""

# ruff: noqa: RUF001  (briefs' titles hold en dashes and curly quotes, as real ones do)
from __future__ import annotations

import io
import re
from datetime import UTC, datetime
from html import unescape
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from pypdf import PdfReader
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests import factories
from tests.briefs_data import brief_body
from tests.conftest import Clock
from tests.digests.conftest import digest, drain, publish, quiet
from tests.smtp import SmtpServer
from tests.web.conftest import PUBLISHER, form_post, sign_in
from tests.web.helpers import HTML, csrf, practitioner_cookie
from tests.web.helpers import publish as publish_now

__all__ = ["quiet"]
SINCE = datetime(2026, 11, 1, tzinfo=UTC)
BASE = "http://127.0.0.1:8080"

BRIEFING: dict[str, Any] = {
    "title": "Safer sleep – learning from “Baby T”",
    "background": "Baby T lived with his mother and her partner in Sefton.",
    "why_it_matters": "Sofa sharing is one of the highest risks for a young baby.",
    "actions": ["Record every safer-sleep conversation.", "Ask who else stays overnight."],
    "questions": ["How do we ask about sleep arrangements?", "Who visits the home?"],
    "resources": [
        {"title": "Safer sleep advice", "url": "https://www.lullabytrust.org.uk/safer-sleep"}
    ],
    "source": {
        "review": "Baby T",
        "board": "Sefton Safeguarding Children Partnership",
        "published_on": "2025-03-14",
        "url": "https://example.org/reviews/baby-t",
    },
}
HEADINGS = [
    "Background",
    "What happened",
    "Why it matters",
    "Key points",
    "What to do",
    "Questions for reflection",
    "Resources",
]


def headings(html: str, level: int) -> list[str]:
    found = re.findall(rf"<h{level}\b[^>]*>(.*?)</h{level}>", html, re.DOTALL)
    return [unescape(re.sub(r"<[^>]+>", "", h)).strip() for h in found]


def main(html: str) -> str:
    return html.split("<main", 1)[1].split("</main>", 1)[0]


async def test_the_briefing_page_has_its_sections_and_headings(
    client: TestClient, publisher: dict[str, str]
) -> None:
    brief_id = await publish_now(client, publisher, **BRIEFING)
    response = await client.get(f"/briefs/{brief_id}/briefing")
    assert response.status == 200
    # As the brief's page: public, any cache may keep it, and asks again before using it.
    assert response.headers["Cache-Control"] == "no-cache"
    html = await response.text()
    assert headings(html, 1) == [BRIEFING["title"]]
    assert headings(main(html), 2) == HEADINGS
    body = unescape(html)
    for text in (
        "Baby T lived with his mother",
        "died while co-sleeping",  # the summary, as "what happened"
        "Discuss safer sleep at every contact",  # a learning point, as a key point
        "Record every safer-sleep conversation.",
        "Who visits the home?",
        'href="https://www.lullabytrust.org.uk/safer-sleep">Safer sleep advice</a>',
        "Sefton Safeguarding Children Partnership, published 14 March 2025",
        'href="https://example.org/reviews/baby-t"',
        f"https://learnhub.example/briefs/{brief_id}",  # the brief's URL
        "How to use this briefing:",
        "face to face in a team meeting",
        f'href="/briefs/{brief_id}/briefing.pdf"',
    ):
        assert text in body, text
    assert 'media="print" href="/static/briefing-print.css' in html
    # The brief's page links to both.
    page = await (await client.get(f"/briefs/{brief_id}")).text()
    assert f'href="/briefs/{brief_id}/briefing"' in page
    assert f'href="/briefs/{brief_id}/briefing.pdf"' in page


async def test_sections_without_content_are_left_out(
    client: TestClient, publisher: dict[str, str]
) -> None:
    brief_id = await publish_now(client, publisher, title="A plain brief")
    html = await (await client.get(f"/briefs/{brief_id}/briefing")).text()
    assert headings(main(html), 2) == ["What happened", "Key points"]
    text = pdf_text(await (await client.get(f"/briefs/{brief_id}/briefing.pdf")).read())
    assert "Background" not in text and "What to do" not in text and "Key points" in text


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


async def test_the_pdf_has_real_text_a_title_and_a_language(
    client: TestClient, publisher: dict[str, str]
) -> None:
    brief_id = await publish_now(client, publisher, **BRIEFING)
    response = await client.get(f"/briefs/{brief_id}/briefing.pdf")
    assert response.status == 200
    assert response.content_type == "application/pdf"
    assert response.headers["Content-Disposition"] == (
        'inline; filename="briefing-safer-sleep-learning-from-baby-t.pdf"'
    )
    data = await response.read()
    reader = PdfReader(io.BytesIO(data))
    assert len(reader.pages) == 1  # one A4 page for a usual brief
    assert reader.metadata is not None
    assert reader.metadata.title == "7-minute briefing: Safer sleep – learning from “Baby T”"
    root = reader.trailer["/Root"]
    assert root["/Lang"] == "en-GB"
    assert bool(root["/ViewerPreferences"]["/DisplayDocTitle"])  # the title, not a filename
    assert root["/MarkInfo"]["/Marked"] and "/StructTreeRoot" in root
    assert [item.title for item in reader.outline[1]] == HEADINGS  # type: ignore[union-attr]
    media = reader.pages[0].mediabox
    assert (round(float(media.width)), round(float(media.height))) == (595, 842)  # A4
    text = pdf_text(data)
    for line in (
        "Safer sleep – learning from “Baby T”",  # curly quotes and an en dash, as text
        *HEADINGS,
        "Baby T lived with his mother and her partner in Sefton.",
        "Discuss safer sleep at every contact",
        "• Record every safer-sleep conversation.",
        "1. How do we ask about sleep arrangements?",
        "Safer sleep advice: https://www.lullabytrust.org.uk/safer-sleep",
        "Review: Baby T, Sefton Safeguarding Children Partnership, published 14 March 2025",
        f"The full brief: https://learnhub.example/briefs/{brief_id}",
        "How to use this briefing:",
    ):
        assert line in text, line


async def test_a_long_brief_prints_on_two_pages_at_most(
    client: TestClient, publisher: dict[str, str]
) -> None:
    paragraph = " ".join(["The family moved between three boroughs in a year."] * 12)
    long = {
        **BRIEFING,
        "summary": "\n\n".join([paragraph] * 4),
        "background": "\n\n".join([paragraph] * 2),
        "learning_points": [f"Learning point {n}: ask, record and share." for n in range(8)],
        "actions": [f"Action {n}: follow up within 72 hours." for n in range(6)],
    }
    brief_id = await publish_now(client, publisher, **long)
    data = await (await client.get(f"/briefs/{brief_id}/briefing.pdf")).read()
    assert len(PdfReader(io.BytesIO(data)).pages) == 2
    assert "Page 2 of 2" in pdf_text(data)


async def test_audience_and_lifecycle_rules(
    client: TestClient, publisher: dict[str, str], sessions: Any, clock: Clock
) -> None:
    restricted = await publish_now(
        client, publisher, **{**BRIEFING, "title": "Walrus brief", "audience": "practitioners"}
    )
    signed_in = await practitioner_cookie(sessions, "hv@nhs.net", clock.now)
    for suffix in ("/briefing", "/briefing.pdf"):
        path = f"/briefs/{restricted}{suffix}"
        anonymous = await client.get(path, headers=HTML)
        assert anonymous.status == 403
        page = await anonymous.text()
        assert "This learning is for practitioners" in page and "Walrus" not in page
        assert f"next=%2Fbriefs%2F{restricted}%2Fbriefing" in page
        reader = await client.get(path, headers=signed_in)
        assert reader.status == 200
        assert reader.headers["Cache-Control"] == "private, no-store"
    html = await (await client.get(f"/briefs/{restricted}/briefing", headers=signed_in)).text()
    assert "Practitioners only" in html and "Walrus brief" in html
    pdf = await (await client.get(f"/briefs/{restricted}/briefing.pdf", headers=signed_in)).read()
    assert "for practitioners only" in " ".join(pdf_text(pdf).split())

    public = await publish_now(client, publisher, title="Public brief")
    reasons = {"reason": "Superseded by the 2026 review.", "note": "internal"}
    await client.post(f"/api/v1/briefs/{public}/withdraw", json=reasons, headers=publisher)
    await client.post(f"/api/v1/briefs/{restricted}/withdraw", json=reasons, headers=publisher)
    draft = await client.post("/api/v1/briefs", json=brief_body(**BRIEFING), headers=publisher)
    draft_id = (await draft.json())["id"]
    for suffix in ("/briefing", "/briefing.pdf"):
        gone = await client.get(f"/briefs/{public}{suffix}", headers=HTML)
        assert gone.status == 410
        assert "Superseded by the 2026 review." in await gone.text()
        hidden = await client.get(f"/briefs/{restricted}{suffix}", headers=HTML)
        assert hidden.status == 410 and "Walrus" not in await hidden.text()
        assert (await client.get(f"/briefs/{draft_id}{suffix}", headers=HTML)).status == 404
        unknown = "/briefs/00000000-0000-0000-0000-000000000000"
        assert (await client.get(unknown + suffix, headers=HTML)).status == 404
        assert (await client.get("/briefs/not-a-uuid" + suffix, headers=HTML)).status == 404


async def test_the_console_editor_takes_the_fields(
    web: TestClient, smtp_server: SmtpServer, staff: None, publisher: dict[str, str]
) -> None:
    await sign_in(web, smtp_server, PUBLISHER)
    text = {
        "title": "Safer sleep: learning from Baby T",
        "summary": "Baby T died while co-sleeping on a sofa in Sefton.",
        "learning_points": "Discuss safer sleep at every contact.",
        "source_review": "Baby T",
        "source_board": "Sefton Safeguarding Children Partnership",
        "audience": "public",
        "background": "Baby T lived in Sefton.",
        "why_it_matters": "Sofa sharing is a high risk.",
        "actions": "Record safer-sleep conversations.\n\nAsk who stays overnight.\n",
        "questions": "How do we ask?",
        "resources": "Safer sleep advice https://www.lullabytrust.org.uk/safer-sleep",
        "action": "save",
    }
    bad = {**text, "resources": "Safer sleep advice ftp://x.org/", "actions": "x" * 1001}
    response = await form_post(web, "/staff/briefs/new", bad)
    html = await response.text()
    assert response.status == 422
    assert '<a href="#resources">' in html and '<a href="#actions">' in html
    assert "Safer sleep advice ftp://x.org/</textarea>" in html  # kept as typed

    response = await web.post(
        "/staff/briefs/new", data={**text, "csrf_token": csrf(html)}, allow_redirects=False
    )
    assert response.status == 303, await response.text()
    brief_id = response.headers["Location"].split("/")[3].split("?")[0]
    api = await (await web.get(f"/api/v1/briefs/{brief_id}", headers=publisher)).json()
    assert api["background"] == "Baby T lived in Sefton."
    assert api["why_it_matters"] == "Sofa sharing is a high risk."
    assert api["actions"] == ["Record safer-sleep conversations.", "Ask who stays overnight."]
    assert api["questions"] == ["How do we ask?"]
    assert api["resources"] == [
        {"title": "Safer sleep advice", "url": "https://www.lullabytrust.org.uk/safer-sleep"}
    ]

    edit = await (await web.get(f"/staff/briefs/{brief_id}/edit")).text()
    assert "Safer sleep advice https://www.lullabytrust.org.uk/safer-sleep</textarea>" in edit
    assert "Record safer-sleep conversations.\nAsk who stays overnight.</textarea>" in edit
    cleared = {**text, "background": "", "questions": "", "reviewed": "yes"}
    response = await form_post(web, f"/staff/briefs/{brief_id}/edit", cleared)
    assert response.status == 303
    api = await (await web.get(f"/api/v1/briefs/{brief_id}", headers=publisher)).json()
    assert (api["background"], api["questions"], api["revision"]) == (None, [], 2)
    assert api["why_it_matters"] == "Sofa sharing is a high risk."


LONG_SUMMARY = " ".join(f"w{n}" for n in range(400)) + "\n\nA second paragraph never sent."


def body(message: Any, kind: str) -> str:
    part = message.parsed().get_body((kind,))
    assert part is not None
    return str(part.get_content()).replace("\r\n", "\n")


async def test_an_alert_leads_with_points_and_actions_and_links_the_briefing(
    quiet: TestClient,
    publisher: dict[str, str],
    clock: Clock,
    sessions: async_sessionmaker[AsyncSession],
    smtp_server: SmtpServer,
) -> None:
    async with sessions.begin() as session:
        for email in ("a@nhs.net", "b@nhs.net"):
            await factories.person(session, email, "immediate", since=SINCE)
    app = quiet.server.app
    assert app is not None
    fields = {**BRIEFING, "summary": LONG_SUMMARY}
    brief_id = await publish(quiet, publisher, clock, "2026-11-23 10:00", **fields)
    await drain(app)
    assert len(smtp_server.messages) == 2
    for message in smtp_server.messages:
        text = body(message, "plain")
        order = [
            text.index("Learning points"),
            text.index("- Discuss safer sleep at every contact"),
            text.index("What to do"),
            text.index("- Record every safer-sleep conversation."),
            text.index("What happened"),
            text.index("w0 w1 w2"),
        ]
        assert order == sorted(order)
        assert "w119…" in text and "w120" not in text and "second paragraph" not in text
        assert f"Read the full brief: {BASE}/briefs/{brief_id}\n" in text
        assert f"{BASE}/briefs/{brief_id}/briefing" in text
        html = body(message, "html")
        assert html.index("Learning points") < html.index("What to do") < html.index("w0 w1")
        assert f'href="{BASE}/briefs/{brief_id}/briefing"' in html
        assert "<p>w0 w1" in html and "w119…</p>" in html and "w120" not in html
    # Everyone's alert but for their own links: the briefing link is the same for all.
    first, second = (body(m, "plain") for m in smtp_server.messages)
    briefing_line = f"7-minute briefing for your team: {BASE}/briefs/{brief_id}/briefing\n"
    assert first.split(briefing_line)[0] == second.split(briefing_line)[0]


async def test_an_alert_without_actions_leaves_the_heading_out(
    quiet: TestClient,
    publisher: dict[str, str],
    clock: Clock,
    sessions: async_sessionmaker[AsyncSession],
    smtp_server: SmtpServer,
) -> None:
    async with sessions.begin() as session:
        await factories.person(session, "a@nhs.net", "immediate", since=SINCE)
    await publish(quiet, publisher, clock, "2026-11-23 10:00", title="No actions")
    await drain(quiet.server.app)  # type: ignore[arg-type]
    [message] = smtp_server.messages
    assert "What to do" not in body(message, "plain") and "What to do" not in body(message, "html")
    assert "died while co-sleeping" in body(message, "plain")  # a short summary, whole


@pytest.mark.parametrize("frequency", ["daily", "weekly"])
async def test_digest_items_lead_with_points_and_actions_and_link_the_briefing(
    quiet: TestClient,
    publisher: dict[str, str],
    clock: Clock,
    sessions: async_sessionmaker[AsyncSession],
    smtp_server: SmtpServer,
    frequency: str,
) -> None:
    async with sessions.begin() as session:
        await factories.person(session, "d@nhs.net", frequency, since=SINCE)
    fields = {**BRIEFING, "summary": LONG_SUMMARY}
    brief_id = await publish(quiet, publisher, clock, "2026-11-24 10:00", **fields)
    await drain(quiet.server.app)  # type: ignore[arg-type]
    await digest(quiet, clock, frequency, "2026-11-30 09:00")
    [message] = [m for m in smtp_server.messages if "digest" in m.parsed()["Subject"]]
    text = body(message, "plain")
    order = [
        text.index("Learning points:"),
        text.index("What to do:"),
        text.index("- Ask who else stays overnight."),
        text.index("w0 w1 w2"),
        text.index(f"Read it: {BASE}/briefs/{brief_id}\n"),
    ]
    assert order == sorted(order)
    assert f"7-minute briefing: {BASE}/briefs/{brief_id}/briefing\n" in text
    assert "w119…" in text and "w120" not in text
    html = body(message, "html")
    assert html.index("Learning points") < html.index("What to do") < html.index("w0 w1")
    assert f'href="{BASE}/briefs/{brief_id}/briefing"' in html
    assert "w120" not in html


@pytest.mark.parametrize("frequency", ["immediate", "daily"])
async def test_emails_track_nobody(
    quiet: TestClient,
    publisher: dict[str, str],
    clock: Clock,
    sessions: async_sessionmaker[AsyncSession],
    smtp_server: SmtpServer,
    frequency: str,
) -> None:
    """What the privacy notice promises: no images (no open pixels) and every link straight
    to the page it names (no redirect that could count clicks)."""
    async with sessions.begin() as session:
        await factories.person(session, "a@nhs.net", frequency, since=SINCE)
    await publish(quiet, publisher, clock, "2026-11-23 10:00")
    if frequency == "daily":
        await digest(quiet, clock, "daily", "2026-11-24T07:31:00")
    else:
        await drain(quiet.server.app)  # type: ignore[arg-type]
    [message] = smtp_server.messages
    html = body(message, "html")
    assert "<img" not in html.lower() and "background=" not in html.lower()
    links = re.findall(r'href="([^"]+)"', html)
    assert links
    straight = (
        "/briefs/", "/acknowledge/", "/discussions/new/", "/subscriptions/manage/",
        "/unsubscribe/", "/subscribe", "/feeds", "/privacy",
    )  # fmt: skip
    for link in map(unescape, links):
        assert link.startswith(BASE + "/") or link.startswith("mailto:"), link
        path = link.removeprefix(BASE)
        assert path.startswith(straight) or link.startswith("mailto:"), link
