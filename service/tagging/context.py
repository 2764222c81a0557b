"""Head words that count only with a context word near them (taxonomy ``near`` rules).

"Low mood" says nothing of a parent on its own; "mum's low mood" does. A rule's heads are found
like any phrase; a head then counts for the rule's term when one of the context phrases stands
within the rule's number of words before or after it, in the same sentence. The evidence
reaches from the one to the other, so that it reads as the reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from service.tagging.phrases import Phrase, alternation, phrase_regex
from service.taxonomy import NearRule

# A word for counting reach: "mother's" is one.
_WORD = re.compile(r"\w+(?:['\u2019]\w+)*")
# The end of a sentence or a paragraph: a context word beyond it belongs to another thought.
_SENTENCE_END = re.compile(r"[.!?;](?=\s)|\n\s*\n")
# Characters looked at for each word of reach: generous, then cut to whole words.
_CHARS_PER_WORD = 16


@dataclass(frozen=True)
class Context:
    """A compiled near rule: its context phrases as patterns, and the reach in words."""

    pattern: re.Pattern[str]
    """The phrases as the tagger matches them, on the text itself."""
    lowered: re.Pattern[str] | None
    """The same on the lowercased text, when every phrase is lowercase ASCII: without case to
    ignore or a look behind to begin with, the regex engine skips to each phrase's first
    letters (several times faster). A match after a word character is no match."""
    within: int

    @classmethod
    def of(cls, rule: NearRule) -> Context:
        phrases = [Phrase(source, (), blocker=False) for source in rule.context]
        pattern, _ = alternation(phrases)
        lowered = None
        if all(source.isascii() and source == source.lower() for source in rule.context):
            bodies = [phrase_regex(s).removeprefix(r"(?<!\w)") for s in rule.context]
            lowered = re.compile("|".join(sorted(bodies, key=len, reverse=True)))
        return cls(pattern, lowered, rule.within)

    def span(self, text: str, lowered: str | None, start: int, end: int) -> tuple[int, int] | None:
        """The head text[start:end] widened to its nearest context phrase, or None.

        lowered: text.lower() when its offsets are the text's (scan.lowercase_stands_in).
        """
        reach = self.within * _CHARS_PER_WORD
        wide = (max(0, start - reach), min(len(text), end + reach))
        if lowered is not None and self.lowered is not None:
            # Most heads have no context phrase anywhere near: one search says so.
            if self.lowered.search(lowered, *wide) is None:
                return None
            low, high = _window(text, start, end, self.within)
            found = [
                (m.start(), m.end())
                for m in self.lowered.finditer(lowered, low, high)
                if not (m.start() and _is_word(lowered[m.start() - 1]))
            ]
        else:
            low, high = _window(text, start, end, self.within)
            found = [m.span() for m in self.pattern.finditer(text, low, high)]
        best: tuple[int, int] | None = None
        for found_start, found_end in found:
            if found_start < end and found_end > start:
                continue  # the head itself ("mother's mental health" holds "mother")
            if found_end <= start:
                distance, reach_to = start - found_end, found_start
            else:
                distance, reach_to = found_start - end, found_end
            if best is None or distance < best[0]:
                best = (distance, reach_to)
        if best is None:
            return None
        return (min(start, best[1]), max(end, best[1]))


def _is_word(character: str) -> bool:
    return character.isalnum() or character == "_"


def _window(text: str, start: int, end: int, words: int) -> tuple[int, int]:
    """From ``words`` words before start to ``words`` after end, within the sentence."""
    reach = words * _CHARS_PER_WORD
    low = max(0, start - reach)
    for boundary in _SENTENCE_END.finditer(text, low, start):
        low = boundary.end()
    # A word cut at low can't match: the phrases look behind low, at the text itself.
    starts = [found.start() for found in _WORD.finditer(text, low, start)]
    if len(starts) > words:
        low = starts[-words]
    stop = _SENTENCE_END.search(text, end, min(len(text), end + reach))
    limit = stop.start() if stop is not None else len(text)
    high = end
    for count, found in enumerate(_WORD.finditer(text, end, limit)):
        if count == words:
            break
        high = found.end()
    return low, high
