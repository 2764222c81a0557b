"""Find in one pass the words at which some phrase may match, so that only those are tried.

Trying the phrases at every word costs a Python step per word. Instead one loose pattern of how
every phrase begins runs over the lowercased text, written as a letter tree so that the regex
engine rules out most words at a test or two (with case ignored it could not skip branches by
their first letter). It finds every word where a phrase matches, and some where none does,
which the exact phrase patterns then reject.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from service.tagging.phrases import OPTIONAL_PART, start_atoms

# Ignoring case, dotless i (U+0131) matches "i" and long s (U+017F) matches "s", but both
# lowercase to themselves, so the lowercased text would hide those matches.
_FOLDS_NOT_LOWERED = ("\u0131", "\u017f")

_Tree = dict[str, "_Tree"]
# The key that marks the end of a path.
_END = ""
# The last atom of a one-word path: start_atoms ends a one-word phrase the same way.
_WORD_END = r"(?!\w)"


def lowercase_stands_in(text: str, lowered: str) -> bool:
    """Whether a case-blind ASCII pattern finds the same places in lowered as in text."""
    # "İ" lowercases to two characters, which would shift every later offset.
    return len(lowered) == len(text) and not any(ch in text for ch in _FOLDS_NOT_LOWERED)


class StartFinder:
    """Where any of the phrases may match, and where given (lowercase) words stand whole.

    The words come at little cost in the same pass (the negation cue words, for one): each is
    one more path of the tree, so each offset of one is a candidate (only a wider net).
    """

    def __init__(self, sources: Iterable[str], marked_words: Iterable[str]) -> None:
        lowered = {source.removeprefix("!").lower() for source in sources}
        # The reasoning above holds for ASCII phrases; others take the exact, slower way.
        self._usable = all(source.isascii() for source in lowered)
        tree: _Tree = {}
        for source in lowered:
            for variant in _variants(source):
                _add(tree, start_atoms(variant))
        self.marked_words = frozenset(marked_words)
        for word in self.marked_words:
            _add(tree, (*map(re.escape, word), _WORD_END))
        # Any character but a lowercase ASCII word character may come before a word: a wider
        # net than \W (the caller checks the word start), and a much cheaper test. The word
        # itself is taken too, as no phrase starts inside it (each begins with (?<!\w)); a
        # phrase is only tried where a word starts, so a place without one is no candidate.
        self._pattern = re.compile(f"[^a-z0-9_](?={_regex(tree)})(\\w+)")

    def scan(self, text: str, lowered: str) -> Iterator[re.Match[str]] | None:
        """The candidates, or None when the lowercased text cannot stand in for text.

        Each match starts at a candidate's offset in text, and its group is the \\w+ word
        there, lowercased: lowercasing keeps each character a word character or not, so it
        spans the same characters as in text. A marked word is one of marked_words where
        starts_word holds.
        """
        if not self._usable or not lowercase_stands_in(text, lowered):
            return None
        # The leading space stands for the start of the text: each match begins with the
        # character before a candidate, at the candidate's offset in the unpadded text.
        return self._pattern.finditer(" " + lowered)


def starts_word(lowered: str, at: int) -> bool:
    """Whether a word starts at the offset of a candidate found by StartFinder.scan."""
    # The character before it is none of [a-z0-9_], but may be a letter or digit beyond ASCII.
    return at == 0 or not lowered[at - 1].isalnum()


def _add(tree: _Tree, atoms: tuple[str, ...]) -> None:
    """Add one path to the tree; where a path ends, any text may follow, so longer ones go."""
    node = tree
    for atom in atoms:
        if _END in node:
            return
        node = node.setdefault(atom, {})
    node.clear()
    node[_END] = {}


def _regex(tree: _Tree) -> str:
    """The tree as nested alternatives; a chain of single children becomes one plain run."""
    if _END in tree:
        return ""
    branches = []
    for atom, child in sorted(tree.items()):
        path = [atom]
        while len(child) == 1 and _END not in child:
            [(atom, child)] = child.items()
            path.append(atom)
        rest = _regex(child)
        branches.append("".join(path) + (f"(?:{rest})" if rest else ""))
    return "|".join(branches)


def _variants(source: str) -> list[str]:
    """The phrase with and without each leading optional word, which begin differently."""
    tokens = source.split(" ")
    if len(tokens) > 1 and OPTIONAL_PART.fullmatch(tokens[0]):
        rest = " ".join(tokens[1:])
        return [" ".join([tokens[0][1:-1], *tokens[1:]]), *_variants(rest)]
    return [source]
