"""A search query read once, widened with the taxonomy's words, and written for each database.

What a visitor types is read the way web search engines read it (and PostgreSQL's
``websearch_to_tsquery``): words and "quoted phrases" all required, ``or`` between two of them
for either, a leading minus to exclude. Nothing typed is ever passed on as query syntax: only
``\\w+`` words reach the database, inside syntax written here.

Words that name a theme or an agency in the taxonomy's own terms (its labels, phrases,
abbreviations and variants: "DV", "domestic violence", "safe sleep", "CSE", "HV") are
widened to all of that term's words, so "DV" finds a brief that says "domestic abuse". The
longest run of words that is a phrase wins ("domestic violence" before "violence"); quoted
phrases and excluded words are searched as written. Abbreviations, case-sensitive when the
tagger reads a brief, are recognised here whatever the case ("dv"): a query is short and
typed in a hurry.
"""

from __future__ import annotations

import functools
import itertools
import re
from dataclasses import dataclass, field

from service.tagging.phrases import OPTIONAL_PART, phrase_regex
from service.taxonomy import Facet, Taxonomy, Term

# Words, "quoted phrases", a leading minus to exclude, and "or".
_TOKENS = re.compile(r'(-?)"([^"]*)"|(-?)([\w]+)', re.UNICODE)
_WORD = re.compile(r"\w+", re.UNICODE)
WIDENED: tuple[Facet, ...] = ("themes", "agencies")
LONGEST = 6  # words in the longest phrase looked for in a query
MAX_WORDS = 64  # words read at most: the rest of a very long query is never looked at
MAX_PARTS = 32  # words searched for at most
# Small words are not required (PostgreSQL's english configuration drops them; FTS5 would
# demand each): "the baby" finds a brief about a baby. Inside "quotes", or as part of a
# taxonomy phrase ("voice of the child"), they stay.
STOP_WORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "been",
        "by",
        "for",
        "from",
        "had",
        "has",
        "have",
        "how",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "that",
        "the",
        "their",
        "them",
        "there",
        "these",
        "they",
        "this",
        "to",
        "was",
        "were",
        "what",
        "when",
        "where",
        "which",
        "who",
        "why",
        "will",
        "with",
    ]
)


@dataclass(frozen=True)
class Words:
    """One searchable phrase: its words in order, the last a prefix when ``prefix``."""

    words: tuple[str, ...]
    prefix: bool = False


@dataclass
class Part:
    """A word or phrase the results must have (or, when ``exclude``, must not have): any of
    ``alternatives``; ``either`` joins it to the part before with "or"."""

    typed: str
    alternatives: list[Words]
    exclude: bool = False
    either: bool = False
    meaning: Term | None = None


@dataclass
class Query:
    parts: list[Part] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not any(not p.exclude for p in self.parts)

    def widened(self) -> list[tuple[str, Term]]:
        """What was widened: (as typed, the term it was read as), each term once."""
        seen: set[str] = set()
        out = []
        for part in self.parts:
            if part.meaning and part.meaning.code not in seen:
                seen.add(part.meaning.code)
                out.append((part.typed, part.meaning))
        return out

    def fts5(self) -> str | None:
        """An FTS5 MATCH expression: every phrase quoted."""
        include: list[str] = []
        exclude: list[str] = []
        for part in self.parts:
            terms = [_fts5_phrase(w) for w in part.alternatives]
            term = terms[0] if len(terms) == 1 else "(" + " OR ".join(terms) + ")"
            if part.exclude:
                exclude.append(term)
            elif part.either and include:
                include[-1] = f"({include[-1]} OR {term})"
            else:
                include.append(term)
        if not include:
            return None
        return " AND ".join(include) + "".join(f" NOT {term}" for term in exclude)

    def tsquery(self) -> str | None:
        """A ``to_tsquery`` expression (lexemes are \\w+ words, so nothing needs quoting)."""
        include: list[str] = []
        exclude: list[str] = []
        for part in self.parts:
            term = "(" + " | ".join(_ts_phrase(w) for w in part.alternatives) + ")"
            if part.exclude:
                exclude.append(term)
            elif part.either and include:
                include[-1] = f"({include[-1]} | {term})"
            else:
                include.append(term)
        if not include:
            return None
        return " & ".join(include) + "".join(f" & !{term}" for term in exclude)


def read(q: str, taxonomy: Taxonomy) -> Query:
    """The query as typed, with the taxonomy's words where it names a theme or agency.
    Read once per query and taxonomy (a page reads it for the results, the counts and the
    "Showing results for" line); the Query is not changed after."""
    return _read(q, taxonomy)


