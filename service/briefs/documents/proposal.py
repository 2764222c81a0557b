"""What a review's repaired text proposes for its brief: the summary, the learning points
(from sections named like learning, findings or recommendations), a title, and the source's
board, review name and date, each guess with the words it came from, for the publisher to
confirm."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date

from service.briefs.documents.repair import markdown
from service.briefs.documents.text import Block, Kind

SECTIONS = {
    "summary": re.compile(r"\b(executive summary|summary|overview)\b", re.I),
    "learning": re.compile(r"\b(learning|lessons?|key messages)\b", re.I),
    "findings": re.compile(r"\bfindings?\b", re.I),
    "recommendations": re.compile(r"\brecommendations?\b", re.I),
}
POINTS_FROM = ("learning", "findings", "recommendations")
MAX_POINTS = 30
MAX_POINT = 2_000
MAX_SUMMARY = 4_000
SP = r"[^\S\n]+"  # spaces within one line
BOARD = re.compile(
    rf"(?:(?:St\.?|[A-Z][\w'\u2019&.-]*){SP}){{0,4}}?(?:Local{SP})?Safeguarding{SP}"
    rf"(?:Children(?:['\u2019]s)?{SP}|Adults{SP}|Children{SP}and{SP}Adults{SP})?(?:Partnership|Board)"
)
REVIEW = re.compile(
    r"\b(?:Child|Baby|Infant|Young Person|Sibling|Family|Children|Siblings)\s+"
    r"(?:[A-Z]{1,3}\d?|[\"'\u201c\u2018][A-Z][a-z]+[\"'\u201d\u2019])(?:\s+and\s+[A-Z]{1,3}\b)?(?![\w-])"
)
MONTHS = [
    "january", "february", "march", "april", "may", "june",
    "july", "august", "september", "october", "november", "december",
]  # fmt: skip
MONTH = r"(January|February|March|April|May|June|July|August|September|October|November|December)"
FULL_DATE = re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+{MONTH}\s+(\d{{4}})\b", re.I)
NUMERIC_DATE = re.compile(r"\b(\d{1,2})/(\d{1,2})/(\d{4})\b")
MONTH_YEAR = re.compile(rf"\b{MONTH}\s+(\d{{4}})\b", re.I)
PUBLISHED = re.compile(r"(publi(?:shed|cation)[^\n]{0,40})", re.I)
FIRST_PAGE = 1_500  # characters of the text's start where a title page sits


@dataclass(frozen=True)
class Guess:
    value: str
    found_in: str  # the words it was found in, to show the publisher


@dataclass
class Proposal:
    title: str
    summary: str
    learning_points: list[str]
    points_from: str | None = None
    review: Guess | None = None
    board: Guess | None = None
    published: Guess | None = None  # value "YYYY-MM-DD" or "YYYY-MM"
    sections: list[str] = field(default_factory=list)

    def published_on(self) -> date | None:
        if self.published and len(self.published.value) == 10:
            return date.fromisoformat(self.published.value)
        return None


def propose(blocks: list[Block], text: str, *, title: str, filename: str) -> Proposal:
    sections = _sections(blocks)
    review = _review(text)
    points, points_from = _points(sections)
    return Proposal(
        title=_title(review, title, blocks, filename),
        summary=_summary(sections, blocks),
        learning_points=points,
        points_from=points_from,
        review=review,
        board=_board(text),
        published=_published(text),
        sections=[heading.text for heading, _kind, _body in sections],
    )


def _sections(blocks: list[Block]) -> list[tuple[Block, str, list[Block]]]:
    """Each heading named like one of SECTIONS, its kind, and the blocks under it."""
    found = []
    for n, block in enumerate(blocks):
        if block.kind != Kind.heading:
            continue
        kind = next((k for k, pattern in SECTIONS.items() if pattern.search(block.text)), None)
        if kind is None:
            continue
        body = []
        for later in blocks[n + 1 :]:
            if later.kind == Kind.heading and later.level <= block.level:
                break
            body.append(later)
        found.append((block, kind, body))
    return found


def _points(sections: list[tuple[Block, str, list[Block]]]) -> tuple[list[str], str | None]:
    """The items of the first section of learning, else findings, else recommendations;
    a section without a list gives its paragraphs."""
    for wanted in POINTS_FROM:
        for heading, kind, body in sections:
            if kind != wanted:
                continue
            items = [b.text for b in body if b.kind in (Kind.bullet, Kind.number)]
            if not items:
                items = [b.text for b in body if b.kind == Kind.paragraph and b.text[-1:] != ":"]
            if items:
                return [_cut(item, MAX_POINT) for item in items[:MAX_POINTS]], heading.text
    return [], None


def _summary(sections: list[tuple[Block, str, list[Block]]], blocks: list[Block]) -> str:
    for _heading, kind, body in sections:
        if kind == "summary" and body:
            return _cut(markdown([b for b in body if b.kind != Kind.heading]), MAX_SUMMARY)
    paragraphs = [b for b in blocks if b.kind == Kind.paragraph and len(b.text) > 120][:3]
    return _cut(markdown(paragraphs), MAX_SUMMARY)


def _title(review: Guess | None, title: str, blocks: list[Block], filename: str) -> str:
    if review:
        return f"Learning from {review.value}"
    headings = [b.text for b in blocks if b.kind == Kind.heading]
    chosen = title or (headings[0] if headings else "") or filename.rsplit(".", 1)[0]
    return _cut(chosen, 300)


def _review(text: str) -> Guess | None:
    """The name the review gives the child, the commonest of "Child L", "Baby T"… near the
    start (the title page) or anywhere."""
    for part in (text[:FIRST_PAGE], text):
        matches = list(REVIEW.finditer(part))
        names = Counter(" ".join(m.group(0).split()) for m in matches)
        if names:
            name = names.most_common(1)[0][0]
            first = next(m for m in matches if " ".join(m.group(0).split()) == name)
            return Guess(name, _around(part, first.start()))
    return None


def _board(text: str) -> Guess | None:
    for part in (text[:FIRST_PAGE], text):
        match = BOARD.search(part)
        if match:
            name = re.sub(r"^(?:The|the|by|of)\s+", "", " ".join(match.group(0).split()))
            return Guess(name, _around(part, match.start()))
    return None


def _published(text: str) -> Guess | None:
    """The date of publication: after "published", else the title page's first date."""
    start = text[:FIRST_PAGE]
    said = [m.group(1) for m in PUBLISHED.finditer(text[: FIRST_PAGE * 3])]
    for part in [*said, start]:
        found = _date(part)
        if found:
            return Guess(found, _around(part, 0) if part in said else _date_context(start))
    return None


