"""The rule-based tagger: taxonomy phrases found in the text, minus negated and blocked mentions."""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any, NamedTuple

from service.tagging.models import TagSuggestions
from service.tagging.negation import CUE_WORDS, Negations
from service.tagging.phrases import KEY_LENGTH, Phrase, alternation
from service.tagging.scan import StartFinder, starts_word
from service.taxonomy import FACETS, Facet, Taxonomy

MAX_EVIDENCE = 5
# Without a scan (see StartFinder.scan) every word is tried, as the group of its match.
_EVERY_WORD = re.compile(r"(\w+)")
# Distinct words remembered with their candidate patterns; prose reuses a few thousand words.
_CACHE_SIZE = 50_000

_Codes = tuple[str, ...]
# A phrase found: start, end and the codes it suggests.
_Match = tuple[int, int, _Codes]


class _Candidate(NamedTuple):
    """The phrases of one facet that start with one word, as a single pattern."""

    facet: Facet
    pattern: re.Pattern[str]
    codes: tuple[_Codes, ...]
    """The codes of the phrase that each group of the pattern stands for; none for a blocker."""


class _Found(NamedTuple):
    """What _PhraseIndex.find finds in a text."""

    matches: dict[Facet, list[_Match]]
    """Per facet, the unblocked matches in order of offset."""
    cue_words: list[tuple[int, int]] | None
    """The spans of the negation cue words in the lowercased text, when the scan found them."""


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
        sources = (p.source for group in phrases.values() for p in group)
        self._finder = StartFinder(sources, marked_words=CUE_WORDS)
        self._patterns: dict[tuple[Facet, frozenset[Phrase]], _Candidate] = {}

    def find(self, text: str, lowered: str) -> _Found:
        """The matches; of overlapping ones in a facet the longest (then first) wins.

        A facet has one pattern per word, so at most one of its matches starts at an offset,
        and offsets come in order: a match is kept unless it starts inside the last one kept,
        and inside that one the facet's patterns need not be tried at all. A blocker's match
        is kept out of the result but still covers its span.
        """
        kept: dict[Facet, list[_Match]] = {facet: [] for facet in FACETS}
        reach = dict.fromkeys(FACETS, 0)
        cue_words: list[tuple[int, int]] = []
        scan = self._finder.scan(text, lowered)
        words = scan if scan is not None else _EVERY_WORD.finditer(text)
        # Only a scan marks the cue words.
        cues = self._finder.marked_words if scan is not None else frozenset()
        cache = self._cache
        for word in words:
            at = word.start()
            key = word[1]
            if key in cues and starts_word(lowered, at):
                cue_words.append((at, at + len(key)))
            candidates = cache.get(key)
            if candidates is None:
                candidates = self._candidates(key)
            for facet, pattern, codes in candidates:
                if at < reach[facet]:
                    continue
                hit = pattern.match(text, at)
                if hit is not None and hit.lastindex is not None:
                    reach[facet] = end = hit.end()
                    found = codes[hit.lastindex - 1]
                    if found:
                        kept[facet].append((at, end, found))
        return _Found(kept, cue_words if scan is not None else None)

    def _candidates(self, word: str) -> list[_Candidate]:
        """The patterns that may match at this word, remembered per distinct word.

        They depend on the lowercased word alone, which a scan gives (see StartFinder.scan).
        """
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
            pattern, ordered = alternation(list(phrases))
            candidate = _Candidate(facet, pattern, tuple(p.codes for p in ordered))
            self._patterns[facet, phrases] = candidate
        return candidate


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
        self._negatable = {
            f: frozenset(t.code for t in taxonomy.terms(f) if t.negatable) for f in FACETS
        }
        self._index = _PhraseIndex({f: _facet_phrases(taxonomy, f) for f in FACETS})

    def tag(self, text: str) -> TagSuggestions:
        """Tags sorted by code; evidence sorted by offset, at most MAX_EVIDENCE per tag."""
        lowered = text.lower()
        found = self._index.find(text, lowered)
        negations = Negations(text, lowered, found.cue_words)
        tags = {f: self._tag_facet(f, negations, found.matches[f]) for f in FACETS}
        # One validation of the whole result is much cheaper than building each model.
        return TagSuggestions.model_validate(tags)

    def _tag_facet(
        self, facet: Facet, negations: Negations, matches: list[_Match]
    ) -> list[dict[str, Any]]:
        evidence: dict[str, list[dict[str, Any]]] = {}
        # Codes with all their evidence need no more, nor the costly negation check.
        full: set[str] = set()
        negatable = self._negatable[facet]
        text = negations.text
        for start, end, codes in matches:
            if not full.isdisjoint(codes):
                codes = tuple(c for c in codes if c not in full)
                if not codes:
                    continue
            if not negatable.isdisjoint(codes) and negations.is_negated(start, end):
                codes = tuple(c for c in codes if c not in negatable)
            span = {"text": text[start:end], "start": start, "end": end}
            for code in codes:
                spans = evidence.setdefault(code, [])
                spans.append(span)
                if len(spans) == MAX_EVIDENCE:
                    full.add(code)
        label = self._taxonomy.get
        return [
            {"code": code, "label": label(facet, code).label, "evidence": spans}
            for code, spans in sorted(evidence.items())
        ]
