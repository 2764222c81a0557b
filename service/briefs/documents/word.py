"""A Word document's (DOCX) text as blocks, read with python-docx: paragraphs are already
paragraphs, headings and lists come from their styles (or a bold line alone), and running
headers and footers live in parts of their own, so they never reach the body. Tables are
read cell by cell. Text typed into a paragraph with manual line breaks gets the repair
pasted text gets.
"""

from __future__ import annotations

import io
import re
import zipfile
from typing import Any

from service.briefs.documents.limits import MAX_UNZIPPED
from service.briefs.documents.paste import blocks_of_text
from service.briefs.documents.text import Block, DocumentError, Extracted, Kind

DAMAGED = "this Word document is damaged and can't be read; save it again from Word"
HEADING_STYLE = re.compile(r"^(?:heading\s*(\d)|title|subtitle)", re.I)


def extract(data: bytes) -> Extracted:
    _check_zip(data)
    from docx import Document
    from docx.opc.exceptions import PackageNotFoundError

    try:
        document = Document(io.BytesIO(data))
        blocks = list(_blocks(document))
        title = document.core_properties.title or ""
    except (PackageNotFoundError, KeyError, ValueError, zipfile.BadZipFile, AttributeError):
        raise DocumentError(DAMAGED) from None
    except SyntaxError:  # lxml's XMLSyntaxError
        raise DocumentError(DAMAGED) from None
    if sum(ch.isalnum() for block in blocks for ch in block.text) < 100:
        raise DocumentError("this Word document has almost no text to import")
    return Extracted("docx", _pages(data), blocks=blocks, title=" ".join(title.split()))


def _check_zip(data: bytes) -> None:
    """A DOCX is a zip: one that unpacks past the limit (a zip bomb) is refused unread."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = archive.namelist()
            unzipped = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, ValueError, OSError):
        raise DocumentError(DAMAGED) from None
    if "word/document.xml" not in names:
        raise DocumentError("this file is not a PDF or a Word document (.docx)")
    if unzipped > MAX_UNZIPPED:
        raise DocumentError("this Word document unpacks to more than 200 MB; it can't be read")


def _blocks(document: Any) -> Any:
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    count = 0
    for item in document.iter_inner_content():
        if isinstance(item, Paragraph):
            for block in _paragraph(item):
                count = count + 1 if block.kind == Kind.number else 0
                block.level = count if block.kind == Kind.number else block.level
                yield block
        elif isinstance(item, Table):
            for row in item.rows:
                cells = [" ".join(cell.text.split()) for cell in row.cells]
                text = " | ".join(dict.fromkeys(c for c in cells if c))
                if text:
                    yield Block(Kind.paragraph, text)


def _paragraph(paragraph: Any) -> list[Block]:
    text = paragraph.text.strip()
    if not text:
        return []
    style = (paragraph.style.name if paragraph.style is not None else "") or ""
    heading = HEADING_STYLE.match(style)
    if heading:
        level = 1 if not heading.group(1) else min(int(heading.group(1)) + 1, 4)
        return [Block(Kind.heading, " ".join(text.split()), level=level)]
    properties = paragraph._p.pPr
    listed = "list" in style.lower() or (properties is not None and properties.numPr is not None)
    if listed:
        kind = Kind.number if "number" in style.lower() else Kind.bullet
        return [Block(kind, " ".join(text.split()))]
    if _bold_alone(paragraph, text):
        return [Block(Kind.heading, " ".join(text.split()), level=3)]
    return blocks_of_text(text, headings=False)


def _bold_alone(paragraph: Any, text: str) -> bool:
    """A short paragraph all in bold, with no full stop: a heading typed by hand."""
    runs = [run for run in paragraph.runs if run.text.strip()]
    return (
        bool(runs)
        and all(run.bold for run in runs)
        and len(text) <= 120
        and not text.endswith((".", ":", ";", ","))
    )


def _pages(data: bytes) -> int | None:
    """The page count Word saved in docProps/app.xml, if it did."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            app = archive.read("docProps/app.xml").decode("utf-8", "replace")
    except (KeyError, zipfile.BadZipFile, ValueError, OSError):
        return None
    found = re.search(r"<Pages>(\d+)</Pages>", app)
    return int(found.group(1)) if found else None
