"""What extraction hands to the repair: lines with where they sat, or blocks already known."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class DocumentError(Exception):
    """A document that can't be imported; the message is one sentence for the publisher."""


@dataclass(frozen=True)
class Line:
    """One line of text as laid out: PDF user-space points (y grows upwards); ``size`` 0 and
    no position for text that had none (pasted text)."""

    text: str
    page: int = 0
    x: float = 0.0
    y: float = 0.0
    size: float = 0.0
    bold: bool = False


class Kind(StrEnum):
    heading = "heading"
    paragraph = "paragraph"
    bullet = "bullet"
    number = "number"


@dataclass
class Block:
    kind: Kind
    text: str
    level: int = 2  # headings: 1 the largest
    page: int = 0


@dataclass
class Extracted:
    """A document's text: PDF lines to be repaired, or a DOCX's blocks (already paragraphs)."""

    kind: str  # "pdf" or "docx"
    pages: int | None
    lines: list[Line] = field(default_factory=list)
    blocks: list[Block] = field(default_factory=list)
    title: str = ""
    page_height: float = 842.0
