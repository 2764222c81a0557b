"""Laid-out lines into Markdown blocks: hard-wrapped lines joined into paragraphs, words
hyphenated across lines rejoined, bullet glyphs and numbers made list items, headings kept
(larger or bold lines, as the text's own size tells).

Lines from a PDF carry their position and size; pasted text has neither, and ``paste.py``
decides its breaks from blank lines and line lengths instead.
"""

from __future__ import annotations

import itertools
import re
import statistics
from collections import Counter

from service.briefs.documents import furniture
from service.briefs.documents.joining import Vocabulary, ends_sentence, join
from service.briefs.documents.text import Block, Kind, Line

# Bullet glyphs, Symbol and Wingdings' private-use bullets (Word's PDFs) and "o" sub-bullets.
GLYPHS = "\u2022\u25cf\u25aa\u25a0\u25e6\u25cb\u2023\u2043\u2219\u00b7*\u27a2\u25ba\u2713\\-"
PRIVATE = "\uf0b7\uf0a7\uf076\uf0d8\uf0fc"
BULLET = re.compile(rf"^(?:[{GLYPHS}{PRIVATE}]|o(?=\s+[A-Z]))\s*")
NUMBER = re.compile(r"^\(?(\d{1,2}|[a-h]|[ivx]{1,4})[.)]\s+(?=\S)")
MAX_HEADING = 150


def blocks_of(lines: list[Line], page_height: float) -> list[Block]:
    """Blocks of a PDF's lines, in reading order."""
    lines = furniture.remove(lines, page_height, furniture.body_size(lines))
    if not lines:
        return []
    return _Layout(lines).blocks()


class _Layout:
    def __init__(self, lines: list[Line]) -> None:
        self.lines = lines
        self.vocabulary = Vocabulary(line.text for line in lines)
        self.body = furniture.body_size(lines)
        body_lines = [ln for ln in lines if abs(ln.size - self.body) < 0.6]
        self.bold_body = sum(ln.bold for ln in body_lines) > len(body_lines) / 2
        lengths = sorted(len(ln.text) for ln in body_lines) or [80]
        self.full = lengths[int(len(lengths) * 0.8)]
        self.pitch = self._pitch(body_lines)
        self.levels = self._levels([round(ln.size) for ln in lines if self.heading(ln)])

    @staticmethod
    def _levels(sizes: list[int]) -> dict[int, int]:
        """Markdown levels of heading sizes: the commonest is ##, larger #, smaller ###…"""
        if not sizes:
            return {}
        ranked = sorted(set(sizes), reverse=True)
        common = ranked.index(Counter(sizes).most_common(1)[0][0])
        return {size: max(1, min(4, 2 + n - common)) for n, size in enumerate(ranked)}

    def _pitch(self, lines: list[Line]) -> float:
        gaps = [
            a.y - b.y
            for a, b in itertools.pairwise(lines)
            if a.page == b.page and 0 < a.y - b.y < 3 * max(a.size, 1)
        ]
        return statistics.median(gaps) if gaps else self.body * 1.2

    def heading(self, line: Line) -> bool:
        if len(line.text) > MAX_HEADING or not any(ch.isalpha() for ch in line.text):
            return False
        if BULLET.match(line.text) and not line.text[:1].isalnum():
            return False
        larger = line.size >= self.body * 1.12
        return larger or (line.bold and not self.bold_body and not ends_sentence(line.text))

    def blocks(self) -> list[Block]:
        blocks: list[Block] = []
        previous: Line | None = None
        item_x = 0.0
        for line in self.lines:
            current = blocks[-1] if blocks else None
            if self.heading(line):
                if current and current.kind == Kind.heading and self._same_heading(previous, line):
                    current.text = join(current.text, line.text, self.vocabulary)
                else:
                    level = self.levels.get(round(line.size), 4)
                    blocks.append(Block(Kind.heading, line.text, level=level, page=line.page))
            elif item := _item(line.text):
                kind, number, text = item
                blocks.append(Block(kind, text, level=number, page=line.page))
                item_x = line.x
            elif current and previous and self._continues(current, previous, line, item_x):
                current.text = join(current.text, line.text, self.vocabulary)
                if not _below(previous, line):
                    item_x = line.x - 3  # an item going on in the next column or page
            else:
                blocks.append(Block(Kind.paragraph, line.text, page=line.page))
            previous = line
        return blocks

    def _same_heading(self, previous: Line | None, line: Line) -> bool:
        """A heading wrapped onto a second line: same size, right below."""
        return (
            previous is not None
            and previous.page == line.page
            and abs(previous.size - line.size) < 0.6
            and 0 < previous.y - line.y < 2 * line.size
        )

    def _continues(self, block: Block, previous: Line, line: Line, item_x: float) -> bool:
        if block.kind == Kind.heading:
            return False
        if not _below(previous, line):
            # The next column or page: a sentence left open goes on; one that ended there
            # is taken to end its paragraph (the layout can't tell).
            return not ends_sentence(previous.text) or line.text[:1].islower()
        if previous.y - line.y > self.pitch * 1.3:
            return False
        if block.kind in (Kind.bullet, Kind.number):
            return line.x > item_x + 2
        if line.x > previous.x + self.body * 0.8:
            return False  # an indented first line starts a paragraph
        short = len(previous.text) < self.full * 0.7
        return not (ends_sentence(previous.text) and short)


def _below(previous: Line, line: Line) -> bool:
    """Whether ``line`` sits under ``previous`` in the same column."""
    return previous.page == line.page and line.y < previous.y


def _item(text: str) -> tuple[Kind, int, str] | None:
    """A list item's kind, number and text, if the line starts one."""
    bullet = BULLET.match(text)
    if bullet and bullet.end() < len(text) and (bullet.group(0).strip() or text[:1] == "o"):
        rest = text[bullet.end() :]
        if text[0] in "-*" and not text[1:2].isspace():
            return None  # -word or *emphasis*, not a list
        return Kind.bullet, 0, rest
    number = NUMBER.match(text)
    if number:
        label = number.group(1)
        value = int(label) if label.isdigit() else 0
        return Kind.number, value, text[number.end() :]
    return None


def markdown(blocks: list[Block]) -> str:
    """The blocks as Markdown: headings from ##, lists one item a line."""
    out: list[str] = []
    for n, block in enumerate(blocks):
        if n:
            together = block.kind in (Kind.bullet, Kind.number) and blocks[n - 1].kind == block.kind
            out.append("\n" if together else "\n\n")
        out.append(_markdown(block))
    return "".join(out)


def _markdown(block: Block) -> str:
    if block.kind == Kind.heading:
        return "#" * block.level + " " + block.text
    if block.kind == Kind.bullet:
        return "- " + block.text
    if block.kind == Kind.number:
        return f"{block.level or 1}. {block.text}"
    return re.sub(r"^(\d+)([.)]\s)|^([#>+*-]\s)", _escape, block.text)


def _escape(match: re.Match[str]) -> str:
    if match.group(1):
        return match.group(1) + "\\" + match.group(2)
    return "\\" + match.group(3)
