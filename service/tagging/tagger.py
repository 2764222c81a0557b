"""The rule-based tagger: taxonomy phrases found in the text, minus negated and blocked mentions,
each code weighed by how central it is (salience.py)."""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any, NamedTuple

from service.tagging.context import Context
from service.tagging.models import BriefText, TagSuggestions
from service.tagging.negation import CUE_WORDS, Negations
from service.tagging.phrases import KEY_LENGTH, Phrase, alternation
from service.tagging.salience import (
    MAX_EVIDENCE,
    WEAK,
    Bar,
    Layout,
    Mention,
    plain_layout,
    score_facet,
)
from service.tagging.scan import StartFinder, starts_word
from service.taxonomy import FACETS, Facet, Taxonomy

__all__ = ["MAX_EVIDENCE", "Tagger"]
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


class _Hit(NamedTuple):
    """What a key of a phrase stands for: a code, the strength of the mention, its near rule."""

    code: str
    strength: float
    context: Context | None


def _facet_phrases(taxonomy: Taxonomy, facet: Facet) -> tuple[list[Phrase], dict[str, _Hit]]:
    """One Phrase per distinct phrase text, carrying the key of every hit it stands for.

    A key is the code for a phrase, "code|weak" for a weak phrase and "code|nearN" for the
    heads of the term's Nth near rule.
    """
    keys: dict[str, list[str]] = defaultdict(list)
    hits: dict[str, _Hit] = {}
    for term in taxonomy.terms(facet):
        hits[term.code] = _Hit(term.code, term.salience, None)
        for source in term.phrases:
            if source.startswith("!"):
                keys.setdefault(source, [])
            else:
                keys[source].append(term.code)
        if term.weak:
            hits[f"{term.code}|weak"] = _Hit(term.code, WEAK * term.salience, None)
        for source in term.weak:
            keys[source].append(f"{term.code}|weak")
        for index, rule in enumerate(term.near):
            key = f"{term.code}|near{index}"
            hits[key] = _Hit(term.code, term.salience, Context.of(rule))
            for source in rule.heads:
                keys[source].append(key)
    phrases = [Phrase(s, tuple(c), blocker=s.startswith("!")) for s, c in keys.items()]
    return phrases, hits


class Tagger:
    """Suggests taxonomy codes for a text, each with its weight and the spans that support it."""

    def __init__(self, taxonomy: Taxonomy) -> None:
        self._taxonomy = taxonomy
        phrases: dict[Facet, list[Phrase]] = {}
        self._hits: dict[Facet, dict[str, _Hit]] = {}
        for facet in FACETS:
            phrases[facet], self._hits[facet] = _facet_phrases(taxonomy, facet)
        self._negatable = {
            f: frozenset(k for k, hit in self._hits[f].items() if _negatable(taxonomy, f, hit))
            for f in FACETS
        }
        self._index = _PhraseIndex(phrases)

    def tag(self, text: str, *, board: str | None = None) -> TagSuggestions:
        """The tags of a plain text; its title and learning sections are found by their look.

        ``board`` is the source board: its boroughs count when the text names none.
        """
        lowered = text.lower()
        return self._tag(text, lowered, plain_layout(text, lowered), board)

    def tag_brief(self, brief: BriefText, *, board: str | None = None) -> TagSuggestions:
        """The tags of a brief's text, with its title and learning points known."""
        points = ((brief.points_start, len(brief.text)),)
        text = brief.text
        return self._tag(text, text.lower(), Layout(brief.title_end, points), board)

    def _tag(self, text: str, lowered: str, layout: Layout, board: str | None) -> TagSuggestions:
        found = self._index.find(text, lowered)
        negations = Negations(text, lowered, found.cue_words)
        tags: dict[Facet, list[dict[str, Any]]] = {}
        words = len(text.split())
        for facet in FACETS:
            mentions = self._mentions(facet, negations, found.matches[facet])
            tags[facet] = score_facet(text, mentions, layout, Bar.of(facet, words))
        if board and not tags["boroughs"]:
            tags["boroughs"] = self._board_boroughs(board)
        label = self._taxonomy.get
        for facet, facet_tags in tags.items():
            for tag in facet_tags:
                tag["label"] = label(facet, tag["code"]).label
        # One validation of the whole result is much cheaper than building each model.
        return TagSuggestions.model_validate(tags)

    def _mentions(self, facet: Facet, negations: Negations, matches: list[_Match]) -> list[Mention]:
        """The affirmed mentions, one per code a match stands for (its strongest hit)."""
        hits = self._hits[facet]
        negatable = self._negatable[facet]
        text = negations.text
        lowered = negations.lowered
        mentions: list[Mention] = []
        for start, end, keys in matches:
            if not negatable.isdisjoint(keys) and negations.is_negated(start, end):
                keys = tuple(k for k in keys if k not in negatable)
            if len(keys) == 1 and hits[keys[0]].context is None:
                hit = hits[keys[0]]
                mentions.append(Mention(start, end, hit.code, hit.strength))
                continue
            best: dict[str, Mention] = {}
            for key in keys:
                hit = hits[key]
                span: tuple[int, int] | None = (start, end)
                if hit.context is not None:
                    span = hit.context.span(text, lowered, start, end)
                if span is None:
                    continue
                mention = Mention(span[0], span[1], hit.code, hit.strength)
                kept = best.get(hit.code)
                if kept is None or mention.strength > kept.strength:
                    best[hit.code] = mention
            mentions += best.values()
        return mentions

    def _board_boroughs(self, board: str) -> list[dict[str, Any]]:
        """The boroughs the source board names, all suggested, their evidence in the board."""
        found = self._index.find(board, board.lower())
        mentions = [
            Mention(start, end, self._hits["boroughs"][key].code, 1.0)
            for start, end, keys in found.matches["boroughs"]
            for key in keys
        ]
        tags = score_facet(board, mentions, Layout(), Bar())
        for tag in tags:
            for evidence in tag["evidence"]:
                evidence["field"] = "source.board"
        return tags


def _negatable(taxonomy: Taxonomy, facet: Facet, hit: _Hit) -> bool:
    return taxonomy.get(facet, hit.code).negatable
