"""Decide whether a mention of a theme is negated ("no concerns about domestic abuse").

Safeguarding prose negates risks in a few set ways, so the cues are explicit phrases rather
than any "not": "the GP was not told about her depression" and "information was not shared"
are findings, not negations. A cue only reaches to the end of its clause.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

_WINDOW = 160
_MAX_GAP_WORDS = 8

_BOUNDARY = re.compile(
    r"[.;:!?](?=\s|$)"
    r"|\n\s*(?=[A-Z•*]|[-\u2013]\s|\d+[.)]\s)"
    r"|(?i:\b(?:but|however|although|though|whereas|while|whilst|yet|despite|except|until|unless"
    r"|because)\b)"
    r"|,\s*(?i:and|but|so)\b"
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
_CUE_WORD = re.compile(
    r"\b(?:no|not|nor|neither|nothing|never|without|denied|denies|deny|absence"
    r"|ruled)\b|n['\u2019]t\b"
)


def is_negated(text: str, start: int, end: int) -> bool:
    """Whether the mention text[start:end] sits in the scope of a negation cue."""
    if not _CUE_WORD.search(text[max(0, start - _WINDOW) : end + _WINDOW].lower()):
        return False
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
