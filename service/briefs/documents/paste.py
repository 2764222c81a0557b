"""The repair for text with no layout: pasted into the editor from a PDF, or a DOCX's
paragraphs. Blank lines break paragraphs; within a run of lines, a hard-wrapped line joins
the next unless it ends a sentence well short of the wrap width. Markdown the publisher
wrote (headings, lists, emphasis, links) comes through unchanged.
"""

from __future__ import annotations

import re

from service.briefs.documents import furniture
from service.briefs.documents.joining import Vocabulary, ends_sentence, join
from service.briefs.documents.repair import _item, markdown
from service.briefs.documents.text import Block, Kind

MARKDOWN_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*$")
UNWRAPPED = 150  # lines this long were never hard-wrapped: each is a paragraph


def repair_text(text: str) -> str:
    """Pasted text as tidy Markdown."""
    return markdown(blocks_of_text(text))


def blocks_of_text(text: str, *, headings: bool = True) -> list[Block]:
    """``headings``: whether a short line standing alone may be a heading (not within one
    paragraph of a DOCX, where it is the whole paragraph)."""
    lines = [" ".join(line.split()) for line in text.replace("\r\n", "\n").split("\n")]
    furniture_at = furniture.repeated(lines)
    kept = [line for n, line in enumerate(lines) if n not in furniture_at]
    filled = sorted(len(line) for line in kept if line)
    width = filled[int(len(filled) * 0.95)] if filled else 0
    vocabulary = Vocabulary(kept)
    blocks: list[Block] = []
    previous = ""
    for n, line in enumerate(kept):
        if not line:
            previous = ""
            continue
        current = blocks[-1] if blocks and previous else None
        after = kept[n + 1] if n + 1 < len(kept) else ""
        item = _item(line)
        if heading := MARKDOWN_HEADING.match(line):
            blocks.append(Block(Kind.heading, heading.group(2), level=len(heading.group(1))))
        elif item and headings and _numbered_heading(item, after):
            blocks.append(Block(Kind.heading, line, level=2))
        elif item:
            kind, number, rest = item
            blocks.append(Block(kind, rest, level=number))
        elif headings and not previous and not after and _looks_like_heading(line):
            blocks.append(Block(Kind.heading, line, level=2))
        elif current and _continues(current, previous, line, width):
            current.text = join(current.text, line, vocabulary)
        else:
            blocks.append(Block(Kind.paragraph, line))
        previous = line
    return blocks


def _numbered_heading(item: tuple[Kind, int, str], after: str) -> bool:
    """A short numbered line over a paragraph, or a list that is not its next item:
    "2. Executive summary" is a heading, not a list of one item."""
    kind, number, rest = item
    following = _item(after)
    return (
        kind == Kind.number
        and _looks_like_heading(rest)
        and (after[:1].isupper() or following is not None)
        and not (following and following[0] == Kind.number and following[1] == number + 1)
    )


def _looks_like_heading(line: str) -> bool:
    """A short line standing alone, with no full stop: "Learning", "3. Findings"."""
    words = line.split()
    return (
        len(line) <= 80
        and len(words) <= 10
        and not ends_sentence(line)
        and not line.endswith(",")
        and (line[:1].isupper() or line[:1].isdigit())
    )


def _continues(block: Block, previous: str, line: str, width: int) -> bool:
    if block.kind == Kind.heading or width > UNWRAPPED:
        return False
    if line[:1].islower():
        return True
    # Wrapping breaks a line only when the next word does not fit: if it would have, the
    # line was ended on purpose.
    fits = len(previous) + 1 + len(line.split()[0]) <= width
    return not (ends_sentence(previous) and fits)


def repair_items(text: str) -> str:
    """A one-item-a-line field (learning points, actions, questions) as pasted: bullets and
    numbers taken off, an item's wrapped lines joined (a line going on in lower case, after a
    hyphen, or after a bullet's unfinished sentence), page numbers dropped. Items typed one a
    line stay as they are."""
    lines = [" ".join(line.split()) for line in text.replace("\r\n", "\n").split("\n")]
    dropped = furniture.repeated(lines)
    kept = [line for n, line in enumerate(lines) if line and n not in dropped]
    vocabulary = Vocabulary(kept)
    items: list[str] = []
    bulleted = False
    for line in kept:
        item = _item(line)
        if item:
            items.append(item[2])
            bulleted = True
        elif items and (
            line[:1].islower()
            or items[-1][-1:] in "-\u00ad"
            or (bulleted and not ends_sentence(items[-1]))
        ):
            items[-1] = join(items[-1], line, vocabulary)
        else:
            items.append(line)
            bulleted = False
    return "\n".join(items)
