"""Review documents made in the tests: a Local Child Safeguarding Practice Review as a PDF
(fpdf2: a title page, two columns, running headers and footers with page numbers, words
hyphenated at line ends, bullet glyphs, numbered lists, headings) and as a DOCX
(python-docx: heading styles, list styles, a header and footer, a table).

``REVIEW`` is the text as written: what a perfect repair gives back.
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass
from pathlib import Path

from fpdf import FPDF

FONTS = Path(__file__).resolve().parents[2] / "handlers" / "static" / "fonts"
REVIEW_NAME = "Child L"
BOARD = "Knowsley Safeguarding Children Partnership"
RUNNING_HEADER = "Child L: Local Child Safeguarding Practice Review"


@dataclass(frozen=True)
class Block:
    kind: str  # "heading", "paragraph", "bullets", "numbered", or "lines" (broken as given)
    text: str = ""
    items: tuple[str, ...] = ()


def heading(text: str) -> Block:
    return Block("heading", text)


def para(text: str) -> Block:
    return Block("paragraph", text)


def bullets(*items: str) -> Block:
    return Block("bullets", items=items)


def numbered(*items: str) -> Block:
    return Block("numbered", items=items)


SUMMARY = (
    "Child L lived with her mother and her mother's partner in Knowsley. Practitioners from "
    "health, children's social care and Merseyside Police were involved with the family "
    "because of domestic abuse incidents and concerns about the partner's drug use.",
    "The review found that information about the partner was not shared between agencies, "
    "that bruising in a non-mobile baby was not recognised as a safeguarding concern, and "
    "that the voice of the child was rarely recorded.",
)
FINDINGS = (
    "Bruising in a non-mobile baby was seen by two practitioners but was not referred for a "
    "child protection medical, contrary to the Merseyside bruising protocol.",
    "Information held by Merseyside Police about the partner's history of domestic abuse was "
    "not shared at the multi-agency safeguarding hub.",
    "Practitioners focused on the mother's engagement and did not consider the partner's role "
    "as a carer.",
)
LEARNING = (
    "Any bruise on a baby who is not yet mobile must be referred for a child protection "
    "medical, whatever the explanation given.",
    "Ask about every adult in the household, including partners who are not the child's "
    "parent, and check what agencies know about them.",
    "Share information about domestic abuse with the multi-agency safeguarding hub the same "
    "day, and record what was shared.",
    "Record what a day in the child's life is like, in the child's words where possible.",
)
RECOMMENDATIONS = (
    "The partnership should audit compliance with the bruising protocol across health and "
    "social care within six months.",
    "Merseyside Police should review how domestic abuse information is shared with the "
    "multi-agency safeguarding hub.",
    "All agencies should include the role of fathers and male carers in their safeguarding "
    "training.",
)
BACKGROUND = (
    "Child L was born at Whiston Hospital in January 2023. The midwife recorded that the "
    "mother had a history of depression and had been known to children's social care as a "
    "teenager; the information was passed to the health visiting service.",
    "In March 2023 officers attended the home after a neighbour reported shouting. The "
    "partner had left before they arrived; a domestic abuse risk assessment was completed "
    "with the mother, who declined support. Notification was made to the safeguarding hub.",
    "The health visitor saw Child L at home in April and May 2023. Both visits were arranged "
    "in advance and the partner was not present; the record describes a warm relationship "
    "between the mother and the baby.",
)
REVIEW: tuple[Block, ...] = (
    heading("1. Introduction"),
    para(
        "This review was commissioned by the Knowsley Safeguarding Children Partnership "
        "after Child L, aged seven months, was admitted to hospital with a fractured femur "
        "and bruising to the face. The review considered the involvement of agencies with "
        "Child L and her family between January 2023 and September 2024."
    ),
    heading("2. Executive summary"),
    *(para(text) for text in SUMMARY),
    heading("3. Background"),
    *(para(text) for text in BACKGROUND),
    # Broken where a PDF's compounds and hyphenated words sit at line ends.
    Block(
        "lines",
        "A strategy meeting in June 2023 had a multi-agency panel. The partner's self-referral "
        "to drug services was not known to the social worker, who recorded that the home was "
        "calm.",
        (
            "A strategy meeting in June 2023 had a multi-",
            "agency panel. The partner's self-",
            "referral to drug services was not",
            "known to the social worker, who re-",
            "corded that the home was calm.",
        ),
    ),
    heading("4. Findings"),
    para("The review panel identified three findings:"),
    bullets(*FINDINGS),
    heading("5. Learning for practitioners"),
    bullets(*LEARNING),
    heading("6. Recommendations"),
    numbered(*RECOMMENDATIONS),
)


def long_review(pages: int) -> tuple[Block, ...]:
    """The review with its background grown to about ``pages`` pages of two columns."""
    rng = random.Random(pages)  # noqa: S311 - filler text, not security
    sentences = [s for text in BACKGROUND + SUMMARY + FINDINGS for s in text.split(". ")]
    extra: list[Block] = []
    for n in range(pages * 6):
        if n % 6 == 0:
            extra.append(heading(f"3.{n // 6 + 1} Contact in month {n // 6 + 1}"))
        chosen = rng.sample(sentences, 5)
        extra.append(para(". ".join(s.rstrip(".") for s in chosen) + "."))
    at = REVIEW.index(heading("4. Findings"))
    return REVIEW[:at] + tuple(extra) + REVIEW[at:]


# The PDF: A4 in millimetres, 10 pt text on 5 mm lines, two columns of 82 mm.
TOP, BOTTOM, LINE = 30.0, 270.0, 5.0


class _Review(FPDF):
    def __init__(self, columns: int) -> None:
        super().__init__(format="A4", unit="mm")
        self.add_font("DejaVu", "", FONTS / "DejaVuSans.ttf")
        self.add_font("DejaVu", "B", FONTS / "DejaVuSans-Bold.ttf")
        self.set_auto_page_break(False)
        width = 170.0 if columns == 1 else 82.0
        self.columns = [(20.0, width)] if columns == 1 else [(20.0, width), (108.0, width)]
        self.column = 0
        self.y_at = TOP

    def header(self) -> None:
        if self.page_no() == 1:
            return
        self.set_font("DejaVu", size=8)
        self.text(20, 15, RUNNING_HEADER)
        self.text(190 - self.get_string_width("OFFICIAL"), 15, "OFFICIAL")

    def footer(self) -> None:
        self.set_font("DejaVu", size=8)
        self.text(20, 287, BOARD)
        self.set_xy(120, 284)
        self.cell(70, 4, f"Page {self.page_no()} of {{nb}}", align="R")

    def need(self, height: float) -> None:
        """Move to the next column, or page, unless ``height`` millimetres still fit."""
        if self.y_at + height <= BOTTOM:
            return
        self.column += 1
        if self.column == len(self.columns):
            self.add_page()
            self.column = 0
        self.y_at = TOP

    def write_lines(self, text: str, *, indent: float = 0, first: str = "", size: float = 10,
                    bold: bool = False) -> None:  # fmt: skip
        self.set_font("DejaVu", "B" if bold else "", size)
        x, width = self.columns[self.column]
        lines = wrap(self, text, width - indent)
        for n, line in enumerate(lines):
            self.need(LINE)
            x, _ = self.columns[self.column]
            if n == 0 and first:
                self.text(x + indent - 5, self.y_at, first)
            self.text(x + indent, self.y_at, line)
            self.y_at += LINE if size <= 10 else size * 0.5


def wrap(pdf: FPDF, text: str, width: float) -> list[str]:
    """Lines of ``text`` within ``width``; a long word that does not fit is hyphenated."""
    lines: list[str] = []
    line = ""
    for word in text.split():
        candidate = f"{line} {word}".strip()
        if pdf.get_string_width(candidate) <= width:
            line = candidate
            continue
        head, tail = _split(pdf, word, width - pdf.get_string_width(line + " -"))
        if head:
            lines.append(f"{line} {head}".strip())
            line = tail
        else:
            lines.append(line)
            line = word
    lines.append(line)
    return lines


def _split(pdf: FPDF, word: str, room: float) -> tuple[str, str]:
    """Break a word across lines: at its own hyphen, else hyphenated after 4+ letters."""
    if "-" in word[:-1]:
        head, _, tail = word.partition("-")
        if pdf.get_string_width(head + "-") <= room:
            return head + "-", tail
    if len(word) < 9 or not word.isalpha():
        return "", word
    for cut in range(len(word) - 4, 3, -1):
        if pdf.get_string_width(word[:cut] + "-") <= room:
            return word[:cut] + "-", word[cut:]
    return "", word


def review_pdf(blocks: tuple[Block, ...] = REVIEW, *, columns: int = 2) -> bytes:
    pdf = _Review(columns)
    pdf.set_title(f"{REVIEW_NAME} LCSPR")
    pdf.add_page()
    _title_page(pdf)
    pdf.add_page()
    for block in blocks:
        if block.kind == "heading":
            pdf.need(3 * LINE)
            pdf.y_at += 2
            pdf.write_lines(block.text, size=12, bold=True)
            pdf.y_at += 1
        elif block.kind == "paragraph":
            pdf.write_lines(block.text)
            pdf.y_at += 3
        elif block.kind == "lines":
            for line in block.items:
                pdf.write_lines(line)
            pdf.y_at += 3
        else:
            for n, item in enumerate(block.items, start=1):
                glyph = "•" if block.kind == "bullets" else f"{n}."
                pdf.write_lines(item, indent=6, first=glyph)
                pdf.y_at += 1.5
            pdf.y_at += 2
    return bytes(pdf.output())


def _title_page(pdf: _Review) -> None:
    for text, size, y in (
        ("Local Child Safeguarding Practice Review", 22, 90),
        (REVIEW_NAME, 18, 110),
        (BOARD, 13, 130),
        ("Independent reviewer: Dr Anne Example", 10, 150),
        ("Published: 14 March 2025", 10, 158),
    ):
        pdf.set_font("DejaVu", "B" if size > 12 else "", size)
        pdf.text(20, y, text)


def review_docx(blocks: tuple[Block, ...] = REVIEW) -> bytes:
    from docx import Document

    document = Document()
    section = document.sections[0]
    section.header.paragraphs[0].text = RUNNING_HEADER
    section.footer.paragraphs[0].text = f"{BOARD} OFFICIAL"
    document.core_properties.title = f"{REVIEW_NAME} LCSPR"
    document.add_paragraph("Local Child Safeguarding Practice Review", style="Title")
    document.add_paragraph(REVIEW_NAME, style="Subtitle")
    document.add_paragraph(BOARD)
    document.add_paragraph("Published: 14 March 2025")
    for block in blocks:
        if block.kind == "heading":
            document.add_heading(block.text, level=1)
        elif block.kind in ("paragraph", "lines"):
            document.add_paragraph(block.text)
        else:
            style = "List Bullet" if block.kind == "bullets" else "List Number"
            for item in block.items:
                document.add_paragraph(item, style=style)
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text, table.cell(0, 1).text = "Agency", "Contacts"
    table.cell(1, 0).text, table.cell(1, 1).text = "Health visiting", "Six home visits"
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()
