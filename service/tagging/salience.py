"""How central each code is to a text: every affirmed mention scored by where and how it stands.

The score of a code is the sum of its mentions' scores; its weight is that score over the top
score of its facet. A mention scores 1, times:

- 2 in the title, 1.5 in the learning points (a brief's, or a plain text's "Learning:" or
  "Key messages" section), 1 elsewhere;
- 0.5 for a weak phrase (a generic word that names the theme in passing: "referral",
  "training");
- 0.5 in a list of codes of the same facet ("issues such as domestic abuse, sexual
  exploitation and substance misuse"): a list names topics, it says little of any.

A code mentioned twice with only a bracket or comma between ("Multi-Agency Safeguarding Hub
(MASH)") is one mention. docs/tagging.md has the reasoning and the figures behind each number.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple

TITLE = 2.0
POINTS = 1.5
WEAK = 0.5
LISTED = 0.5
# A theme or agency is suggested when it weighs at least this much and scores at least
# MIN_SCORE (one plain mention in the body; two weak ones; not one mention in a list). Boroughs
# are all suggested: a borough named concerns its staff. Agencies are suggested more readily:
# a brief is for every agency it shows at work.
SUGGEST_FROM = {"themes": 0.4, "agencies": 0.2}
MIN_SCORE = 1.0
# In a text shorter than this many words both bars are lowered in proportion: every sentence
# of a paragraph is close to its heart, while a long review has room for passing mentions.
FULL_LENGTH = 300
MAX_EVIDENCE = 5

# What may stand between two codes of a list: a comma, "and", "or", a slash, a semicolon.
# The next item may start with up to two words of its own ("..., sexual exploitation").
_LIST_GAP = re.compile(
    r"\s*(?:[,;/&]\s*(?:(?:and|or)\s+)?|(?:and|or|and/or|as well as)\s+)(?:[\w'\u2019-]+\s+){0,2}",
    re.IGNORECASE,
)
# What may stand between two mentions of one code that are one mention: "Hub (MASH)".
_SAME_GAP = re.compile(r"[\s(\[,:\-\u2013]{0,4}")
_HEADING = (
    r"(?:key\s+)?(?:learning(?:\s+points?|\s+themes?)?|lessons(?:\s+learn[et]d?)?"
    r"|key\s+(?:messages|findings|issues)|messages\s+for\s+practitioners"
    r"|what\s+we\s+(?:have\s+)?learn[et]d?|recommendations?)"
)
# A heading starts with one of these words: found by plain search, then matched in full.
_HEADING_WORDS = ("key ", "learning", "lessons", "messages for", "what we", "recommendation")
# Matched in the lowercased text: ignoring case makes Python's regexes slower.
_HEADING_AT = re.compile(rf"{_HEADING}(?:\s+includes?)?[ \t]*(:?)")
_NEXT_HEADING = re.compile(r"\n[ \t]*(?:#+[ \t]*\S[^\n]*|[A-Z][^\n.]{0,60}:?)[ \t]*\n")
_PARAGRAPH_END = re.compile(r"\n\s*\n")


class Mention(NamedTuple):
    """One affirmed mention of a code: its span and its strength (the term's salience, halved
    for a weak phrase). Tuples sort by offset."""

    start: int
    end: int
    code: str
    strength: float


@dataclass(frozen=True)
class Layout:
    """Where a text's title ends and which spans are learning points."""

    title_end: int = 0
    points: tuple[tuple[int, int], ...] = ()

    def factor(self, start: int) -> float:
        if not self.points and start >= self.title_end:
            return 1.0
        if start < self.title_end:
            return TITLE
        if any(low <= start < high for low, high in self.points):
            return POINTS
        return 1.0


