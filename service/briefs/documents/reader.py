"""Reading a review document: what it is, its text repaired, and what it proposes.

``read`` runs the parsers in this process; ``read_isolated`` (``isolation.py``) runs it in
a child process, which is how the service and the command line call it.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from pydantic import TypeAdapter

from service.briefs.documents import pdf, word
from service.briefs.documents.limits import MAX_TEXT
from service.briefs.documents.proposal import Proposal, propose
from service.briefs.documents.repair import blocks_of, markdown
from service.briefs.documents.text import Block, DocumentError

PDF, DOCX = (
    "application/pdf",
    ("application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
)
OLE = bytes.fromhex("d0cf11e0a1b11ae1")
KINDS = {PDF: "PDF", DOCX: "Word document"}


@dataclass
class Reading:
    media_type: str
    pages: int | None
    text: str  # the repaired text, Markdown
    proposal: Proposal


READING = TypeAdapter(Reading)


def sniff(data: bytes) -> str:
    """The document's media type, from its first bytes, or a DocumentError saying why not."""
    if not data:
        raise DocumentError("the file is empty")
    if b"%PDF-" in data[:1024]:
        return PDF
    if data.startswith(b"PK\x03\x04"):
        return DOCX
    if data.startswith(OLE):
        if "EncryptedPackage".encode("utf-16-le") in data:
            raise DocumentError(
                "this Word document is protected by a password; remove the password and "
                "import it again"
            )
        raise DocumentError(
            "this is an older Word document (.doc); save it as .docx or PDF and import that"
        )
    raise DocumentError("this file is not a PDF or a Word document (.docx)")


def read(data: bytes) -> Reading:
    media_type = sniff(data)
    extracted = pdf.extract(data) if media_type == PDF else word.extract(data)
    blocks = [
        block
        for block in (
            blocks_of(extracted.lines, extracted.page_height)
            if extracted.lines
            else extracted.blocks
        )
        if _clean(block)
    ]
    text = markdown(blocks)[:MAX_TEXT]
    proposal = propose(blocks, text, title=_line(extracted.title), filename="")
    return Reading(media_type, extracted.pages, text, proposal)


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u2028\u2029\ufffe\uffff]")


def _clean(block: Block) -> bool:
    """Control characters out (broken fonts map glyphs to them); whether any text is left."""
    text = _CONTROL.sub(" ", unicodedata.normalize("NFC", block.text))
    block.text = " ".join(text.split())
    return bool(block.text)


def _line(text: str) -> str:
    return " ".join(_CONTROL.sub(" ", text).split())[:300]


def size_label(media_type: str, size: int) -> str:
    """ "PDF, 1.2 MB": what a link to the file says of it."""
    kind = "PDF" if media_type == PDF else "Word document"
    megabytes = size >= 1_000_000
    amount = f"{size / 1_000_000:.1f} MB" if megabytes else f"{max(1, round(size / 1000))} KB"
    return f"{kind}, {amount}"
