"""The learnhub command: plain sentences, no tracebacks, whole files or nothing."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select

from learnhub.cli import cli
from service import db
from service.briefs.models import Brief
from service.events.models import Event
from tests.briefs_data import brief_body
from tests.conftest import wipe
from tests.smtp import free_port

SEED = Path(__file__).parent / "data" / "seed" / "child-r-scr-kscb-response.txt"


@pytest.fixture
def runner(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[CliRunner]:
    async def reset() -> None:
        engine = db.create_engine(database_url)
        await wipe(engine)
        await engine.dispose()

    asyncio.run(reset())
    monkeypatch.chdir(tmp_path)
    yield CliRunner(env={"LEARNHUB_DATABASE_URL": database_url, "LEARNHUB_SECRET_KEY": "k"})


def invoke(runner: CliRunner, *args: str) -> Result:
    return runner.invoke(cli, list(args), catch_exceptions=False)


def stored(database_url: str) -> tuple[list[Brief], list[Event]]:
    async def read() -> tuple[list[Brief], list[Event]]:
        engine = db.create_engine(database_url)
        async with db.sessionmaker(engine)() as session:
            briefs = list(await session.scalars(select(Brief)))
            events = list(await session.scalars(select(Event)))
        await engine.dispose()
        return briefs, events

    return asyncio.run(read())


def test_staff_add_prints_a_token_once_and_refuses_duplicates(runner: CliRunner) -> None:
    result = invoke(runner, "staff", "add", "Lead@Knowsley.gov.uk", "--role", "publisher")
    assert result.exit_code == 0
    assert result.stdout.strip().startswith("lh_") and len(result.stdout.strip()) > 40
    again = invoke(runner, "staff", "add", "lead@knowsley.gov.uk", "--role", "admin")
    assert again.exit_code == 1
    assert again.stderr == "learnhub: lead@knowsley.gov.uk is already a member of staff\n"
    bad = invoke(runner, "staff", "add", "not an address", "--role", "admin")
    assert bad.exit_code == 1 and bad.stderr.startswith("learnhub: 'not an address' is not a valid")
    assert "Traceback" not in bad.output


def test_import_reports_each_file_and_skips_invalid_ones_whole(
    runner: CliRunner, tmp_path: Path, database_url: str
) -> None:
    good = tmp_path / "good.json"
    good.write_text(json.dumps(brief_body()))
    markdown = tmp_path / "good.md"
    markdown.write_text(
        "---\ntitle: Neglect in Wirral\nsource:\n  review: Child W\n  board: Wirral SCP\n"
        "  published_on: 2024-05-01\n---\nThe family did not attend appointments.\n\n"
        "## Learning points\n- 72-hour follow-up after a missed appointment.\n- Think family.\n"
    )
    broken = tmp_path / "broken.json"
    broken.write_text('{"title": ')
    invalid = tmp_path / "invalid.md"
    invalid.write_text("---\ntitle: No source\n---\nText\n")
    codes = tmp_path / "codes.json"
    codes.write_text(json.dumps(brief_body(themes=["nelgect"])))
    result = invoke(
        runner,
        "briefs",
        "import",
        str(good),
        str(markdown),
        str(broken),
        str(invalid),
        str(codes),
        "--publish",
    )
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"imported {good} -> ")
    assert lines[1].startswith(f"imported {markdown} -> ")
    assert lines[2].startswith(f"skipped  {broken}: not valid JSON")
    assert lines[3].startswith(f"skipped  {invalid}: ") and "source" in lines[3]
    assert lines[4].startswith(f"skipped  {codes}: unknown taxonomy codes: 'nelgect'")
    assert result.stderr.endswith("2 imported, 3 skipped.\n")
    briefs, events = stored(database_url)
    assert sorted(b.title for b in briefs) == sorted([brief_body()["title"], "Neglect in Wirral"])
    wirral = next(b for b in briefs if b.title == "Neglect in Wirral")
    assert wirral.learning_points == [
        "72-hour follow-up after a missed appointment.",
        "Think family.",
    ]
    assert [b.status for b in briefs] == ["published", "published"]
    assert sorted(e.type for e in events) == ["brief.published", "brief.published"]


def test_demo_load_publishes_once(runner: CliRunner, database_url: str) -> None:
    first = invoke(runner, "demo", "load")
    assert first.exit_code == 0, first.output
    count = len(stored(database_url)[0])
    assert count >= 5
    second = invoke(runner, "demo", "load")
    assert "already holds briefs" in second.stderr
    assert len(stored(database_url)[0]) == count


def test_tag_json_matches_the_api_shape(runner: CliRunner) -> None:
    result = invoke(runner, "tag", str(SEED), "--json")
    assert result.exit_code == 0
    tags = json.loads(result.stdout)
    assert set(tags) == {"themes", "agencies", "boroughs"}
    knowsley = next(t for t in tags["boroughs"] if t["code"] == "knowsley")
    text = SEED.read_text(encoding="utf-8")
    assert knowsley["evidence"]
    assert all(text[e["start"] : e["end"]] == e["text"] for e in knowsley["evidence"])


def test_bad_settings_are_one_sentence(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["db", "upgrade"], env={"LEARNHUB_TIMEZONE": "Mars/Olympus"})
    assert result.exit_code == 1
    assert result.stderr.startswith("learnhub: LEARNHUB_TIMEZONE is not valid:")
    assert "Traceback" not in result.output


def test_serve_says_where_it_listens_once_it_does(tmp_path: Path) -> None:
    """One line with the URL, written once the port is open; the scheduler's job-by-job
    narration is not in the log."""
    port = free_port()
    env = {
        **os.environ,
        "LEARNHUB_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'serve.db'}",
        "LEARNHUB_MAILDIR": str(tmp_path / "mail"),
        "LEARNHUB_SECRET_KEY": "k",
    }
    process = subprocess.Popen(  # noqa: S603  # our own command, fixed arguments
        [str(Path(sys.executable).parent / "learnhub"), "serve", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    assert process.stderr is not None
    reader = threading.Thread(target=lambda: lines.extend(process.stderr), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not any("listening on" in x for x in lines):
            time.sleep(0.1)
        said = [line for line in lines if "listening on" in line]
        assert len(said) == 1, "".join(lines)
        assert f"listening on http://127.0.0.1:{port}" in said[0]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as r:
            assert r.status == 200
        time.sleep(1)  # the scheduler's start-up jobs run meanwhile
    finally:
        process.terminate()
        process.wait(timeout=30)
        reader.join(timeout=10)
        process.stderr.close()
    log = "".join(lines)
    assert "apscheduler" not in log, log
