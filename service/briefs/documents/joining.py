"""Joining a line to the next: words hyphenated across lines are rejoined, compounds kept."""

from __future__ import annotations

import re
from collections.abc import Iterable

WORD = re.compile(r"[A-Za-z][A-Za-z'\u2019]*(?:-[A-Za-z]+)*")
HYPHENS = "-\u2010\u00ad"
# Left halves that make compounds rather than hyphenation points (multi-agency, non-mobile).
PREFIXES = frozenset(
    " ".join(
        (
            "multi non self co pre post cross well long short full part half inter anti sub",
            "semi ex over under face one two three four five six seven eight nine ten first",
            "second third high low out day night step foster follow after sofa bed drug age",
            "child young school home",
        )
    ).split()
)
TERMINAL = '.!?:;")]\u201d\u2019'


class Vocabulary:
    """The words a document uses whole, and the compounds it spells with a hyphen, from
    the inside of its lines (a line's last word may be cut)."""

    def __init__(self, lines: Iterable[str]) -> None:
        self.words: set[str] = set()
        self.compounds: set[str] = set()
        for line in lines:
            for word in WORD.findall(line)[:-1]:
                lowered = word.lower()
                (self.compounds if "-" in lowered else self.words).add(lowered)
                self.words.update(lowered.split("-"))

    def hyphenated(self, left: str, right: str) -> bool:
        """Whether ``left-`` at a line's end and ``right`` on the next spell a compound."""
        whole, compound = (left + right).lower(), f"{left}-{right}".lower()
        if compound in self.compounds:
            return True
        if whole in self.words:
            return False
        return left.lower() in PREFIXES


def join(head: str, tail: str, vocabulary: Vocabulary) -> str:
    """``head`` and the next line ``tail`` as one run of text."""
    tail = tail.lstrip()
    if not head:
        return tail
    if head[-1] == "\u00ad":  # a soft hyphen is only ever a hyphenation point
        return head[:-1] + tail
    if head[-1] in HYPHENS and len(head) > 1 and head[-2].isalpha():
        left = re.search(r"[A-Za-z]+$", head[:-1])
        right = re.match(r"[a-z]+", tail)
        if left and right:
            keep = vocabulary.hyphenated(left.group(0), right.group(0))
            return head[:-1] + ("-" if keep else "") + tail
        if tail[:1].isupper() or tail[:1].isdigit():
            return head[:-1] + "-" + tail  # COVID-19, Anglo-Saxon
    return f"{head} {tail}"


def ends_sentence(text: str) -> bool:
    return text.rstrip()[-1:] in TERMINAL
