"""learnhub tag FILE [--board] [--json], and learnhub tag report (issue 20)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import select

from service import db
from service.briefs import service as briefs
from service.briefs.schemas import BriefCreate
from service.staff import service as staff_service
from service.staff.models import Role, StaffMember
from service.tagging import BriefText, Tagger
from service.taxonomy import default_taxonomy
from tests.briefs_data import brief_body
from tests.test_cli import invoke, runner

__all__ = ["runner"]  # the fixture, shared with tests/test_cli.py

SEED = Path(__file__).parent / "data" / "seed" / "child-r-scr-kscb-response.txt"


def test_tag_prints_weights_and_what_is_only_mentioned(runner: CliRunner) -> None:
    result = invoke(runner, "tag", str(SEED))
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    neglect = next(line for line in lines if line.startswith("theme: neglect "))
    assert "suggested" in neglect and "“neglect” at " in neglect
    survey = next(line for line in lines if line.startswith("theme: parental-substance-misuse"))
    assert "also mentioned" in survey and "weight 0.1" in survey


def test_tag_reads_the_board_for_the_borough(runner: CliRunner, tmp_path: Path) -> None:
    text = tmp_path / "brief.txt"
    text.write_text("The baby died after co-sleeping on a sofa.", encoding="utf-8")
    board = "St Helens Safeguarding Children Partnership"
    result = invoke(runner, "tag", str(text), "--board", board, "--json")
    assert result.exit_code == 0, result.output
    [borough] = json.loads(result.stdout)["boroughs"]
    assert borough["code"] == "st-helens" and borough["suggested"] is True
    assert borough["evidence"][0]["field"] == "source.board"
    plain = invoke(runner, "tag", "--board", board, str(text))
    assert "borough: st-helens (St Helens)" in plain.stdout and "of the board" in plain.stdout


def test_tag_json_is_the_suggest_shape(runner: CliRunner) -> None:
    result = invoke(runner, "tag", str(SEED), "--json")
    tags = json.loads(result.stdout)
    expected = Tagger(default_taxonomy()).tag(SEED.read_text(encoding="utf-8"))
    assert tags == json.loads(expected.model_dump_json())
    assert {"code", "label", "weight", "suggested", "score", "mentions", "evidence"} == set(
        tags["themes"][0]
    )


def test_tag_help_names_both_uses(runner: CliRunner) -> None:
    result = invoke(runner, "tag", "--help")
    assert result.exit_code == 0
    assert "[FILE] [--board BOARD] [--json] | report" in result.stdout


def test_report_without_corrections(runner: CliRunner) -> None:
    result = invoke(runner, "tag", "report")
    assert result.exit_code == 0
    assert "No corrections yet" in result.stdout


def test_report_lists_the_codes_and_phrases_most_corrected(
    runner: CliRunner, database_url: str
) -> None:
    asyncio.run(_publish_with_corrections(database_url))
    result = invoke(runner, "tag", "report", "--limit", "5")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.startswith("4 corrections on 2 briefs.")
    assert "theme parental-mental-health: added 0 times, removed 2 times" in out
    phrase = "“mother had a history of **depression” 2 times"
    assert f"{phrase}: theme parental-mental-health removed" in out
    assert "theme voice-of-the-child: 2 briefs" in out


async def _publish_with_corrections(database_url: str) -> None:
    """Two briefs whose publisher removed parental mental health and added the child's voice."""
    engine = db.create_engine(database_url)
    taxonomy = default_taxonomy()
    tagging = briefs.Tagging(taxonomy=taxonomy, tagger=Tagger(taxonomy))
    now = datetime.now(UTC)
    try:
        async with db.sessionmaker(engine).begin() as session:
            await staff_service.create(
                session, email="p@merseyside.police.uk", role=Role.publisher, now=now
            )
            staff = await session.scalar(select(StaffMember))
            assert staff is not None
            for title in ("Baby T", "Baby U"):
                body = brief_body(title=title)
                brief = BriefText.of(body["title"], body["summary"], body["learning_points"])
                suggested = set(tagging.tagger.tag_brief(brief).codes("themes"))
                chosen = (suggested - {"parental-mental-health"}) | {"voice-of-the-child"}
                body["themes"] = sorted(chosen)
                data = BriefCreate.model_validate_json(json.dumps(body))
                await briefs.create(session, data, staff=staff, tagging=tagging, now=now)
    finally:
        await engine.dispose()
