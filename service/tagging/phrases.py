"""Compile taxonomy phrases (the syntax documented in taxonomy.yaml) into regular expressions."""

from __future__ import annotations

import re
from dataclasses import dataclass

# A space between words: any run of whitespace (hard-wrapped PDF text) or a dash with or
# without spaces round it ("non-engagement", "co- located").
_SPACE = r"(?:\s*[-‐‑–—]\s*|\s+)"
# A hyphen inside a word may be written as a dash, a space or nothing ("co-sleeping", "cosleeping").
_HYPHEN = r"(?:\s*[-‐‑–—]\s*|\s+)?"
_APOSTROPHE = "['’‘`]?"
_SUFFIX = r"(?:['’]s|s['’]?|es)?"
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
        return len(re.sub(r"\[[^\]]*\]|[^\w]", "", self.source))


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
    return "".join(_APOSTROPHE if ch in "'’" else re.escape(ch) for ch in text)
