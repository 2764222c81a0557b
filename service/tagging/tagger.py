"""The rule-based tagger: taxonomy phrases found in the text, minus negated and blocked mentions."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from service.tagging.models import TagSuggestions
from service.tagging.negation import is_negated
from service.tagging.phrases import KEY_LENGTH, Phrase, alternation
from service.taxonomy import FACETS, Facet, Taxonomy

MAX_EVIDENCE = 5
_WORD = re.compile(r"\w+")
# Distinct words remembered with their candidate patterns; prose reuses a few thousand words.
_CACHE_SIZE = 50_000


@dataclass(frozen=True)
class _Match:
    start: int
    end: int
    phrase: Phrase


@dataclass(frozen=True)
class _Candidate:
    """The phrases of one facet that start with one key, as a single pattern."""

    facet: Facet
    pattern: re.Pattern[str]
    phrases: tuple[Phrase, ...]


class _PhraseIndex:
    """Every phrase of every facet, indexed by the first letters of the word it starts with.

    One alternation of all phrases would be simplest, but Python's regex engine then tries
    hundreds of branches at every character. Here each distinct word is looked up once, and
    only the phrases that can start with that word are tried, as one pattern per facet.
    """

    def __init__(self, phrases: dict[Facet, list[Phrase]]) -> None:
        self._index: dict[str, list[tuple[Facet, Phrase]]] = defaultdict(list)
        for facet, facet_phrases in phrases.items():
            for phrase in facet_phrases:
                for key in phrase.index_keys():
                    self._index[key].append((facet, phrase))
        self._cache: dict[str, list[_Candidate]] = {}
        self._patterns: dict[tuple[Facet, frozenset[Phrase]], _Candidate] = {}

    def matches(self, text: str) -> dict[Facet, list[_Match]]:
        """Per facet, the unblocked matches; of overlapping ones the longest (then first) wins."""
        found: dict[Facet, list[_Match]] = {facet: [] for facet in FACETS}
        cache, at = self._cache, 0
        for word in _WORD.findall(text):
            # Words come in order with only non-word characters between them, so the next
            # occurrence from the end of the previous word is this word.
            at = text.find(word, at)
            candidates = cache.get(word)
            if candidates is None:
                candidates = self._candidates(word)
            for candidate in candidates:
                hit = candidate.pattern.match(text, at)
                if hit is not None and hit.lastindex is not None:
                    phrase = candidate.phrases[hit.lastindex - 1]
                    found[candidate.facet].append(_Match(hit.start(), hit.end(), phrase))
            at += len(word)
        return {facet: _longest(matches) for facet, matches in found.items()}

    def _candidates(self, word: str) -> list[_Candidate]:
        """The patterns that may match at this word, remembered per distinct word."""
        if len(self._cache) >= _CACHE_SIZE:
            self._cache.clear()
        lowered = word.lower()
        by_facet: dict[Facet, set[Phrase]] = defaultdict(set)
        for length in range(1, KEY_LENGTH + 1):
            for facet, phrase in self._index.get(lowered[:length], ()):
                if phrase.starts_with(lowered):
                    by_facet[facet].add(phrase)
        candidates = [self._pattern(facet, frozenset(group)) for facet, group in by_facet.items()]
        self._cache[word] = candidates
        return candidates

    def _pattern(self, facet: Facet, phrases: frozenset[Phrase]) -> _Candidate:
        candidate = self._patterns.get((facet, phrases))
        if candidate is None:
            candidate = _Candidate(facet, *alternation(list(phrases)))
            self._patterns[facet, phrases] = candidate
        return candidate


def _longest(found: list[_Match]) -> list[_Match]:
    found.sort(key=lambda m: (m.start, m.start - m.end))
    kept: list[_Match] = []
    for match in found:
        last = kept[-1] if kept else None
        # A match on exactly the same span (another phrase text) is kept beside the first.
        same_span = last is not None and (match.start, match.end) == (last.start, last.end)
        if last is None or match.start >= last.end or same_span:
            kept.append(match)
    return [m for m in kept if not m.phrase.blocker]


def _facet_phrases(taxonomy: Taxonomy, facet: Facet) -> list[Phrase]:
    """One Phrase per distinct phrase text, carrying every code that lists it."""
    codes: dict[str, list[str]] = defaultdict(list)
    for term in taxonomy.terms(facet):
        for source in term.phrases:
            if source.startswith("!"):
                codes.setdefault(source, [])
            else:
                codes[source].append(term.code)
    return [Phrase(s, tuple(c), blocker=s.startswith("!")) for s, c in codes.items()]


class Tagger:
    """Suggests taxonomy codes for a text, each with the spans that support it."""

    def __init__(self, taxonomy: Taxonomy) -> None:
        self._taxonomy = taxonomy
        self._negatable = {(f, t.code) for f in FACETS for t in taxonomy.terms(f) if t.negatable}
        self._index = _PhraseIndex({f: _facet_phrases(taxonomy, f) for f in FACETS})

    def tag(self, text: str) -> TagSuggestions:
        """Tags sorted by code; evidence sorted by offset, at most MAX_EVIDENCE per tag."""
        matches = self._index.matches(text)
        found = {facet: self._tag_facet(facet, text, matches[facet]) for facet in FACETS}
        # One validation of the whole result is much cheaper than building each model.
        return TagSuggestions.model_validate(found)

    def _tag_facet(self, facet: Facet, text: str, matches: list[_Match]) -> list[dict[str, Any]]:
        evidence: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for match in matches:
            codes = [c for c in match.phrase.codes if len(evidence[c]) < MAX_EVIDENCE]
            if any((facet, c) in self._negatable for c in codes) and is_negated(
                text, match.start, match.end
            ):
                codes = [c for c in codes if (facet, c) not in self._negatable]
            span = {"text": text[match.start : match.end], "start": match.start, "end": match.end}
            for code in codes:
                evidence[code].append(span)
        label = self._taxonomy.get
        return [
            {"code": code, "label": label(facet, code).label, "evidence": spans}
            for code, spans in sorted(evidence.items())
            if spans
        ]
