"""Running headers, footers and page numbers: what repeats at the edges of the pages."""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict

from service.briefs.documents.text import Line


def body_size(lines: list[Line]) -> float:
    """The size most of the text is set in."""
    sizes: Counter[float] = Counter()
    for line in lines:
        sizes[round(line.size * 2) / 2] += len(line.text)
    return sizes.most_common(1)[0][0] if sizes else 0.0


PAGE_NUMBER = re.compile(
    r"(?:page\s*)?[-\u2013\u2014]?\s*\d{1,4}\s*[-\u2013\u2014]?(?:\s*(?:of|/)\s*\d{1,4})?"
    r"|[ivxlc]{1,6}",
    re.I,
)
PAGE_AT_EDGE = re.compile(r"^page #(?: of #)?\b|\bpage #(?: (?:of|/) #)?$")
EDGE = 0.15  # the top and bottom sixths-or-so of a page, where furniture sits
OUTERMOST = 2  # lines at each edge looked at


def key(text: str) -> str:
    """A line as furniture is compared: digits stand for any number (page numbers, dates)."""
    return re.sub(r"\d+", "#", " ".join(text.lower().split()))


def remove(lines: list[Line], page_height: float, body_size: float) -> list[Line]:
    """The lines less the running headers and footers and the page numbers.

    A line among the outermost at the top or bottom of its page is furniture when it is a
    page number, when it is in smaller type than the body, or when the same text (numbers
    aside) sits at that edge of at least a third of the pages (two at least): a title page
    or alternating headers still leave that many.
    """
    pages: dict[int, list[int]] = defaultdict(list)
    for index, line in enumerate(lines):
        pages[line.page].append(index)
    edges: dict[int, str] = {}
    for indexes in pages.values():
        edges.update(_edges(lines, indexes, page_height))
    seen: Counter[str] = Counter()
    for page_indexes in pages.values():
        seen.update({edges[i] for i in page_indexes if i in edges})
    needed = max(2, math.ceil(len(pages) / 3))
    drop = {
        i
        for i, k in edges.items()
        if seen[k] >= needed
        or PAGE_NUMBER.fullmatch(lines[i].text.strip())
        or 0 < lines[i].size < body_size * 0.9
    }
    return [line for i, line in enumerate(lines) if i not in drop]


def _edges(lines: list[Line], indexes: list[int], height: float) -> dict[int, str]:
    """The outermost lines at each edge of one page, keyed by edge and text."""
    by_height = sorted(indexes, key=lambda i: lines[i].y)
    found: dict[int, str] = {}
    for i in by_height[:OUTERMOST]:
        if lines[i].y < height * EDGE:
            found[i] = "bottom:" + key(lines[i].text)
    for i in by_height[-OUTERMOST:]:
        if lines[i].y > height * (1 - EDGE):
            found[i] = "top:" + key(lines[i].text)
    return found


def repeated(texts: list[str]) -> set[int]:
    """In text with no pages (pasted), the lines that are headers, footers and page
    numbers: a page number alone; a short line ending or starting with "Page N" that recurs;
    and a short line that recurs (numbers aside) only ever beside those. A line of text that
    happens to recur elsewhere stays."""
    where: dict[str, list[int]] = defaultdict(list)
    for index, text in enumerate(texts):
        if text.strip() and len(text) <= 100:
            where[key(text)].append(index)
    pages = {
        i
        for k, indexes in where.items()
        for i in indexes
        if PAGE_NUMBER.fullmatch(texts[i].strip()) or (len(indexes) >= 2 and PAGE_AT_EDGE.search(k))
    }
    drop = set(pages)
    for indexes in where.values():
        if len(indexes) >= 2 and all(any(abs(i - j) <= 2 for j in pages) for i in indexes):
            drop.update(indexes)
    return drop
