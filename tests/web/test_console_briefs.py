"""Writing, tagging, previewing and moving a brief through the console."""

from __future__ import annotations

import re
from html import unescape

from aiohttp.test_utils import TestClient

from tests.smtp import SmtpServer
from tests.web.conftest import PUBLISHER, form_post, sign_in
from tests.web.helpers import csrf

TEXT = {
    "title": "Safer sleep: learning from Baby T",
    "summary": "Baby T died while co-sleeping on a sofa in Sefton.",
    "learning_points": "Discuss safer sleep at every contact.\nAsk who else lives in the home.",
    "source_review": "Baby T",
    "source_board": "Sefton Safeguarding Children Partnership",
    "source_day": "14",
    "source_month": "3",
    "source_year": "2025",
    "audience": "public",
}


def ticked(html: str, facet: str) -> set[str]:
    return set(re.findall(rf'name="{facet}" type="checkbox" value="([^"]+)" checked', html))


async def _create(web: TestClient) -> tuple[str, str]:
    """Suggest tags, drop one suggestion, add a theme of our own, save; returns (id, html)."""
    response = await form_post(web, "/staff/briefs/new", {**TEXT, "action": "suggest"})
    html = await response.text()
    assert response.status == 200
    assert '<mark class="learnhub-evidence">' in html
    assert {"safer-sleep"} <= ticked(html, "themes")
    assert "sefton" in ticked(html, "boroughs")
    hidden = re.search(r'name="suggested" value="([^"]*)"', html)
    assert hidden
    themes = (ticked(html, "themes") - {"infants"}) | {"professional-curiosity"}
    fields = [(k, v) for k, v in TEXT.items()] + [("action", "save"), ("reviewed", "yes")]
    fields += [("suggested", hidden.group(1))]
    fields += [("themes", t) for t in sorted(themes)]
    fields += [("boroughs", b) for b in ticked(html, "boroughs")]
    fields += [("csrf_token", csrf(html))]
    response = await web.post("/staff/briefs/new", data=fields, allow_redirects=False)
    assert response.status == 303, await response.text()
    location = response.headers["Location"]
    brief_id = location.split("/")[3].split("?")[0]
    return brief_id, await (await web.get(location)).text()


async def test_a_brief_from_draft_to_withdrawn(
    web: TestClient, smtp_server: SmtpServer, staff: None, publisher: dict[str, str]
) -> None:
    await sign_in(web, smtp_server, PUBLISHER)
    brief_id, html = await _create(web)
    assert "The draft has been saved." in html
    api = await (await web.get(f"/api/v1/briefs/{brief_id}", headers=publisher)).json()
    assert "professional-curiosity" in api["themes"] and "infants" not in api["themes"]
    assert api["source"]["published_on"] == "2025-03-14"
    assert api["status"] == "draft"
    assert (await web.get(f"/briefs/{brief_id}")).status == 404

    # Previews of a draft.
    email = await (await web.get(f"/staff/briefs/{brief_id}/preview/email")).text()
    assert "New learning brief: Safer sleep: learning from Baby T" in email
    assert "srcdoc=" in email
    feed = await (await web.get(f"/staff/briefs/{brief_id}/preview/feed")).text()
    assert "&lt;entry&gt;" in feed

    # Publish, with its confirmation step.
    response = await form_post(web, f"/staff/briefs/{brief_id}/publish", {"note": "First cut"})
    assert response.status == 303
    assert (await web.get(f"/briefs/{brief_id}")).status == 200

    # A significant update: the editor, then a confirmation page, then the update.
    edit = await (await web.get(f"/staff/briefs/{brief_id}/edit")).text()
    assert ticked(edit, "themes") >= {"professional-curiosity", "safer-sleep"}
    fields = {**TEXT, "summary": "New findings.", "significant": "yes", "action": "save"}
    fields["change_note"] = "Added the coroner's findings."
    themes = [("themes", t) for t in sorted(ticked(edit, "themes"))]
    response = await form_post(
        web, f"/staff/briefs/{brief_id}/edit", [*fields.items(), ("reviewed", "yes"), *themes]
    )
    confirm = await response.text()
    assert response.status == 200 and "Send the update to subscribers?" in confirm
    found = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', confirm)
    hidden = [(name, unescape(value)) for name, value in found]
    response = await web.post(
        f"/staff/briefs/{brief_id}/edit", data=[*hidden, ("action", "save")], allow_redirects=False
    )
    assert response.status == 303 and "done=updated&" in response.headers["Location"]
    page = await (await web.get(f"/briefs/{brief_id}")).text()
    assert "New findings." in page and "Updated. Added the coroner&#39;s findings." in page

    # Withdraw, with the form's checks (found by review: the console let control characters
    # through, which PostgreSQL answered with a 500), then restore.
    withdraw = f"/staff/briefs/{brief_id}/withdraw"
    refused = await form_post(web, withdraw, {"reason": "Bad\x1b[31m", "note": "fine"})
    assert refused.status == 422
    assert "Must not contain control characters." in await refused.text()
    given = {"reason": "Superseded by the 2026 review.", "note": "Legal asked us"}
    assert (await form_post(web, withdraw, given)).status == 303
    gone = await web.get(f"/briefs/{brief_id}")
    assert gone.status == 410
    page = await gone.text()
    assert "Superseded by the 2026 review." in page and "Legal asked us" not in page
    assert (await form_post(web, f"/staff/briefs/{brief_id}/restore", {})).status == 303

    detail = await (await web.get(f"/staff/briefs/{brief_id}")).text()
    for action in ("Created as a draft, revision 1<", "Published, revision 1<",
                   "Significant update, revision 2: summary", "Withdrawn, revision 2<",
                   "Restored as a draft, revision 2<"):  # fmt: skip
        assert action in detail, action
    assert detail.count(PUBLISHER) >= 6  # every move is recorded against the staff member
    history = await (await web.get(f"/api/v1/briefs/{brief_id}/history", headers=publisher)).json()
    assert [h["action"] for h in history["items"]] == [
        "create", "publish", "edit", "withdraw", "restore"
    ]  # fmt: skip
    assert {h["staff"] for h in history["items"]} == {PUBLISHER}


async def test_editor_errors_are_summarised(
    web: TestClient, smtp_server: SmtpServer, staff: None
) -> None:
    await sign_in(web, smtp_server, PUBLISHER)
    fields = {**TEXT, "title": "", "source_day": "31", "source_month": "2", "action": "save"}
    response = await form_post(web, "/staff/briefs/new", fields)
    html = await response.text()
    assert response.status == 422
    assert "There is a problem" in html
    assert '<a href="#title">' in html and '<a href="#source_day">' in html


async def test_publishing_twice_is_a_conflict_page(
    web: TestClient, smtp_server: SmtpServer, staff: None
) -> None:
    await sign_in(web, smtp_server, PUBLISHER)
    brief_id, _ = await _create(web)
    assert (await form_post(web, f"/staff/briefs/{brief_id}/publish", {})).status == 303
    page = await web.get(f"/staff/briefs/{brief_id}/publish")
    response = await web.post(
        f"/staff/briefs/{brief_id}/publish", data={"csrf_token": csrf(await page.text())}
    )
    assert response.status == 409
    assert "That can&#39;t be done now" in await response.text()
