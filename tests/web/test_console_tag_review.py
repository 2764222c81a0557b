"""Tags a publisher can review (issue 19, part 4): suggestions strongest first, each with the
sentence that found it (all of them a click away), the rest "also mentioned"; "Suggest tags"
comes back to the tags; the tags an edit would add or remove, said before saving."""

from __future__ import annotations

import re
from html import unescape

from aiohttp.test_utils import TestClient

from tests.smtp import SmtpServer
from tests.web.conftest import PUBLISHER, form_post, sign_in
from tests.web.test_console_briefs import TEXT, ticked

SUMMARY = (
    "Baby T died while co-sleeping on a sofa in Sefton. "
    + "Safer sleep advice was given once and co-sleeping risks were not discussed again. " * 4
    + "The review also considered neglect, parental mental health and housing, among others."
)
LONG = {**TEXT, "summary": SUMMARY, "learning_points": "Discuss safer sleep at every contact."}


def section(html: str, facet: str) -> str:
    return html.split(f'id="{facet}"', 1)[1].split("</fieldset>", 1)[0]


def said(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


async def test_suggestions_strongest_first_with_their_sentence_the_rest_also_mentioned(
    web: TestClient, smtp_server: SmtpServer, staff: None
) -> None:
    await sign_in(web, smtp_server, PUBLISHER)
    response = await form_post(web, "/staff/briefs/new", {**LONG, "action": "suggest"})
    html = await response.text()
    assert response.status == 200
    themes = section(html, "themes")
    # Safer sleep first (the heaviest), then infants; neglect and parental mental health only
    # in a passing list: offered, unticked, under "Also mentioned".
    order = re.findall(r'name="themes" type="checkbox" value="([a-z-]+)"', themes)
    assert order[:2] == ["safer-sleep", "infants"]
    mentioned = themes.split("Also mentioned", 1)[1].split("Other themes", 1)[0]
    assert {"neglect", "parental-mental-health"} <= set(re.findall(r'value="([a-z-]+)"', mentioned))
    assert ticked(html, "themes") >= {"safer-sleep"}
    assert "neglect" not in ticked(html, "themes")
    # One sentence for each, the words that found it marked; the other mentions a click away.
    # The strongest mention (the title) is quoted; every one of them behind "All N mentions".
    row = themes.split('id="themes-safer-sleep-hint"', 1)[1].split('name="themes"', 1)[0]
    hint = row.split("</div>", 1)[0]
    assert '“<mark class="learnhub-evidence">Safer sleep</mark>: learning from Baby T”' in hint
    every = row.split("<details", 1)[1].split("</details>", 1)[0]
    assert re.search(r"All \d+ mentions", every)
    assert (
        '“Baby T died while <mark class="learnhub-evidence">co-sleeping</mark> on a sofa in '
        "Sefton.”" in every
    )
    # The whole text is not repeated above the tags any more.
    assert 'id="evidence"' not in html
    # "Suggest tags" comes back to the tags.
    assert re.search(r'formaction="/staff/briefs/new#tags"[^>]*>Suggest tags', html)


async def test_an_edit_says_which_tags_it_would_add_or_remove(
    web: TestClient, smtp_server: SmtpServer, staff: None
) -> None:
    await sign_in(web, smtp_server, PUBLISHER)
    response = await form_post(web, "/staff/briefs/new", {**TEXT, "action": "save"})
    brief_id = response.headers["Location"].split("/")[3].split("?")[0]
    path = f"/staff/briefs/{brief_id}/edit"
    unchanged = await form_post(web, path, {**TEXT, "action": "suggest"})
    assert "Saving will" not in said(await unchanged.text())

    # The text now says domestic abuse and no longer Sefton.
    text = {
        **TEXT,
        "summary": "Baby T died while co-sleeping. Mother was a victim of domestic abuse.",
    }
    text["source_board"] = "Safeguarding Children Partnership"
    html = await (await form_post(web, path, {**text, "action": "suggest"})).text()
    change = said(html.split('id="tag-changes"', 1)[1].split("</div>", 1)[0])
    assert "add: Domestic abuse" in change
    assert "remove: Sefton" in change


async def test_the_editor_suggests_what_a_save_applies(
    web: TestClient, smtp_server: SmtpServer, staff: None, publisher: dict[str, str]
) -> None:
    """A board naming a borough gives it when the text names none: the editor's suggestions
    are the service's own (found by review: the editor tagged the text alone)."""
    await sign_in(web, smtp_server, PUBLISHER)
    text = {**TEXT, "summary": "Baby T died while co-sleeping on a sofa."}
    text["source_board"] = "St Helens Safeguarding Children Partnership"
    html = await (await form_post(web, "/staff/briefs/new", {**text, "action": "suggest"})).text()
    assert ticked(html, "boroughs") == {"st-helens"}
    hint = section(html, "boroughs").split('id="boroughs-st-helens-hint"', 1)[1]
    assert '<mark class="learnhub-evidence">St Helens</mark>' in hint.split("</div>", 1)[0]
    response = await form_post(web, "/staff/briefs/new", {**text, "action": "save"})
    brief_id = response.headers["Location"].split("/")[3].split("?")[0]
    saved = await (await web.get(f"/api/v1/briefs/{brief_id}", headers=publisher)).json()
    assert saved["boroughs"] == ["st-helens"]
    # Reopened, the editor says a save would change nothing.
    html = await (
        await form_post(web, f"/staff/briefs/{brief_id}/edit", {**text, "action": "suggest"})
    ).text()
    assert 'id="tag-changes"' not in html
