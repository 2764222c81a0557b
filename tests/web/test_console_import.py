"""Importing a review in the console: the upload makes a draft and opens its editor with
what was proposed; bad files get one sentence and make nothing; the file is offered on the
brief's page only when the publisher chooses, under the brief's audience rule."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime
from html import unescape
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.briefs.documents.limits import MAX_BYTES
from service.briefs.documents.models import BriefDocument
from service.briefs.models import Brief
from tests.documents.review import BOARD, LEARNING, SUMMARY, review_docx, review_pdf
from tests.smtp import SmtpServer
from tests.web.conftest import PUBLISHER, form_post, sign_in
from tests.web.helpers import HTML, csrf, practitioner_cookie

PDF = "application/pdf"


async def upload(web: TestClient, name: str, data: bytes, kind: str = PDF) -> Any:
    page = await web.get("/staff/briefs/import")
    assert page.status == 200
    form = aiohttp.FormData(quote_fields=False)  # as browsers send a file's name
    form.add_field("csrf_token", csrf(await page.text()))
    form.add_field("document", io.BytesIO(data), filename=name, content_type=kind)
    return await web.post("/staff/briefs/import", data=form, allow_redirects=False)


async def counts(sessions: async_sessionmaker[AsyncSession]) -> tuple[int, int]:
    async with sessions() as session:
        briefs = await session.scalar(select(func.count()).select_from(Brief))
        documents = await session.scalar(select(func.count()).select_from(BriefDocument))
    return int(briefs or 0), int(documents or 0)


def field(html: str, name: str) -> str:
    """The value of the editor's input or textarea ``name``."""
    found = re.search(rf'name="{name}" type="text"[^>]* value="([^"]*)"', html) or re.search(
        rf'name="{name}"[^>]*>(.*?)</textarea>', html, re.S
    )
    assert found, name
    return unescape(found.group(1))


@pytest.mark.parametrize(
    ("name", "data", "kind"),
    [
        ("Child L review.pdf", review_pdf(), PDF),
        ("Child L review.docx", review_docx(), "application/octet-stream"),
    ],
)
async def test_an_upload_opens_the_drafts_editor_with_what_it_proposes(
    web: TestClient,
    smtp_server: SmtpServer,
    staff: None,
    sessions: async_sessionmaker[AsyncSession],
    name: str,
    data: bytes,
    kind: str,
) -> None:
    await sign_in(web, smtp_server, PUBLISHER)
    response = await upload(web, name, data, kind)
    assert response.status == 303, await response.text()
    location = response.headers["Location"]
    assert re.fullmatch(r"/staff/briefs/[0-9a-f-]{36}/edit\?imported=yes", location)
    html = await (await web.get(location)).text()
    assert "Imported: check the draft" in html and f"Made from {name}" in html
    assert field(html, "title") == "Learning from Child L"
    assert field(html, "learning_points") == "\n".join(LEARNING)
    assert field(html, "summary") == "\n\n".join(SUMMARY)
    assert field(html, "source_review") == "Child L"
    assert field(html, "source_board") == BOARD
    assert [field(html, f"source_{p}") for p in ("day", "month", "year")] == ["14", "3", "2025"]
    assert unescape("&#34;Published: 14 March 2025&#34;") in unescape(html)
    # Suggested tags, ticked, with the words that found them.
    for facet, code in (("themes", "domestic-abuse"), ("boroughs", "knowsley")):
        assert re.search(rf'name="{facet}" type="checkbox" value="{code}" checked', html), code
    assert '<mark class="learnhub-evidence">' in html
    brief_id = location.split("/")[3]
    async with sessions() as session:
        brief = await session.get(Brief, __import__("uuid").UUID(brief_id))
        document = await session.get(BriefDocument, brief.id) if brief else None
    assert brief is not None and brief.status == "draft"
    assert document is not None and document.size == len(data) and not document.offered


BAD = [
    ("notes.pdf", b"<html>not a pdf</html>", "This file is not a PDF or a Word document (.docx)."),
    ("broken.pdf", b"%PDF-1.7\n1 0 obj <<", "This PDF is damaged and can&#39;t be read"),
    ("old.doc", bytes.fromhex("d0cf11e0a1b11ae1") + bytes(600), "older Word document (.doc)"),
    ("empty.pdf", b"", "The file is empty."),
]


@pytest.mark.parametrize(("name", "data", "sentence"), BAD)
async def test_a_bad_file_is_one_sentence_and_makes_nothing(
    web: TestClient,
    smtp_server: SmtpServer,
    staff: None,
    sessions: async_sessionmaker[AsyncSession],
    name: str,
    data: bytes,
    sentence: str,
) -> None:
    await sign_in(web, smtp_server, PUBLISHER)
    response = await upload(web, name, data)
    html = await response.text()
    assert response.status == 422
    assert sentence in html and "govuk-error-summary" in html
    assert await counts(sessions) == (0, 0)


async def test_no_file_chosen(web: TestClient, smtp_server: SmtpServer, staff: None) -> None:
    await sign_in(web, smtp_server, PUBLISHER)
    page = await web.get("/staff/briefs/import")
    form = aiohttp.FormData()
    form.add_field("csrf_token", csrf(await page.text()))
    form.add_field("document", b"", filename="", content_type=PDF)
    response = await web.post("/staff/briefs/import", data=form)
    assert response.status == 422
    assert "Choose a PDF or Word document (.docx) to import" in await response.text()


