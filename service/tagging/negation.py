"""Decide whether a mention of a theme is negated ("no concerns about domestic abuse").

Safeguarding prose negates risks in a few set ways, so the cues are explicit phrases rather
than any "not": "the GP was not told about her depression" and "information was not shared"
are findings, not negations. A cue only reaches to the end of its clause.
"""

from __future__ import annotations

import bisect
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator

_WINDOW = 160
_MAX_GAP_WORDS = 8



def _led_by_letters(words: Iterable[str], ignore_case: bool) -> list[str]:
    """Alternatives matching the whole words, each led by a plain first letter (per case).

    When every alternative of a pattern starts with a plain character, the regex engine skips
    ahead to the next such character instead of trying each alternative at each position. The
    "(?<!\\w.)" after the first letter is the "\\b" before it.
    """
    rests: dict[str, list[str]] = defaultdict(list)
    for word in words:
        rests[word[0]].append(word[1:])
    alternatives = []
    for letter, endings in rests.items():
        body = "|".join(endings)
        body = f"(?i:{body})" if ignore_case else f"(?:{body})"
        cases = (letter, letter.upper()) if ignore_case else (letter,)
        alternatives += [f"{case}(?<!\\w.){body}\\b" for case in cases]
    return alternatives


# Ignoring case, the first letters of these words match only their ASCII pair (unlike "i",
# "k" and "s"), so leading with the lower and upper letter changes no match.
_CLAUSE_WORDS = (
    "but however although though whereas while whilst yet despite except until unless because"
)
_BOUNDARY = re.compile(
    "|".join(
        [
            *(re.escape(mark) + r"(?=\s|$)" for mark in ".;:!?"),
            r"\n\s*(?=[A-Z•*]|[-\u2013]\s|\d+[.)]\s)",
            r",\s*(?i:and|but|so)\b",
            *_led_by_letters(_CLAUSE_WORDS.split(), ignore_case=True),
        ]
    )
)
# Cues whose reach covers the rest of the clause: "no evidence of", "did not disclose any".
_CONCERN = (
    r"concerns?|evidence|indications?|suggestions?|history|signs?|reports?|records?|mentions?"
    r"|disclosures?|allegations?|issues?|worries|information"
)
_STRONG_CUE = re.compile(
    rf"\bno\s+(?:(?:known|previous|prior|current|recorded|reported|apparent|obvious|"
    rf"significant|specific|identified|further)\s+)?(?:{_CONCERN})\b"
    r"|\bnothing\s+to\s+(?:suggest|indicate)\b"
    r"|\b(?:without|denied|denies|deny|never|absence\s+of)\s+any\b"
    r"|\b(?:did|does|do|has|have|had|was|were)(?:\s+not|n['\u2019]t)\s+(?:disclose|report|mention"
    r"|raise|reveal|describe|indicate|suggest|show|express|identify|find)\w*\s+any\b",
    re.IGNORECASE,
)
# Cues that negate only what follows at once: "no domestic abuse", "no known neglect".
_NEAR_CUE = re.compile(r"(?:\bno\s+(?:\w+\s+)?|\b(?:not|nor|neither)\s+)$", re.IGNORECASE)
# Cues after the mention: "domestic abuse was not a feature", "... were ruled out".
_POST_CUE = re.compile(
    r"^\W*(?:\w++\W+){0,8}?(?:"
    r"(?:was|were|is|are|has\s+been|have\s+been|had\s+been)\s+(?:not|never)\s+"
    r"(?:(?:considered|thought|felt|seen|judged|assessed|deemed|found)\s+(?:as\s+|to\s+be\s+)?)?"
    r"(?:an?\s+)?(?:significant\s+|major\s+|key\s+)?"
    r"(?:features?|factors?|present|evident|apparent|issues?|concerns?|suspected|indicated"
    r"|relevant)"
    r"|(?:did\s+not|didn['\u2019]t)\s+feature"
    r"|(?:was|were|had\s+been|has\s+been)\s+ruled\s+out"
    r")\b",
    re.IGNORECASE,
)


# Every cue contains one of these words; most mentions have none near them and stop here.
_CUE_WORDS = "no not nor neither nothing never without denied denies deny absence ruled"
_CUE_WORD = re.compile(
    "|".join([r"n['\u2019]t\b", *_led_by_letters(_CUE_WORDS.split(), ignore_case=False)])
)
_CUE_AT_END = re.compile(f"(?:{_CUE_WORD.pattern})\\Z")


def is_negated(text: str, start: int, end: int) -> bool:
    """Whether the mention text[start:end] sits in the scope of a negation cue."""
    if not _CUE_WORD.search(text[max(0, start - _WINDOW) : end + _WINDOW].lower()):
        return False
    return _in_scope(text, start, end)


class Negations:
    """is_negated for the mentions of one text, finding its cue words once for all of them."""

    def __init__(self, text: str, lowered: str) -> None:
        self.text = text
        # Offsets in the lowercased text hold for the text only if no character grew.
        self._lowered = lowered if len(lowered) == len(text) else None
        self._cues: tuple[list[int], list[int]] | None = None

    def is_negated(self, start: int, end: int) -> bool:
        """The same answer as is_negated(text, start, end)."""
        lowered = self._lowered
        if lowered is None:
            return is_negated(self.text, start, end)
        low, high = max(0, start - _WINDOW), min(len(lowered), end + _WINDOW)
        return self._cue_between(lowered, low, high) and _in_scope(self.text, start, end)

    def _cue_between(self, lowered: str, low: int, high: int) -> bool:
        """Whether _CUE_WORD matches in lowered[low:high], as is_negated searches it."""
        if self._cues is None:
            found = list(_CUE_WORD.finditer(lowered))
            self._cues = [m.start() for m in found], [m.end() for m in found]
        starts, ends = self._cues
        # Cue words cannot overlap, so the first one from low is the one to end soonest.
        first = bisect.bisect_left(starts, low)
        if first < len(starts) and ends[first] <= high:
            return True
        # A cut word at either edge can look like a whole cue in the slice: "ab|no|w" -> "no".
        # Cues are at most seven characters, so eight at each edge show every such case.
        head = lowered[low : min(high, low + 8)]
        tail = lowered[max(low, high - 8) : high]
        return _CUE_WORD.match(head) is not None or _CUE_AT_END.search(tail) is not None


def _in_scope(text: str, start: int, end: int) -> bool:
    before = _clause_before(text, start)
    after = _clause_after(text, end)
    if _NEAR_CUE.search(before):
        return True
    cue = _last(_STRONG_CUE.finditer(before))
    if cue is not None and len(before[cue.end() :].split()) <= _MAX_GAP_WORDS:
        return True
    return _POST_CUE.search(after) is not None


def _clause_before(text: str, start: int) -> str:
    window = text[max(0, start - _WINDOW) : start]
    last = _last(_BOUNDARY.finditer(window))
    return window[last.end() :] if last is not None else window


def _clause_after(text: str, end: int) -> str:
    window = text[end : end + _WINDOW]
    boundary = _BOUNDARY.search(window)
    return window[: boundary.start()] if boundary is not None else window


def _last(matches: Iterator[re.Match[str]]) -> re.Match[str] | None:
    found = None
    for found in matches:  # noqa: B007 - the loop only walks to the last match
        pass
    return found