def plain_layout(text: str, lowered: str) -> Layout:
    """A plain text's title (a short first line) and learning sections, by their headings.

    A heading is a line of its own ("Learning points", "## Key messages") whose section runs to
    the next heading, or a label that starts a sentence ("Learning: ...", "Learning themes
    include: ...") whose section runs to the end of the paragraph.
    """
    first = len(text) - len(text.lstrip())
    newline = text.find("\n", first)
    title_end = 0
    if newline > 0 and 0 < len(text[first:newline].split()) <= 15:
        title_end = newline
    points = set()
    for at in _heading_starts(lowered):
        found = _HEADING_AT.match(lowered, at)
        if found is None:
            continue
        line_start = lowered.rfind("\n", 0, at) + 1
        before = lowered[line_start:at].strip(" \t#*")
        line_end = lowered.find("\n", found.end())
        line_end = len(lowered) if line_end == -1 else line_end
        if not before and not lowered[found.end() : line_end].strip():
            after = _NEXT_HEADING.search(text, line_end)
            points.add((found.end(), after.start() if after else len(text)))
        elif found[1] and (not before or before.endswith(".")):
            after = _PARAGRAPH_END.search(text, found.end())
            points.add((found.end(), after.start() if after else len(text)))
    return Layout(title_end, tuple(sorted(points)))


def _heading_starts(lowered: str) -> list[int]:
    starts = []
    for word in _HEADING_WORDS:
        at = lowered.find(word)
        while at != -1:
            starts.append(at)
            at = lowered.find(word, at + 1)
    return starts


@dataclass(frozen=True)
class Bar:
    """What a code must reach to be suggested: a weight and a score (0 and 0 suggest all)."""

    weight: float = 0.0
    score: float = 0.0

    @classmethod
    def of(cls, facet: str, words: int) -> Bar:
        """The bar for a facet in a text of so many words."""
        if facet not in SUGGEST_FROM:
            return cls()
        length = min(1.0, words / FULL_LENGTH)
        return cls(SUGGEST_FROM[facet] * length, MIN_SCORE * length)


def score_facet(
    text: str, mentions: Iterable[Mention], layout: Layout, bar: Bar
) -> list[dict[str, Any]]:
    """Per code found: weight, suggested, score, mentions and evidence, heaviest first."""
    ordered = sorted(mentions)
    if not ordered:
        return []
    listed = _listed(text, ordered)
    scored: dict[str, list[tuple[float, Mention]]] = defaultdict(list)
    last: dict[str, Mention] = {}
    same = _SAME_GAP.fullmatch
    plain = not layout.points and not layout.title_end
    for index, mention in enumerate(ordered):
        start, _, code, value = mention
        before = last.get(code)
        if before is not None and same(text, before.end, start):
            continue
        last[code] = mention
        if not plain:
            value *= layout.factor(start)
        scored[code].append((value * LISTED if index in listed else value, mention))
    scores = {code: sum(value for value, _ in found) for code, found in scored.items()}
    top = max(scores.values())
    tags = []
    for code, found in scored.items():
        score = scores[code]
        weight = score / top
        titled = found[0][1].start < layout.title_end
        tags.append(
            {
                "code": code,
                "weight": round(weight, 2),
                "suggested": titled or (weight >= bar.weight and score >= bar.score),
                "score": round(score, 2),
                "mentions": len(found),
                "evidence": _evidence(text, found),
            }
        )
    tags.sort(key=_heaviest_first)
    return tags


def _heaviest_first(tag: dict[str, Any]) -> tuple[float, str]:
    return (-tag["score"], tag["code"])


def _evidence(text: str, found: list[tuple[float, Mention]]) -> list[dict[str, Any]]:
    """The strongest mentions (the first of equals), in order of offset."""
    if len(found) > MAX_EVIDENCE:
        found = sorted(found, key=lambda item: (-item[0], item[1].start))[:MAX_EVIDENCE]
        found.sort(key=lambda item: item[1].start)
    return [
        {"text": text[m.start : m.end], "start": m.start, "end": m.end, "score": round(v, 2)}
        for v, m in found
    ]


def _listed(text: str, ordered: list[Mention]) -> set[int]:
    """The indexes of mentions that stand in a list with a mention of another code."""
    listed: set[int] = set()
    for index in range(1, len(ordered)):
        before, mention = ordered[index - 1], ordered[index]
        if before.code == mention.code or before.end > mention.start:
            continue
        if _LIST_GAP.fullmatch(text, before.end, mention.start):
            listed.update((index - 1, index))
    return listed
