"""Find in one pass the words at which some phrase may match, so that only those are tried.

Trying the phrases at every word costs a Python step per word. Instead one loose pattern of how
every phrase begins runs over the lowercased text, written as a letter tree so that the regex
engine rules out most words at a test or two (with case ignored it could not skip branches by
their first letter). It finds every word where a phrase matches, and some where none does,
which the exact phrase patterns then reject.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from service.tagging.phrases import OPTIONAL_PART, start_atoms

# Ignoring case, "ı" matches "i" and "ſ" matches "s", but both lowercase to themselves, so the
# lowercased text would hide those matches from the loose pattern.
_FOLDS_NOT_LOWERED = ("\u0131", "\u017f")

_Tree = dict[str, "_Tree"]
# The key that marks the end of a path.
_END = ""


class StartFinder:
    """The offsets at which any of the phrases may match: a superset of the real ones."""

    def __init__(self, sources: Iterable[str]) -> None:
        lowered = {source.removeprefix("!").lower() for source in sources}
        # The reasoning above holds for ASCII phrases; others take the exact, slower way.
        self._usable = all(source.isascii() for source in lowered)
        tree: _Tree = {}
        for source in lowered:
            for variant in _variants(source):
                _add(tree, start_atoms(variant))
        # Any character but a lowercase ASCII word character may come before a word: a wider
        # net than \W (the caller checks the word start), and a much cheaper test.
        self._pattern = re.compile(f"[^a-z0-9_](?={_regex(tree)})")

    def starts(self, text: str, lowered: str) -> list[int] | None:
        """Candidate offsets, or None when the lowercased text cannot stand in for the text."""
        # "İ" lowercases to two characters, which would shift every later offset.
        if not self._usable or len(lowered) != len(text):
            return None
        if any(ch in text for ch in _FOLDS_NOT_LOWERED):
            return None
        # The leading space stands for the start of the text: each match is the character
        # before a candidate, at the candidate's offset in the unpadded text.
        return [match.start() for match in self._pattern.finditer(" " + lowered)]


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
