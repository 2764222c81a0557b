"""Decide whether a mention of a theme is negated ("no concerns about domestic abuse").

Safeguarding prose negates risks in a few set ways, so the cues are explicit phrases rather
than any "not": "the GP was not told about her depression" and "information was not shared"
are findings, not negations. A cue only reaches to the end of its clause.
"""

from __future__ import annotations

import bisect
import re
from collections import defaultdict, deque
from collections.abc import Iterable, Iterator

from service.tagging.scan import lowercase_stands_in

_WINDOW = 160
_MAX_GAP_WORDS = 8
# How much of the window before a mention is searched first for the start of its clause.
_TAIL = 48


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
CUE_WORDS = (
    "no",
    "not",
    "nor",
    "neither",
    "nothing",
    "never",
    "without",
    "denied",
    "denies",
    "deny",
    "absence",
    "ruled",
)
_CUE_WORD = re.compile("|".join([r"n['\u2019]t\b", *_led_by_letters(CUE_WORDS, ignore_case=False)]))
_LONGEST_CUE = max(len(word) for word in CUE_WORDS)
# The whole cue words of _CUE_WORD on their own.
_CUE_WORDS_ONLY = re.compile("|".join(_led_by_letters(CUE_WORDS, ignore_case=False)))
# Its "n't", found by the "t": the engine skips ahead to one plain character far faster than
# to the next of a set of them (the apostrophes).
_CONTRACTION = re.compile(r"t(?<=n['\u2019]t)\b")


def is_negated(text: str, start: int, end: int) -> bool:
    """Whether the mention text[start:end] sits in the scope of a negation cue."""
    if not _CUE_WORD.search(text[max(0, start - _WINDOW) : end + _WINDOW].lower()):
        return False
    return _negated_before(text, start) or _negated_after(text, end)


class Negations:
    """is_negated for the mentions of one text, finding its cue words once for all of them.

    Every cue pattern contains a cue word, in the lowercased text as much as in the slice
    that is_negated searches: a window without one needs no further look, nor a clause
    without one (see _reaches). (The slice can also show a cue cut from a longer word at its
    start, "ab|no", which is checked apart.)
    """

    def __init__(
        self, text: str, lowered: str, cue_words: list[tuple[int, int]] | None = None
    ) -> None:
        """cue_words: the spans of the whole CUE_WORDS in lowered, if already found."""
        self.text = text
        self._lowered = lowered if lowercase_stands_in(text, lowered) else None
        self._cue_words = cue_words
        self._cues: _CueSpans | None = None

    @property
    def lowered(self) -> str | None:
        """The lowercased text, when its offsets are the text's."""
        return self._lowered

    def is_negated(self, start: int, end: int) -> bool:
        """The same answer as is_negated(text, start, end)."""
        text, lowered = self.text, self._lowered
        if lowered is None:
            return is_negated(text, start, end)
        if self._cues is None:
            self._cues = _CueSpans(lowered, self._cue_words)
        low = max(0, start - _WINDOW)
        cue = self._cues.last_within(low, start)
        if cue is None and _CUE_WORD.match(lowered[low : min(start, low + _LONGEST_CUE + 1)]):
            cue = low  # cut from a longer word by the window, which shows it whole
        if cue is not None and _reaches(text, cue, start) and _negated_before(text, start):
            return True
        high = min(len(lowered), end + _WINDOW)
        return self._cues.any_within(end, high) and _negated_after(text, end)


class _CueSpans:
    """The spans of _CUE_WORD.finditer(lowered), all of them: cue words cannot overlap.

    So they are in order of start and of end alike.
    """

    def __init__(self, lowered: str, words: list[tuple[int, int]] | None) -> None:
        """words: the spans of the whole CUE_WORDS in lowered, if already found."""
        if words is None:
            words = [match.span() for match in _CUE_WORDS_ONLY.finditer(lowered)]
        # A contraction's match is its "t", two after the "n".
        contractions = [
            (match.start() - 2, match.end()) for match in _CONTRACTION.finditer(lowered)
        ]
        found = sorted([*words, *contractions])
        self._starts = [start for start, _ in found]
        self._ends = [end for _, end in found]

    def any_within(self, low: int, high: int) -> bool:
        """Whether a cue lies within lowered[low:high]."""
        # The first one from low is the one to end soonest.
        first = bisect.bisect_left(self._starts, low)
        return first < len(self._starts) and self._ends[first] <= high

    def last_within(self, low: int, high: int) -> int | None:
        """Where the last cue within lowered[low:high] starts, if one does."""
        last = bisect.bisect_right(self._ends, high) - 1
        return self._starts[last] if last >= 0 and self._starts[last] >= low else None


def _reaches(text: str, cue: int, start: int) -> bool:
    """Whether the clause before start (see _clause_before) holds the cue word at cue.

    Every cue pattern holds a cue word, so a clause without one is not negated, and the clause
    holding any holds the last. No match of _BOUNDARY is empty or holds part of a cue word, so
    the clause, from the end of the window's last boundary, holds the cue unless a boundary
    starts at or after it.
    """
    low = max(0, start - _WINDOW)
    return _BOUNDARY.search(text[low:start], cue - low) is None


def _negated_before(text: str, start: int) -> bool:
    before = _clause_before(text, start)
    if _NEAR_CUE.search(before):
        return True
    cue = _last(_STRONG_CUE.finditer(before))
    return cue is not None and len(before[cue.end() :].split()) <= _MAX_GAP_WORDS


def _negated_after(text: str, end: int) -> bool:
    return _POST_CUE.search(_clause_after(text, end)) is not None


def _clause_before(text: str, start: int) -> str:
    window = text[max(0, start - _WINDOW) : start]
    # Where matches overlap, the later one ends where the earlier does (a run of blank lines,
    # ", but"), so the last end is the same when the search starts late; most clauses are
    # short, and a search of the window's tail usually finds it.
    tail = max(0, len(window) - _TAIL)
    last = _last(_BOUNDARY.finditer(window, tail)) or _last(_BOUNDARY.finditer(window))
    return window[last.end() :] if last is not None else window


def _clause_after(text: str, end: int) -> str:
    window = text[end : end + _WINDOW]
    boundary = _BOUNDARY.search(window)
    return window[: boundary.start()] if boundary is not None else window


def _last(matches: Iterator[re.Match[str]]) -> re.Match[str] | None:
    # A one-item deque keeps the last match without a Python loop over all of them.
    last = deque(matches, maxlen=1)
    return last[0] if last else None
