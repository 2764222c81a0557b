"""The briefing PDF's fonts: parsed once per process, and right however many PDFs are made at
once (the route makes them in the event loop's thread pool)."""

# ruff: noqa: RUF001  (briefs' titles hold en dashes and curly quotes, as real ones do)
from __future__ import annotations

import io
import re
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from typing import Any

import pytest
from fpdf import FPDF
from pypdf import PdfReader

from handlers import briefing_pdf
from service.briefs.models import Brief

# Words in scripts and signs far apart in the font, so that each PDF embeds its own glyphs.
WORDS = [
    "Safer sleep – learning from “Baby T”",
    "Ελληνικά: ασφαλής ύπνος",
    "Кириллица: безопасный сон",
    "Signs ≥ 2 · ½ × € ‰ № ™",
    "Plain ASCII and nothing more",
    "Čeština, Māori, Łódź, Ærø",
]
URL = "https://learnhub.example/briefs/1"


def brief(n: int) -> Brief:
    word = WORDS[n % len(WORDS)]
    return Brief(
        id=uuid.UUID(int=n + 1),
        title=f"{word} ({n})",
        summary_html=f"<p>What happened, told in {word}.</p>",
        learning_points=[f"Point {n}: {word}"],
        actions=[f"Action {n}: {word}"],
        questions=[f"Question {n}?"],
        resources=[],
        source_review=f"Review {n}",
        source_board="Sefton Safeguarding Children Partnership",
        source_published_on=date(2025, 3, 14),
        audience="public",
    )


def comparable(data: bytes) -> bytes:
    """The PDF without what depends on the second it was made: its date and file id."""
    data = re.sub(rb"/CreationDate \(D:[^)]*\)", b"", data)
    return re.sub(rb"/ID \[<[0-9A-F]+><[0-9A-F]+>\]", b"", data)


def text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_many_pdfs_made_at_once_are_each_the_pdf_made_alone() -> None:
    briefs = [brief(n) for n in range(24)]
    alone = [briefing_pdf.document(b, URL) for b in briefs]
    with ThreadPoolExecutor(8) as pool:
        together = list(pool.map(briefing_pdf.document, briefs, [URL] * len(briefs)))
    for b, one, made in zip(briefs, alone, together, strict=True):
        assert comparable(made) == comparable(one), b.title
        assert b.title in text(made)
        reader = PdfReader(io.BytesIO(made))
        assert reader.metadata is not None
        assert reader.metadata.title == f"7-minute briefing: {b.title}"
        assert reader.trailer["/Root"]["/Lang"] == "en-GB"


def test_the_fonts_are_parsed_once_per_process(monkeypatch: pytest.MonkeyPatch) -> None:
    parsed: list[Any] = []
    add_font = FPDF.add_font

    def counted(self: FPDF, *args: Any, **kwargs: Any) -> None:
        parsed.append(args)
        add_font(self, *args, **kwargs)

    monkeypatch.setattr(FPDF, "add_font", counted)
    monkeypatch.setattr(briefing_pdf, "_fonts", briefing_pdf._Fonts())
    first = briefing_pdf.document(brief(0), URL)
    assert len(parsed) == 2  # the regular and the bold face
    again = [briefing_pdf.document(brief(n), URL) for n in range(1, 4)]
    assert len(parsed) == 2
    assert "Safer sleep – learning from “Baby T”" in text(first)
    assert all("Point" in text(data) for data in again)
