"""Compile taxonomy phrases (the syntax documented in taxonomy.yaml) into regular expressions."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

# A space between words: any run of whitespace (hard-wrapped PDF text) or a dash with or
# without spaces round it ("non-engagement", "co- located").
_SPACE = r"(?:\s*[-\u2010\u2011\u2013\u2014]\s*|\s+)"
# A hyphen inside a word may be written as a dash, a space or nothing ("co-sleeping", "cosleeping").
_HYPHEN = r"(?:\s*[-\u2010\u2011\u2013\u2014]\s*|\s+)?"
_APOSTROPHE = "['\u2019\u2018`]?"
_SUFFIX = r"(?:['\u2019]s|s['\u2019]?|es)?"
_OPTIONAL_PART = re.compile(r"\[([^\]]+)\]")


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
        if _OPTIONAL_PART.fullmatch(tokens[0]) and len(tokens) > 1:
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
    """
    ordered = tuple(sorted(phrases, key=lambda p: (-p.specificity, p.source)))
    branches = [
        f"({phrase_regex(p.source)})" if p.case_sensitive else f"((?i:{phrase_regex(p.source)}))"
        for p in ordered
    ]
    return re.compile("|".join(branches)), ordered


def phrase_regex(phrase: str) -> str:
    """The regular expression for one phrase (without its leading "!")."""
    tokens = phrase.removeprefix("!").split(" ")
    pieces: list[str] = []
    need_space = False
    for index, token in enumerate(tokens):
        optional = _OPTIONAL_PART.fullmatch(token) is not None
        core = _word_regex(token[1:-1] if optional else token)
        space = _SPACE if need_space else ""
        if optional and index == 0:
            pieces.append(f"(?:{core}{_SPACE})?")
            need_space = False
            continue
        pieces.append(f"(?:{space}{core})?" if optional else space + core)
        need_space = True
    return r"(?<!\w)" + "".join(pieces) + r"(?!\w)"


def _word_regex(word: str) -> str:
    """One word: literal characters, [optional] parts, a trailing "*" or automatic endings."""
    prefix = word.endswith("*")
    word = word.removesuffix("*")
    chunks = [_chunk_regex(chunk) for chunk in word.split("-")]
    body = _HYPHEN.join(chunks)
    if prefix:
        return body + r"\w*"
    if word[-1:] == "y" and len(word) > 2 and not word.endswith("]"):
        body = body[: -len(re.escape("y"))] + "(?:y|ies)"
    return body + _SUFFIX


def _chunk_regex(chunk: str) -> str:
    out = []
    for piece in re.split(r"(\[[^\]]+\])", chunk):
        if piece.startswith("["):
            out.append(f"(?:{_literal(piece[1:-1])})?")
        elif piece:
            out.append(_literal(piece))
    return "".join(out)


def _literal(text: str) -> str:
    return "".join(_APOSTROPHE if ch in "'\u2019" else re.escape(ch) for ch in text)
