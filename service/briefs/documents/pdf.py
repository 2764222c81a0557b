"""A PDF's text as positioned lines, read with pypdf (pure Python, from the package index).

pypdf reads the content stream in order and says where each run of text starts, in which
font and at what size; runs on one baseline make a line. Reading order is the stream's
order, which is the reading order of what word processors and typesetters write (column
after column), and the repair (``repair.py``) needs no more than that.
"""

from __future__ import annotations

import io
import logging
import math
from typing import Any

from pypdf import PdfReader
from pypdf.errors import DependencyError, FileNotDecryptedError, PdfReadError, PyPdfError

from service.briefs.documents.limits import MAX_PAGES
from service.briefs.documents.text import DocumentError, Extracted, Line

DAMAGED = "this PDF is damaged and can't be read; save it again from the program that made it"
LOCKED = "this PDF is protected by a password; remove the password and import it again"
SCANNED = "this PDF is scanned images; it has no text to import"
BOLD = ("bold", "black", "heavy", "semibold", "demi")


def extract(data: bytes) -> Extracted:
    # pypdf says what it repairs in a damaged file through warnings and its logger; the
    # outcome (text or a sentence) is what counts here.
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = PdfReader(io.BytesIO(data))
        _unlock(reader)
        count = len(reader.pages)
        if count > MAX_PAGES:
            raise DocumentError(f"it has {count:,} pages; an import reads at most {MAX_PAGES:,}")
        lines: list[Line] = []
        height = 842.0
        for number, page in enumerate(reader.pages, start=1):
            height = float(page.mediabox.height) or height
            lines += _page_lines(page, number)
        title = _title(reader)
    except DocumentError:
        raise
    except (FileNotDecryptedError, DependencyError):
        raise DocumentError(LOCKED) from None
    except (PyPdfError, ValueError, TypeError, KeyError, AttributeError, IndexError,
            AssertionError, ZeroDivisionError, RecursionError, OSError):  # fmt: skip
        raise DocumentError(DAMAGED) from None
    if sum(ch.isalnum() for line in lines for ch in line.text) < 100:
        raise DocumentError(SCANNED)
    return Extracted("pdf", count, lines=lines, title=title, page_height=height)


def _unlock(reader: PdfReader) -> None:
    """Many published PDFs are encrypted only to restrict printing or copying, with an
    empty password to open them: those are read; a password to open is not guessed."""
    if not reader.is_encrypted:
        return
    try:
        opened = reader.decrypt("")
    except (DependencyError, PdfReadError, NotImplementedError):
        raise DocumentError(LOCKED) from None
    if not opened:
        raise DocumentError(LOCKED)


def _title(reader: PdfReader) -> str:
    try:
        title = reader.metadata.title if reader.metadata else None
    except (PyPdfError, ValueError, TypeError, KeyError):
        return ""
    return " ".join(str(title).split()) if title else ""


class _Collector:
    """Runs of text from pypdf's visitor, gathered into lines by baseline."""

    def __init__(self, page: int) -> None:
        self.page = page
        self.lines: list[Line] = []
        self.parts: list[str] = []
        self.x = self.y = self.size = self.end = 0.0
        self.bold = True
        self.weight = 0

    def visit(self, text: str, cm: Any, tm: Any, font: Any, font_size: float) -> None:
        if not text or text.isspace():
            return
        m = _multiply(tm, cm)
        x, y = m[4], m[5]
        size = abs(font_size * math.hypot(m[2], m[3])) or abs(font_size)
        bold = any(word in str(_font_name(font)).lower() for word in BOLD)
        for n, piece in enumerate(text.split("\n")):
            if n:
                self.flush()
                y -= size * 1.2
            if piece.strip():
                self.add(piece, x, y, size, bold)

    def add(self, text: str, x: float, y: float, size: float, bold: bool) -> None:
        if self.parts and abs(y - self.y) <= 0.4 * max(size, self.size, 1.0):
            joined = self.parts[-1][-1:].isspace() or text[:1].isspace()
            if not joined and x > self.end + size * 0.15:
                self.parts.append(" ")
            self.parts.append(text)
        else:
            self.flush()
            self.parts, self.x, self.y, self.bold = [text], x, y, True
            self.size, self.weight = size, 0
        letters = sum(ch.isalnum() for ch in text)
        if letters > self.weight:
            self.size, self.weight = size, letters
        self.bold = self.bold and (bold or not letters)
        self.end = x + len(text) * size * 0.45

    def flush(self) -> None:
        text = " ".join("".join(self.parts).split())
        if text:
            self.lines.append(Line(text, self.page, self.x, self.y, self.size, self.bold))
        self.parts = []


def _page_lines(page: Any, number: int) -> list[Line]:
    collector = _Collector(number)
    page.extract_text(visitor_text=collector.visit)
    collector.flush()
    return collector.lines


def _font_name(font: Any) -> str:
    if not font:
        return ""
    try:
        return str(font.get("/BaseFont", ""))
    except (AttributeError, TypeError, PyPdfError):
        return ""


def _multiply(a: Any, b: Any) -> list[float]:
    """The product of two PDF matrices [a b c d e f]."""
    a0, a1, a2, a3, a4, a5 = (float(v) for v in a)
    b0, b1, b2, b3, b4, b5 = (float(v) for v in b)
    return [
        a0 * b0 + a1 * b2,
        a0 * b1 + a1 * b3,
        a2 * b0 + a3 * b2,
        a2 * b1 + a3 * b3,
        a4 * b0 + a5 * b2 + b4,
        a4 * b1 + a5 * b3 + b5,
    ]
