"""learnhub digest run and preview, from the command line."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from click.testing import CliRunner

from learnhub.cli import cli
from service import db
from tests import factories
from tests.briefs_data import brief_body
from tests.test_cli import runner

__all__ = ["runner"]


def subscribe(database_url: str, email: str, since: datetime) -> None:
    async def go() -> None:
        engine = db.create_engine(database_url)
        async with db.sessionmaker(engine).begin() as session:
            await factories.person(session, email, "daily", since=since)
        await engine.dispose()

    asyncio.run(go())


def test_preview_then_run_then_run_again(
    runner: CliRunner, database_url: str, tmp_path: Path
) -> None:
    subscribe(database_url, "hv@nhs.net", datetime.now(UTC) - timedelta(days=3))
    brief = tmp_path / "brief.json"
    brief.write_text(json.dumps(brief_body()))
    assert runner.invoke(cli, ["briefs", "import", str(brief), "--publish"]).exit_code == 0

    preview = runner.invoke(cli, ["digest", "preview", "HV@nhs.net"])
    assert preview.exit_code == 0, preview.output
    assert preview.stdout.startswith("Subject: Daily learning digest: 1 new brief, ")
    assert "Discuss safer sleep at every contact" in preview.stdout
    assert runner.invoke(cli, ["digest", "preview", "nobody@nhs.net"]).stderr == (
        "learnhub: nobody@nhs.net is not subscribed\n"
    )

    tomorrow = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    first = runner.invoke(cli, ["digest", "run", "daily", "--now", tomorrow])
    assert first.exit_code == 0, first.output
    assert ": 1 emails queued for 1 people" in first.stdout
    second = runner.invoke(cli, ["digest", "run", "daily", "--now", tomorrow])
    assert "was already sent; nothing to do." in second.stdout


def test_bad_now_is_one_sentence(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["digest", "run", "weekly", "--now", "next tuesday"])
    assert result.exit_code == 1
    assert result.stderr == "learnhub: --now 'next tuesday' is not an ISO 8601 date and time\n"