@functools.lru_cache(maxsize=256)
def _read(q: str, taxonomy: Taxonomy) -> Query:
    query = Query()
    plain: list[str] = []  # unquoted, included words waiting to be read as phrases
    either = False

    def flush() -> None:
        nonlocal either
        if plain:
            query.parts.extend(_recognise(plain, _vocabulary(taxonomy), either))
            plain.clear()
            either = False

    for match in itertools.islice(_TOKENS.finditer(q), MAX_WORDS):
        minus, phrase, word_minus, word = match.groups()
        text = phrase if phrase is not None else word
        words = tuple(w.lower() for w in _WORD.findall(text or ""))
        if not words:
            continue
        if phrase is None and word.lower() == "or":
            if plain or query.parts:  # between two parts; at the start it joins nothing
                flush()
                either = True
            continue
        if phrase is None and word_minus and word.lower() in STOP_WORDS:
            continue  # excluding a small word would exclude nearly everything
        if phrase is None and not word_minus:
            plain.append(word)
            continue
        flush()
        query.parts.append(
            Part(text or "", [Words(words)], exclude=bool(minus or word_minus), either=either)
        )
        either = False
    flush()
    del query.parts[MAX_PARTS:]
    return query


def _recognise(words: list[str], vocabulary: _Vocabulary, either: bool) -> list[Part]:
    """Parts for a run of plain words: the longest phrases of the taxonomy first."""
    parts: list[Part] = []
    i = 0
    while i < len(words):
        for n in range(min(LONGEST, len(words) - i), 0, -1):
            typed = " ".join(words[i : i + n])
            term = vocabulary.term_of(typed)
            if term is not None:
                break
        else:
            n, typed, term = 1, words[i], None
        own = Words(tuple(w.lower() for w in words[i : i + n]))
        i += n
        if term is None and own.words[0] in STOP_WORDS:
            continue  # a small word on its own: not required
        alternatives = [own] + [w for w in vocabulary.words_of(term) if w != own] if term else [own]
        parts.append(Part(typed, alternatives, either=either and not parts, meaning=term))
    return parts


class _Vocabulary:
    """Every theme's and agency's phrases, to recognise in a query and to search for."""

    def __init__(self, taxonomy: Taxonomy) -> None:
        self._patterns: list[tuple[re.Pattern[str], Term]] = []
        self._words: dict[str, list[Words]] = {}
        for facet in WIDENED:
            for term in taxonomy.terms(facet):
                sources = [p for p in term.phrases if not p.startswith("!")]
                for source in sources:
                    self._patterns.append((re.compile(phrase_regex(source), re.IGNORECASE), term))
                label = Words(tuple(w.lower() for w in _WORD.findall(term.label)))
                found = [label] + [w for s in sources for w in _searchable(s)]
                self._words[term.code] = list(dict.fromkeys(found))
        # The most specific phrase first: "domestic violence" is tried before "violence".
        self._patterns.sort(key=lambda item: -len(item[0].pattern))

    def term_of(self, typed: str) -> Term | None:
        for pattern, term in self._patterns:
            if pattern.fullmatch(typed):
                return term
        return None

    def words_of(self, term: Term) -> list[Words]:
        return self._words[term.code]


@functools.lru_cache(maxsize=4)
def _vocabulary(taxonomy: Taxonomy) -> _Vocabulary:
    return _Vocabulary(taxonomy)


def _searchable(source: str) -> list[Words]:
    """The phrases a taxonomy phrase stands for, as words: "[x]" with and without it, a "*"
    at the end of the last word a prefix (elsewhere dropped: stemming finds the forms)."""
    tokens = source.split(" ")
    choices: list[list[str]] = []
    for token in tokens:
        optional = OPTIONAL_PART.fullmatch(token)
        choices.append([token[1:-1], ""] if optional else [token])
    out = []
    for picked in itertools.product(*choices):
        text = " ".join(t for t in picked if t)
        prefix = text.endswith("*")
        # Inside a word, "[r]" is optional letters: "safe[r]" is "safe" and "safer".
        for variant in _inner_optionals(text.replace("*", "")):
            words = tuple(w.lower() for w in _WORD.findall(variant))
            if words:
                out.append(Words(words, prefix))
    return out


def _inner_optionals(text: str) -> list[str]:
    found = OPTIONAL_PART.search(text)
    if not found:
        return [text]
    head, tail = text[: found.start()], text[found.end() :]
    return [
        v for rest in _inner_optionals(tail) for v in (head + found.group(1) + rest, head + rest)
    ]


def _fts5_phrase(words: Words) -> str:
    return '"' + " ".join(words.words) + '"' + ("*" if words.prefix else "")


def _ts_phrase(words: Words) -> str:
    text = " <-> ".join(words.words)
    return text + (":*" if words.prefix else "")
