"""Review documents made in the tests, read and repaired: the text as written comes back,
with the page furniture gone, hyphenated words whole, lists and headings kept, and the
learning points and source proposed from the sections."""

from __future__ import annotations

import io
import re

import pytest
from pypdf import PdfReader

from service.briefs.documents.paste import repair_text
from service.briefs.documents.reader import DOCX, PDF, Reading, read
from tests.documents.review import (
    BOARD,
    FINDINGS,
    LEARNING,
    RECOMMENDATIONS,
    REVIEW,
    RUNNING_HEADER,
    SUMMARY,
    Block,
    long_review,
    review_docx,
    review_pdf,
)


def expected(blocks: tuple[Block, ...]) -> list[str]:
    """The Markdown blocks a perfect repair gives for the review's body."""
    out: list[str] = []
    for block in blocks:
        if block.kind == "heading":
            out.append(f"## {block.text}")
        elif block.kind in ("paragraph", "lines"):
            out.append(block.text)
        elif block.kind == "bullets":
            out.append("\n".join(f"- {item}" for item in block.items))
        else:
            out.append("\n".join(f"{n}. {item}" for n, item in enumerate(block.items, 1)))
    return out


def body(reading: Reading) -> list[str]:
    """The repaired text from the first section on (the title page is above it)."""
    text = reading.text
    return text[text.index("## 1. Introduction") :].split("\n\n")


def assert_proposed(reading: Reading) -> None:
    proposal = reading.proposal
    assert proposal.learning_points == list(LEARNING)
    assert proposal.points_from == "5. Learning for practitioners"
    assert proposal.summary == "\n\n".join(SUMMARY)
    assert proposal.title == "Learning from Child L"
    assert proposal.review and proposal.review.value == "Child L"
    assert proposal.board and proposal.board.value == BOARD
    assert proposal.published and proposal.published.value == "2025-03-14"
    assert proposal.published.found_in == "Published: 14 March 2025"
    assert proposal.sections == [
        "2. Executive summary",
        "4. Findings",
        "5. Learning for practitioners",
        "6. Recommendations",
    ]


@pytest.mark.parametrize("columns", [2, 1])
def test_a_pdf_comes_back_as_written(columns: int) -> None:
    pdf = review_pdf(columns=columns)
    reading = read(pdf)
    assert reading.media_type == PDF and reading.pages == len(pdf_reader(pdf).pages) == 3
    assert body(reading) == expected(REVIEW)
    # Headers, footers and page numbers are gone; the title page's lines stay.
    assert RUNNING_HEADER not in reading.text and "OFFICIAL" not in reading.text
    assert not re.search(r"Page \d+ of \d+", reading.text)
    assert reading.text.startswith(
        "# Local Child Safeguarding Practice Review\n\n# Child L\n\n"
        f"# {BOARD}\n\nIndependent reviewer: Dr Anne Example\n\nPublished: 14 March 2025\n\n"
    )
    assert_proposed(reading)


def test_hyphenation_is_undone_and_compounds_are_kept() -> None:
    pdf = review_pdf()
    laid_out = "\n".join(page.extract_text() for page in pdf_reader(pdf).pages)
    # The fixture really hyphenates: these words are cut at line ends in the PDF...
    for cut in ("consid-\nered", "Merse-\nyside", "compl-\neted", "multi-\nagency", "re-\ncorded"):
        assert cut in laid_out
    text = read(pdf).text
    # ...and whole again once repaired, the compound with its hyphen.
    for word in ("considered", "Merseyside", "completed", "who recorded that"):
        assert word in text
    assert "a multi-agency panel" in text and "multiagency" not in text
    assert "self-referral" in text


def test_a_long_pdf_keeps_every_paragraph() -> None:
    """Every word in its place; each paragraph whole, but where a sentence ends on the last
    line of a column the layout can't say whether its paragraph goes on in the next: it is
    taken to end there, so a few paragraphs come back as two."""
    blocks = long_review(12)
    reading = read(review_pdf(blocks))
    assert reading.pages is not None and reading.pages >= 12
    got, wanted = body(reading), expected(blocks)
    assert " ".join(got).split() == " ".join(wanted).split()
    whole = set(got) & set(wanted)
    assert len(whole) >= 0.95 * len(set(wanted))
    split = [p for p in wanted if p not in whole]
    assert all(any(p.startswith(g) for g in got if g not in whole) for p in split)
    assert "Page " not in reading.text and RUNNING_HEADER not in reading.text
    assert_proposed(reading)


def test_a_docx_comes_back_as_written() -> None:
    reading = read(review_docx())
    assert reading.media_type == DOCX
    text = body(reading)
    assert text[: len(REVIEW) - 2] == expected(REVIEW)[: len(REVIEW) - 2]
    assert "\n".join(f"1. {item}" for item in RECOMMENDATIONS) != text[-3]
    assert text[-3] == "\n".join(f"{n}. {r}" for n, r in enumerate(RECOMMENDATIONS, 1))
    assert text[-2:] == ["Agency | Contacts", "Health visiting | Six home visits"]
    assert RUNNING_HEADER not in reading.text and "OFFICIAL" not in reading.text
    assert_proposed(reading)


def test_text_pasted_from_the_pdf_gets_the_same_repair() -> None:
    """What a publisher gets copying the PDF's text from a viewer: hard-wrapped lines, cut
    words, the headers and footers of each page in among the text."""
    pasted = "\n".join(page.extract_text() for page in pdf_reader(review_pdf(long_review(4))).pages)
    repaired = repair_text(pasted)
    for paragraph in (*SUMMARY, *(f"- {f}" for f in FINDINGS), *(f"- {p}" for p in LEARNING)):
        assert paragraph in repaired
    assert "## 4. Findings" in repaired and "## 6. Recommendations" in repaired
    assert "Page 3 of" not in repaired and RUNNING_HEADER not in repaired
    assert "\n\n".join(SUMMARY) in repaired


def test_pasted_markdown_and_unwrapped_paragraphs_are_left_alone() -> None:
    text = (
        "Baby T died while co-sleeping on a sofa; the health visitor had discussed "
        "**safer sleep** once, before the birth, and [the guidance](https://example.org) "
        "was not revisited after the family moved house in the winter.\n"
        "Mother had a history of depression; the family did not attend two appointments "
        "and nobody asked why, although the GP had recorded the concern in the summer.\n\n"
        "## What to do\n\n- Ask who lives in the home.\n- Discuss safer sleep at every contact."
    )
    assert repair_text(text) == text.replace(".\nMother", ".\n\nMother")


def pdf_reader(data: bytes) -> PdfReader:
    return PdfReader(io.BytesIO(data))