async def test_over_20_mb_is_a_413_and_makes_nothing(
    web: TestClient,
    smtp_server: SmtpServer,
    staff: None,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await sign_in(web, smtp_server, PUBLISHER)
    big = b"%PDF-1.7\n" + bytes(MAX_BYTES)
    response = await upload(web, "big.pdf", big)
    assert response.status == 413
    assert "larger than 20 MB" in await response.text()
    assert await counts(sessions) == (0, 0)
    # Just under the limit, the file is read (and refused for what it is, not its size).
    response = await upload(web, "nearly.pdf", big[: MAX_BYTES - 100])
    assert response.status == 422


async def test_strangers_get_the_usual_1_mib_limit_and_no_form(web: TestClient) -> None:
    response = await web.get("/staff/briefs/import", allow_redirects=False)
    assert response.status == 303 and response.headers["Location"] == "/staff/sign-in"
    form = aiohttp.FormData()
    form.add_field("document", io.BytesIO(b"%PDF-" + bytes(2 * 1024 * 1024)), filename="x.pdf")
    response = await web.post("/staff/briefs/import", data=form, headers=HTML)
    assert response.status == 413


async def test_the_full_review_is_offered_when_chosen_under_the_audience_rule(
    web: TestClient,
    smtp_server: SmtpServer,
    staff: None,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await sign_in(web, smtp_server, PUBLISHER)
    data = review_pdf()
    location = (await upload(web, "Child L review.pdf", data)).headers["Location"]
    brief_id = location.split("/")[3]
    review = f"/staff/briefs/{brief_id}/review"
    page = await (await web.get(review)).text()
    assert "Not offered" in page and "## 5. Learning for practitioners" in page
    staff_file = await web.get(f"{review}/file")
    assert staff_file.status == 200 and await staff_file.read() == data
    # Published, not offered: no link, no file.
    assert (await web.post(f"/staff/briefs/{brief_id}/publish", data={"csrf_token": csrf(page)},
                           allow_redirects=False)).status == 303  # fmt: skip
    public = await web.get(f"/briefs/{brief_id}", headers=HTML)
    assert "Full review" not in await public.text()
    assert (await web.get(f"/briefs/{brief_id}/review")).status == 404
    # Offered: the link says what the file is; the file comes as an attachment.
    response = await web.post(review, data={"csrf_token": csrf(page), "offered": "yes"})
    assert "The brief&#39;s page offers the full review." in await response.text()
    public_html = await (await web.get(f"/briefs/{brief_id}", headers=HTML)).text()
    assert f'href="/briefs/{brief_id}/review" download>Full review, PDF, 27 KB<' in public_html
    downloaded = await web.get(f"/briefs/{brief_id}/review")
    assert downloaded.status == 200 and await downloaded.read() == data
    assert downloaded.headers["Content-Type"] == PDF
    assert downloaded.headers["Content-Disposition"].startswith(
        'attachment; filename="Child L review.pdf"'
    )
    # Restricted: only for signed-in practitioners.
    async with sessions.begin() as session:
        brief = await session.get(Brief, __import__("uuid").UUID(brief_id))
        assert brief is not None
        brief.audience = "practitioners"
    web.session.cookie_jar.clear()
    stranger = await web.get(f"/briefs/{brief_id}/review", headers=HTML)
    assert stranger.status == 403 and "Full review" not in await stranger.text()
    cookie = await practitioner_cookie(sessions, "hv@nhs.net", datetime.now(UTC))
    allowed = await web.get(f"/briefs/{brief_id}/review", headers=cookie)
    assert allowed.status == 200 and await allowed.read() == data
    assert allowed.headers["Cache-Control"] == "private, no-store"


async def test_text_pasted_into_the_editor_is_tidied_and_previewed(
    web: TestClient, smtp_server: SmtpServer, staff: None
) -> None:
    """A PDF's text copied from a viewer: broken lines, cut words, a footer and a page
    number between them; the same repair as an import, shown before anything is saved."""
    await sign_in(web, smtp_server, PUBLISHER)
    pasted_summary = (
        "Child L lived with her mother and her\nmother's partner in Knowsley. Practitioners\n"
        "from health, children's social care and Merse-\nyside Police were involved with "
        "the family\nbecause of domestic abuse incidents and\nconcerns about the partner's "
        "drug use.\nKnowsley Safeguarding Children Partnership Page 2 of 9\n12\n"
        "Child L: Local Child Safeguarding Practice Review\nThe review found that information "
        "about the\npartner was not shared between agencies,\nthat bruising in a non-mobile "
        "baby was not\nrecognised as a safeguarding concern, and\nthat the voice of the child "
        "was rarely\nrecorded.\nKnowsley Safeguarding Children Partnership Page 3 of 9\n"
        "Child L: Local Child Safeguarding Practice Review\n"
    )
    pasted_points = (
        "• Any bruise on a baby who is not yet\nmobile must be referred for a child prote-\n"
        "ction medical, whatever the explanation\ngiven.\n• Ask about every adult in the "
        "household,\nincluding partners who are not the child's\nparent, and check what "
        "agencies know\nabout them.\n"
    )
    fields = {"summary": pasted_summary, "learning_points": pasted_points, "action": "tidy"}
    response = await form_post(web, "/staff/briefs/new", fields)
    html = await response.text()
    assert response.status == 200
    assert field(html, "summary") == "\n\n".join(SUMMARY)
    assert field(html, "learning_points") == "\n".join(LEARNING[:2])
    preview = html[html.index('id="preview"') :]
    assert "The summary, tidied, as readers will see it" in preview
    assert f"<p>{SUMMARY[0]}</p>" in unescape(preview)
    assert "2 learning points. Nothing is saved" in preview