def _date(text: str) -> str | None:
    if match := FULL_DATE.search(text):
        day, month, year = int(match.group(1)), MONTHS.index(match.group(2).lower()) + 1, match[3]
        return _valid(int(year), month, day)
    if match := NUMERIC_DATE.search(text):  # British order: day/month/year
        return _valid(int(match.group(3)), int(match.group(2)), int(match.group(1)))
    if match := MONTH_YEAR.search(text):
        return f"{match.group(2)}-{MONTHS.index(match.group(1).lower()) + 1:02d}"
    return None


def _valid(year: int, month: int, day: int) -> str | None:
    try:
        return date(year, month, day).isoformat()
    except ValueError:
        return None


def _date_context(text: str) -> str:
    match = FULL_DATE.search(text) or NUMERIC_DATE.search(text) or MONTH_YEAR.search(text)
    return _around(text, match.start()) if match else ""


def _around(text: str, at: int, width: int = 60) -> str:
    """The line of ``text`` around ``at``, cut to about ``width`` characters each side."""
    start = max(text.rfind("\n", 0, at) + 1, at - width)
    end = text.find("\n", at)
    end = min(end if end != -1 else len(text), at + width)
    return " ".join(text[start:end].lstrip("#").split())


def _cut(text: str, limit: int) -> str:
    """``text`` within ``limit`` characters, cut after a sentence where one ends."""
    if len(text) <= limit:
        return text
    head = text[: limit - 1]
    sentence = max(head.rfind(". "), head.rfind(".\n"))
    return head[: sentence + 1] if sentence > limit // 2 else head.rsplit(" ", 1)[0] + "…"
