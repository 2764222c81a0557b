"""The 7-minute briefing as a PDF, made with fpdf2 (pure Python, from the package index).

Real text in DejaVu Sans (shipped under handlers/static/fonts with its licence: it has the
curly quotes and dashes of real briefs, which the PDF core fonts lack), the document's title
and language (en-GB) set, and each section heading in the outline (bookmarks) and the
structure tree, as far as fpdf2 tags documents. A4, one page for a usual brief.

The fonts are parsed once per process (``_Fonts``): reading a TrueType file's tables was
three fifths of every PDF's time.
"""

from __future__ import annotations

import copy
import io
import threading
from pathlib import Path

from fontTools.ttLib import TTFont
from fpdf import FPDF, TextStyle, ViewerPreferences
from fpdf.enums import XPos, YPos
from fpdf.fonts import TTFFont

from service.briefs import briefing
from service.briefs.models import Brief

FONTS = Path(__file__).parent / "static" / "fonts"
FAMILY = "DejaVu"
BLACK, GREY = (11, 12, 12), (80, 90, 95)
FACES = (("", "DejaVuSans.ttf"), ("B", "DejaVuSans-Bold.ttf"))


class _Fonts:
    """DejaVu Sans, parsed once per process, given to each document as its own copy.

    fpdf2 offers no way to share a font between documents: ``add_font`` parses the file
    (cmap, widths, glyph ids: 20-25 ms a face), and writing the PDF cuts the font's fontTools
    object down to the glyphs used, in place. So each face is parsed once, by ``add_font``
    into a document of its own, and each document gets a copy made by fpdf2's own
    ``TTFFont.__deepcopy__`` (written for its FPDFRecorder: what no document changes, such
    as the cmap, is shared; what a document fills in, such as the glyphs it used, is copied)
    with a fontTools object of its own, read lazily from the file's bytes in memory, for the
    output to cut. Nothing shared is written after it is built, so documents can be made in
    many threads at once (the route makes them in the event loop's thread pool).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faces: list[tuple[str, TTFFont, bytes]] = []

    def add_to(self, pdf: FPDF) -> None:
        """Add the faces to ``pdf``, as ``pdf.add_font`` would, before anything is written."""
        for key, parsed, data in self._parsed():
            # The glyph ids are only read; the widths gain an entry for each character the
            # font lacks. A memo that holds them already copied spares deepcopy's walk
            # through their 6,000 entries one by one.
            done = {id(parsed.glyph_ids): parsed.glyph_ids, id(parsed.cw): parsed.cw.copy()}
            font = copy.deepcopy(parsed, done)
            font.ttfont = TTFont(io.BytesIO(data), recalcTimestamp=False, lazy=True)
            pdf.fonts[key] = font

    def _parsed(self) -> list[tuple[str, TTFFont, bytes]]:
        with self._lock:
            if not self._faces:
                source = FPDF()
                for style, name in FACES:
                    source.add_font(FAMILY, style, FONTS / name)
                for key, font in source.fonts.items():
                    assert isinstance(font, TTFFont)
                    font.close()  # its fontTools object is never used: each document has its own
                    self._faces.append((key, font, Path(font.ttffile).read_bytes()))
            return self._faces


_fonts = _Fonts()


class _Briefing(FPDF):
    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FAMILY, size=8)
        self.set_text_color(*GREY)
        self.cell(0, 5, f"Page {self.page_no()} of {{nb}}", align="R")


def document(brief: Brief, brief_url: str) -> bytes:
    """The briefing of ``brief`` (whose page is at ``brief_url``) as PDF bytes."""
    pdf = _Briefing(format="A4", unit="mm")
    pdf.set_margins(16, 14, 16)
    pdf.set_auto_page_break(auto=True, margin=16)
    _fonts.add_to(pdf)
    title = f"7-minute briefing: {brief.title}"
    pdf.set_title(title)
    pdf.set_lang("en-GB")
    pdf.viewer_preferences = ViewerPreferences(display_doc_title=True)
    pdf.set_subject(f"Learning from {brief.source_review}, {brief.source_board}")
    pdf.set_author("Merseyside Police Public Protection Unit")
    pdf.set_creator("Merseyside Safeguarding Learning Hub")
    pdf.set_section_title_styles(
        TextStyle(font_family=FAMILY, font_style="B", font_size_pt=16, color=BLACK, b_margin=2),
        TextStyle(
            font_family=FAMILY,
            font_style="B",
            font_size_pt=11.5,
            color=BLACK,
            t_margin=3,
            b_margin=1,
        ),
    )
    pdf.add_page()
    pdf.set_font(FAMILY, size=9)
    pdf.set_text_color(*GREY)
    pdf.cell(
        0,
        5,
        "Merseyside Safeguarding Learning Hub · 7-minute briefing",
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
        align="L",
    )
    pdf.start_section(brief.title, level=0)
    _source(pdf, brief)
    _note(pdf, briefing.HOW_TO_USE)
    for section in briefing.sections(brief):
        pdf.start_section(section.heading, level=1)
        _body(pdf)
        for text in section.paragraphs:
            _paragraph(pdf, text)
        if section.html is not None:
            for text in briefing.html_blocks(section.html):
                _paragraph(pdf, text)
        for n, item in enumerate(section.items, start=1):
            marker = f"{n}." if section.id == "questions" else "•"
            _item(pdf, marker, item)
        for link_title, url in section.links:
            _item(pdf, "•", f"{link_title}: {url}", link=url)
    pdf.ln(2)
    pdf.set_font(FAMILY, size=9)
    pdf.set_text_color(*GREY)
    pdf.multi_cell(
        0,
        4.5,
        f"The full brief: {brief_url}",
        link=brief_url,
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
        align="L",
    )
    return bytes(pdf.output())


def _source(pdf: FPDF, brief: Brief) -> None:
    parts = [f"Review: {brief.source_review}", brief.source_board]
    if brief.source_published_on:
        parts.append(f"published {brief.source_published_on:%-d %B %Y}")
    if brief.audience == "practitioners":
        parts.append("for practitioners only: please do not share it outside your work")
    pdf.set_font(FAMILY, size=9.5)
    pdf.set_text_color(*GREY)
    pdf.multi_cell(0, 4.8, ", ".join(parts), new_x=XPos.LMARGIN, new_y=YPos.NEXT, align="L")
    if brief.source_url:
        pdf.multi_cell(
            0,
            4.8,
            f"The review: {brief.source_url}",
            link=brief.source_url,
            new_x=XPos.LMARGIN,
            new_y=YPos.NEXT,
            align="L",
        )


def _note(pdf: FPDF, text: str) -> None:
    pdf.ln(1.5)
    pdf.set_font(FAMILY, size=9.5)
    pdf.set_text_color(*BLACK)
    pdf.set_fill_color(243, 242, 241)
    pdf.multi_cell(
        0,
        4.8,
        f"**How to use this briefing:** {text}",
        fill=True,
        padding=2,
        markdown=True,
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
        align="L",
    )


def _body(pdf: FPDF) -> None:
    pdf.set_font(FAMILY, size=10)
    pdf.set_text_color(*BLACK)


def _paragraph(pdf: FPDF, text: str) -> None:
    pdf.multi_cell(0, 4.8, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT, align="L")
    pdf.ln(1)


def _item(pdf: FPDF, marker: str, text: str, link: str = "") -> None:
    left = pdf.l_margin
    pdf.cell(6, 4.8, marker)
    pdf.set_left_margin(left + 6)
    pdf.multi_cell(0, 4.8, text, link=link, new_x=XPos.LMARGIN, new_y=YPos.NEXT, align="L")
    pdf.set_left_margin(left)
    pdf.set_x(left)
    pdf.ln(0.8)
