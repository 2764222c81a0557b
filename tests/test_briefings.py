"""The 7-minute briefing's fields: through the JSON API and the import, and the emails' lead."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from click.testing import CliRunner

from service.briefs.briefing import lead, sections
from service.briefs.importer import ImportFileError, read_brief_file
from service.briefs.render import render_summary
from tests.briefs_data import brief_body
from tests.test_cli import invoke, runner, stored

__all__ = ["runner"]

BRIEFING: dict[str, Any] = {
    "background": "Baby T lived with his mother and her partner in Sefton.\n\nA second paragraph.",
    "why_it_matters": "Sofa sharing is one of the highest risks for a young baby.",
    "actions": ["Record every safer-sleep conversation.", "Ask who else stays overnight."],
    "questions": ["How do we ask about sleep arrangements?", "Who visits the home?"],
    "resources": [
        {"title": "Safer sleep advice", "url": "https://www.lullabytrust.org.uk/safer-sleep"}
    ],
}


async def _json(response: Any, status: int) -> Any:
    body = await response.json()
    assert response.status == status, body
    return body


async def test_the_fields_round_trip_and_an_edit_of_them_is_an_edit(
    client: TestClient, publisher: dict[str, str]
) -> None:
    created = await _json(
        await client.post("/api/v1/briefs", json=brief_body(**BRIEFING), headers=publisher), 201
    )
    assert {field: created[field] for field in BRIEFING} == BRIEFING
    url = f"/api/v1/briefs/{created['id']}"
    assert {
        f: (await _json(await client.get(url, headers=publisher), 200))[f] for f in BRIEFING
    } == BRIEFING

    # Left out, each keeps its value; null or [] clears it; a change is a revision.
    await _json(await client.post(url + "/publish", headers=publisher), 200)
    edit = {"actions": ["Only this action."], "background": None, "questions": []}
    edited = await _json(await client.patch(url, json=edit, headers=publisher), 200)
    assert edited["revision"] == 2
    assert edited["actions"] == ["Only this action."]
    assert edited["background"] is None and edited["questions"] == []
    assert edited["why_it_matters"] == BRIEFING["why_it_matters"]
    assert edited["resources"] == BRIEFING["resources"]
    significant = {
        "why_it_matters": "It matters more now.",
        "significant": True,
        "change_note": "Why it matters, rewritten.",
    }
    await _json(await client.patch(url, json=significant, headers=publisher), 200)
    history = await _json(await client.get(url + "/history", headers=publisher), 200)
    edits = [h for h in history["items"] if h["action"] == "edit"]
    assert [sorted(h["changes"]) for h in edits] == [
        ["actions", "background", "questions"],
        ["why_it_matters"],
    ]
    assert [h["significant"] for h in edits] == [False, True]
    # The same value again changes nothing.
    same = await _json(
        await client.patch(url, json={"actions": ["Only this action."]}, headers=publisher), 200
    )
    assert same["revision"] == 3

    plain = await _json(
        await client.post("/api/v1/briefs", json=brief_body(), headers=publisher), 201
    )
    assert (plain["background"], plain["why_it_matters"]) == (None, None)
    assert plain["actions"] == plain["questions"] == plain["resources"] == []


@pytest.mark.parametrize(
    ("fields", "where"),
    [
        ({"background": "x" * 5001}, "background"),
        ({"why_it_matters": "   "}, "why_it_matters"),
        ({"actions": ["Do this."] * 21}, "actions"),
        ({"actions": ["y" * 1001]}, "actions.0"),
        ({"questions": [""]}, "questions.0"),
        ({"questions": "one question"}, "questions"),
        ({"resources": [{"title": "Old", "url": "ftp://example.org/x"}]}, "resources.0.url"),
        ({"resources": [{"title": "Script", "url": "javascript:alert(1)"}]}, "resources.0.url"),
        ({"resources": [{"url": "https://example.org/"}]}, "resources.0.title"),
        ({"resources": [{"title": "A", "url": "https://e.org/", "x": 1}]}, "resources.0.x"),
        ({"resources": [{"title": "Two\nlines", "url": "https://e.org/"}]}, "resources.0.title"),
    ],
)
async def test_bad_fields_are_422s_naming_them(
    client: TestClient, publisher: dict[str, str], fields: dict[str, Any], where: str
) -> None:
    created = await client.post("/api/v1/briefs", json=brief_body(**fields), headers=publisher)
    body = await _json(created, 422)
    assert where in [d["field"] for d in body["error"]["details"]], body
    draft = await _json(
        await client.post("/api/v1/briefs", json=brief_body(), headers=publisher), 201
    )
    patched = await client.patch(f"/api/v1/briefs/{draft['id']}", json=fields, headers=publisher)
    assert where in [d["field"] for d in (await _json(patched, 422))["error"]["details"]]


def test_markdown_front_matter_carries_the_fields(tmp_path: Path) -> None:
    path = tmp_path / "baby-t.md"
    path.write_text(
        "---\n"
        'title: "Safer sleep: Baby T"\n'
        "source: {review: Baby T, board: Sefton SCP, published_on: 2025-03-14}\n"
        "background: |\n  Baby T lived in Sefton.\n\n  A second paragraph.\n"
        "why_it_matters: Sofa sharing is a high risk.\n"
        "actions:\n  - Record safer-sleep conversations.\n"
        "questions:\n  - How do we ask?\n  - Who visits?\n"
        "resources:\n  - title: Safer sleep advice\n    url: https://www.lullabytrust.org.uk/\n"
        "---\nThe summary.\n\n## Learning points\n- Discuss safer sleep.\n",
        encoding="utf-8",
    )
    brief = read_brief_file(path).brief
    assert brief.background == "Baby T lived in Sefton.\n\nA second paragraph."
    assert brief.why_it_matters == "Sofa sharing is a high risk."
    assert brief.actions == ["Record safer-sleep conversations."]
    assert brief.questions == ["How do we ask?", "Who visits?"]
    assert [(r.title, str(r.url)) for r in brief.resources] == [
        ("Safer sleep advice", "https://www.lullabytrust.org.uk/")
    ]
    path.write_text(
        "---\ntitle: T\nsource: {review: R, board: B}\n"
        "resources: [{title: Old, url: 'ftp://x.org/'}]\n---\nS\n\n## Learning points\n- P\n",
        encoding="utf-8",
    )
    with pytest.raises(ImportFileError, match=r"resources\.0\.url"):
        read_brief_file(path)


def test_learnhub_briefs_import_stores_them(
    runner: CliRunner, tmp_path: Path, database_url: str
) -> None:
    assert (
        invoke(runner, "staff", "add", "pub@merseyside.police.uk", "--role", "publisher").exit_code
        == 0
    )
    path = tmp_path / "brief.md"
    path.write_text(
        "---\ntitle: Neglect in Wirral\nsource: {review: Child W, board: Wirral SCP}\n"
        "actions: [Follow up a missed appointment within 72 hours.]\n"
        "questions: [What does neglect look like in our cases?]\n"
        "---\nThe family did not attend appointments.\n\n## Learning points\n- Think family.\n",
        encoding="utf-8",
    )
    result = invoke(runner, "briefs", "import", str(path), "--as", "pub@merseyside.police.uk")
    assert result.exit_code == 0, result.output
    [brief], _events = stored(database_url)
    assert brief.actions == ["Follow up a missed appointment within 72 hours."]
    assert brief.questions == ["What does neglect look like in our cases?"]
    assert (brief.background, brief.resources) == (None, [])


def test_the_lead_is_the_first_paragraph_cut_at_a_word() -> None:
    short = lead(render_summary("Baby T died on a *sofa*.\n\nMore detail."))
    assert (short.html, short.text, short.cut) == (
        "<p>Baby T died on a <em>sofa</em>.</p>",
        "Baby T died on a sofa.",
        False,
    )
    words = " ".join(f"word{n}" for n in range(300))
    long = lead(render_summary(f"{words}, & <b>\n\nSecond."))
    assert long.cut and long.text.endswith("word119…")
    assert len(long.text.split()) == 120
    assert long.html == f"<p>{long.text}</p>"
    assert lead("<ul><li>only a list</li></ul>").text == ""


def test_sections_leave_out_what_is_empty() -> None:
    plain = SimpleNamespace(
        background=None,
        why_it_matters="",
        summary_html="<p>What happened.</p>",
        learning_points=["A point."],
        actions=[],
        questions=["A question?"],
        resources=[],
    )
    assert [s.heading for s in sections(plain)] == [  # type: ignore[arg-type]
        "What happened",
        "Key points",
        "Questions for reflection",
    ]
