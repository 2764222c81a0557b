"""Compile taxonomy phrases (the syntax documented in taxonomy.yaml) into regular expressions."""

from __future__ import annotations

import functools
import itertools
import re
from dataclasses import dataclass

# Optional parts are written "(?:x|)", not "(?:x)?": the same matches, tried in the same
# order, but Python's regex engine runs a branch several times faster than a repeat.

# A hyphen or dash. Python's re compiles a [class] of three or more separate runs holding a
# character beyond Latin-1 into a 64K-entry table, a quarter of a millisecond each time it
# appears (and a pattern of a few phrases holds dozens). So the class is split in two, each a
# run or two; "(?-i:...)" only keeps the parser from merging them back (no dash has a case).
_DASH = r"(?:-|(?-i:[\u2010\u2011\u2013\u2014]))"
# A space between words: any run of whitespace (hard-wrapped PDF text) or a dash with or
# without spaces round it ("non-engagement", "co- located").
_SPACE = rf"(?:\s*{_DASH}\s*|\s+)"
# A hyphen inside a word may be written as a dash, a space or nothing ("co-sleeping", "cosleeping").
_HYPHEN = rf"(?:\s*{_DASH}\s*|\s+|)"
# An optional ' ` \u2018 or \u2019, split like _DASH.
_APOSTROPHE = r"(?:['`]|(?-i:[\u2018\u2019])|)"
_SUFFIX = r"(?:['\u2019]s|s['\u2019]?|es|)"
OPTIONAL_PART = re.compile(r"\[([^\]]+)\]")
_PLAIN = re.compile(r"[a-z0-9]*")
_PLAIN_WORD = re.compile(r"[A-Za-z0-9]+")
# For start_atoms: patterns that match all that the ones above match (and more). The dashes
# are one range, which takes in U+2012 too but compiles far faster (see _DASH).
_LOOSE = {
    _SUFFIX: r"[se'\u2019]{0,2}",
    _HYPHEN: r"[\s\-\u2010-\u2014]*",
    _SPACE: r"[\s\-\u2010-\u2014]+",
}


@dataclass(frozen=True)
class Phrase:
    """One phrase of a facet, with every code it suggests (or none for a blocker)."""

    source: str
    codes: tuple[str, ...]
    blocker: bool

    @property
    def case_sensitive(self) -> bool:
        return any(ch.isupper() for ch in self.source)

    @property
    def specificity(self) -> int:
        """Letters that must match; longer phrases are tried first so the longest wins."""
        return len(re.sub(r"\[[^\]]*\]|\W", "", self.source))

    def index_keys(self) -> set[str]:
        """Lowercase prefixes (up to KEY_LENGTH) of the words at which this phrase can start."""
        return {_key(token) for token in self._start_tokens()}

    def starts_with(self, word: str) -> bool:
        """Whether a phrase match could begin with this (lowercased) \\w+ word of the text."""
        return any(test.fullmatch(word) for test in self._word_tests)

    @functools.cached_property
    def _word_tests(self) -> list[re.Pattern[str]]:
        return [_word_test(token) for token in self._start_tokens()]

    def _start_tokens(self) -> list[str]:
        tokens = self.source.removeprefix("!").split(" ")
        if OPTIONAL_PART.fullmatch(tokens[0]) and len(tokens) > 1:
            return [tokens[0][1:-1], tokens[1]]
        return [tokens[0]]


KEY_LENGTH = 4


def _key(token: str) -> str:
    """The literal letters a word must start with: up to the first optional part or symbol."""
    literal = re.match(r"\w*", token.replace("_", ""))
    return (literal.group() if literal else "").lower()[:KEY_LENGTH]


def _word_test(token: str) -> re.Pattern[str]:
    """What the first \\w+ word of a match looks like: the token up to its first symbol."""
    head = re.match(r"(?:\w|\[[^\]]*\])*", token)
    chunk = head.group() if head else ""
    rest = token[len(chunk) :]
    body = _chunk_regex(chunk.lower())
    if rest.startswith(("*", "-")):
        return re.compile(body + r"\w*")
    if chunk.endswith("y"):
        body = body[:-1] + "(?:y|ie)"
    return re.compile(body + "(?:s|es)?")


