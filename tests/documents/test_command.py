"""learnhub briefs import review.pdf|review.docx: a draft each; a bad file is one sentence,
a non-zero exit, and nothing made of it."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from learnhub.cli import cli
from service import db
from service.briefs.documents.models import BriefDocument
from service.briefs.models import Brief
from tests.conftest import wipe
from tests.documents.review import BOARD, LEARNING, review_docx, review_pdf


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


def stored(database_url: str) -> list[tuple[Brief, BriefDocument]]:
    async def load() -> list[tuple[Brief, BriefDocument]]:
        engine = db.create_engine(database_url)
        async with db.sessionmaker(engine)() as session:
            rows = await session.execute(
                select(Brief, BriefDocument).join(BriefDocument, BriefDocument.brief_id == Brief.id)
            )
            found = [(brief, document) for brief, document in rows]
        await engine.dispose()
        return found

    return asyncio.run(load())


def test_reviews_become_drafts_and_bad_files_are_skipped_whole(
    runner: CliRunner, tmp_path: Path, database_url: str
) -> None:
    (tmp_path / "child-l.pdf").write_bytes(review_pdf())
    (tmp_path / "child-l.docx").write_bytes(review_docx())
    (tmp_path / "scan.pdf").write_bytes(b"%PDF-1.7\n% nothing but a header\n")
    (tmp_path / "notes.docx").write_bytes(b"plain text")
    result = runner.invoke(
        cli,
        ["briefs", "import", "child-l.pdf", "child-l.docx", "scan.pdf", "notes.docx",
         "missing.pdf", "--publish"],
        catch_exceptions=False,
    )  # fmt: skip
    lines = result.stdout.splitlines()
    assert lines[0].startswith("imported child-l.pdf -> ")
    assert lines[0].endswith(" (a draft: check it)")
    assert lines[1].startswith("imported child-l.docx -> ")
    assert lines[2:] == [
        "skipped  scan.pdf: this PDF is damaged and can't be read; save it again from the "
        "program that made it",
        "skipped  notes.docx: this file is not a PDF or a Word document (.docx)",
        "skipped  missing.pdf: can't read it: No such file or directory",
    ]
    assert result.stderr.endswith("2 imported, 3 skipped.\n")
    assert result.exit_code == 1
    found = stored(database_url)
    assert sorted(document.filename for _, document in found) == ["child-l.docx", "child-l.pdf"]
    for brief, document in found:
        # Drafts, whatever --publish says: a person checks the guesses first.
        assert brief.status == "draft" and brief.learning_points == list(LEARNING)
        assert (brief.source_review, brief.source_board) == ("Child L", BOARD)
        assert str(brief.source_published_on) == "2025-03-14"
        assert not document.offered and document.guesses["points_from"]
