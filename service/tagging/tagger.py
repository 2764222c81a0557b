"""The rule-based tagger: taxonomy phrases found in the text, minus negated and blocked mentions."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass

from service.tagging.models import Evidence, SuggestedTag, TagSuggestions
from service.tagging.negation import is_negated
from service.tagging.phrases import Phrase, phrase_regex
from service.taxonomy import FACETS, Facet, Taxonomy

MAX_EVIDENCE = 5
# Negation is about risks ("no concerns about neglect"); an agency or a place that the text
# names is still involved in what it says, so only themes are checked for negation.
_NEGATABLE: frozenset[Facet] = frozenset({"themes"})


@dataclass(frozen=True)
class _Match:
    start: int
    end: int
    phrase: Phrase


class _FacetMatcher:
    """All phrases of one facet in two alternations, one case-sensitive, one not."""

    def __init__(self, phrases: list[Phrase]) -> None:
        ordered = sorted(phrases, key=lambda p: (-p.specificity, p.source))
        self._scans = [
            _compile([p for p in ordered if p.case_sensitive], 0),
            _compile([p for p in ordered if not p.case_sensitive], re.IGNORECASE),
        ]

    def matches(self, text: str) -> list[_Match]:
        """Non-blocked matches; where matches overlap the longest (then the first) wins."""
        found = [
            _Match(m.start(), m.end(), phrases[(m.lastindex or 1) - 1])
            for regex, phrases in self._scans
            if regex is not None
            for m in regex.finditer(text)
        ]
        found.sort(key=lambda m: (m.start, m.start - m.end))
        kept: list[_Match] = []
        for match in found:
            last = kept[-1] if kept else None
            if last is None or match.start >= last.end:
                kept.append(match)
            elif (match.start, match.end) == (last.start, last.end):
                kept.append(match)
        return [m for m in kept if not m.phrase.blocker]


def _compile(phrases: list[Phrase], flags: int) -> tuple[re.Pattern[str] | None, list[Phrase]]:
    if not phrases:
        return None, phrases
    alternation = "|".join(f"({phrase_regex(p.source)})" for p in phrases)
    return re.compile(alternation, flags), phrases


def _facet_phrases(taxonomy: Taxonomy, facet: Facet) -> list[Phrase]:
    """One Phrase per distinct phrase text, carrying every code that lists it."""
    codes: dict[str, list[str]] = defaultdict(list)
    for term in taxonomy.terms(facet):
        for source in term.phrases:
            if not source.startswith("!"):
                codes[source].append(term.code)
            else:
                codes.setdefault(source, [])
    return [Phrase(s, tuple(c), blocker=s.startswith("!")) for s, c in codes.items()]


class Tagger:
    """Suggests taxonomy codes for a text, each with the spans that support it."""

    def __init__(self, taxonomy: Taxonomy) -> None:
        self._taxonomy = taxonomy
        self._matchers = {f: _FacetMatcher(_facet_phrases(taxonomy, f)) for f in FACETS}

    def tag(self, text: str) -> TagSuggestions:
        """Tags sorted by code; evidence sorted by offset, at most MAX_EVIDENCE per tag."""
        return TagSuggestions(**{facet: self._tag_facet(facet, text) for facet in FACETS})

    def _tag_facet(self, facet: Facet, text: str) -> list[SuggestedTag]:
        evidence: dict[str, list[Evidence]] = defaultdict(list)
        for match in self._matchers[facet].matches(text):
            if facet in _NEGATABLE and is_negated(text, match.start, match.end):
                continue
            span = Evidence(text=text[match.start : match.end], start=match.start, end=match.end)
            for code in match.phrase.codes:
                if len(evidence[code]) < MAX_EVIDENCE:
                    evidence[code].append(span)
        return [
            SuggestedTag(code=code, label=self._taxonomy.get(facet, code).label, evidence=spans)
            for code, spans in sorted(evidence.items())
        ]