def alternation(phrases: list[Phrase]) -> tuple[re.Pattern[str], tuple[Phrase, ...]]:
    """One pattern trying the phrases longest first, and the phrases in that order.

    The phrase that matched is ordered[match.lastindex - 1]: each phrase is one capturing group.
    Neighbours that start with the same word and a space share that start ("health visitor",
    "health staff"): tried once, not once per phrase. Where a letter follows, that word and
    space can match in only one way, so the first phrase to match is still the same.
    """
    ordered = tuple(sorted(phrases, key=lambda p: (-p.specificity, p.source)))
    branches = []
    for (cs, head), run in itertools.groupby(ordered, key=_shared_head):
        group = list(run)
        if head is None or len(group) == 1:
            branches += [_ignoring_case(f"({phrase_regex(p.source)})", cs) for p in group]
            continue
        tails = "|".join(f"({phrase_regex(p.source).removeprefix(head)})" for p in group)
        branches.append(_ignoring_case(f"{head}(?:{tails})", cs))
    return re.compile("|".join(branches)), ordered


def _ignoring_case(regex: str, case_sensitive: bool) -> str:
    return regex if case_sensitive else f"(?i:{regex})"


def _shared_head(phrase: Phrase) -> tuple[bool, str | None]:
    """The start that phrases may share: a plain first word and the space, before a letter."""
    tokens = phrase.source.removeprefix("!").split(" ")
    if len(tokens) < 2 or not _PLAIN_WORD.fullmatch(tokens[0]) or not tokens[1][:1].isalnum():
        return phrase.case_sensitive, None
    head = r"(?<!\w)" + _word_regex(tokens[0]) + _SPACE
    shared = phrase_regex(phrase.source).startswith(head)
    return phrase.case_sensitive, head if shared else None


def phrase_regex(phrase: str) -> str:
    """The regular expression for one phrase (without its leading "!")."""
    tokens = phrase.removeprefix("!").split(" ")
    pieces: list[str] = []
    need_space = False
    for index, token in enumerate(tokens):
        optional = OPTIONAL_PART.fullmatch(token) is not None
        core = _word_regex(token[1:-1] if optional else token)
        space = _SPACE if need_space else ""
        if optional and index == 0:
            pieces.append(f"(?:{core}{_SPACE}|)")
            need_space = False
            continue
        pieces.append(f"(?:{space}{core}|)" if optional else space + core)
        need_space = True
    return r"(?<!\w)" + "".join(pieces) + r"(?!\w)"


def start_atoms(phrase: str) -> tuple[str, ...]:
    """How every match of a lowercase phrase begins, as regex pieces for a letter tree.

    Its first word (which must not be an [optional] word), then for a longer phrase a space
    and up to three letters of the second word: enough to rule out most places. Endings and
    spaces are written as single-character repeats, which the regex engine tries far faster.
    """
    tokens = phrase.removeprefix("!").split(" ")
    atoms = [_LOOSE.get(atom, atom) for atom in _word_atoms(tokens[0])]
    if len(tokens) == 1:
        return (*atoms, r"(?!\w)")
    if OPTIONAL_PART.fullmatch(tokens[1]):
        # The optional word may be the last one, and then no space need follow.
        return tuple(atoms)
    second = _plain_start(tokens[1])[:3]
    return (*atoms, _LOOSE[_SPACE], *(re.escape(ch) for ch in second))


def _plain_start(word: str) -> str:
    """The letters a word always starts with: up to a variable part or a final "y" (-> "ies")."""
    plain = _PLAIN.match(word)
    letters = plain.group() if plain else ""
    return letters.removesuffix("y") if letters == word else letters


def _word_regex(word: str) -> str:
    """One word: literal characters, [optional] parts, a trailing "*" or automatic endings."""
    return "".join(_word_atoms(word))


def _word_atoms(word: str) -> list[str]:
    """The regex of one word, one piece per literal character, then its ending."""
    prefix = word.endswith("*")
    word = word.removesuffix("*")
    atoms: list[str] = []
    for index, chunk in enumerate(word.split("-")):
        if index:
            atoms.append(_HYPHEN)
        atoms += _chunk_atoms(chunk)
    if prefix:
        return [*atoms, r"\w*"]
    if word[-1:] == "y" and len(word) > 2 and not word.endswith("]"):
        atoms[-1] = "(?:y|ies)"
    return [*atoms, _SUFFIX]


def _chunk_regex(chunk: str) -> str:
    return "".join(_chunk_atoms(chunk))


def _chunk_atoms(chunk: str) -> list[str]:
    """A chunk of a word (between hyphens): one piece per literal character or [optional] part."""
    atoms: list[str] = []
    for piece in re.split(r"(\[[^\]]+\])", chunk):
        if piece.startswith("["):
            atoms.append(f"(?:{_literal(piece[1:-1])}|)")
        else:
            atoms.extend(_literal(ch) for ch in piece)
    return atoms


def _literal(text: str) -> str:
    return "".join(_APOSTROPHE if ch in "'\u2019" else re.escape(ch) for ch in text)
