"""Which themes, agencies and boroughs a brief carries: the tagger's, or the publisher's."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from service.briefs.models import Brief, BriefTag, TagSource
from service.errors import Invalid
from service.tagging import BriefText, SuggestedTag, Tagger, TagSuggestions
from service.taxonomy import FACETS, Facet, Taxonomy


def check_codes(taxonomy: Taxonomy, chosen: Mapping[Facet, list[str] | None]) -> None:
    """Raise Invalid listing every unknown code, and the valid ones of its facet."""
    details = {}
    for facet, codes in chosen.items():
        unknown = taxonomy.unknown(facet, codes or [])
        if unknown:
            details[facet] = {"unknown": unknown, "valid": sorted(taxonomy.codes(facet))}
    if details:
        names = ", ".join(f"{c!r}" for d in details.values() for c in d["unknown"])
        raise Invalid(f"unknown taxonomy codes: {names}", details)


def suggest(brief: Brief, tagger: Tagger) -> TagSuggestions:
    """The tagger's suggestions for the brief as it now reads, its source board included."""
    text = BriefText.of(brief.title, brief.summary, brief.learning_points)
    return tagger.tag_brief(text, board=brief.source_board)


def apply(
    brief: Brief, suggestions: TagSuggestions, chosen: Mapping[Facet, list[str] | None]
) -> None:
    """Set the brief's tags.

    A facet the publisher sets (now or before) keeps exactly the publisher's codes; the
    others take the tagger's suggested codes, from the current text. Evidence, weights and
    what is "also mentioned" are refreshed either way.
    """
    owned = set(brief.publisher_facets or [])
    wanted: list[BriefTag] = []
    for facet in FACETS:
        codes = chosen.get(facet)
        if codes is not None or facet in owned:
            keep = codes if codes is not None else brief.codes(facet)
            wanted += _publisher_tags(facet, keep, suggestions)
            owned.add(facet)
        else:
            wanted += _auto_tags(facet, suggestions)
    brief.publisher_facets = sorted(owned)
    _replace(brief, wanted)
    applied = {(tag.facet, tag.code) for tag in wanted}
    brief.also_mentioned = [
        {"facet": facet, "code": s.code, "weight": s.weight, "evidence": _dump(s)}
        for facet in FACETS
        for s in getattr(suggestions, facet)
        if (facet, s.code) not in applied
    ]


def _replace(brief: Brief, wanted: list[BriefTag]) -> None:
    # Update rows in place: deleting and re-adding one primary key in a single flush collides.
    existing = {(tag.facet, tag.code): tag for tag in brief.tags}
    tags = []
    for new in wanted:
        tag = existing.get((new.facet, new.code), new)
        tag.source, tag.evidence = new.source, new.evidence
        tag.weight, tag.suggested = new.weight, new.suggested
        tags.append(tag)
    # In the order the relationship loads them in, so that a brief reads the same either way.
    brief.tags = sorted(tags, key=lambda tag: tag.code)


def _auto_tags(facet: Facet, suggestions: TagSuggestions) -> list[BriefTag]:
    return [
        _tag(facet, s.code, TagSource.auto, s) for s in getattr(suggestions, facet) if s.suggested
    ]


def _publisher_tags(facet: Facet, codes: list[str], suggestions: TagSuggestions) -> list[BriefTag]:
    return [
        _tag(facet, code, TagSource.publisher, suggestions.get(facet, code))
        for code in dict.fromkeys(codes)
    ]


def _tag(facet: Facet, code: str, source: TagSource, found: SuggestedTag | None) -> BriefTag:
    return BriefTag(
        facet=facet,
        code=code,
        source=source.value,
        evidence=_dump(found) if found else [],
        weight=found.weight if found else 0.0,
        suggested=found.suggested if found else False,
    )


def _dump(suggestion: SuggestedTag) -> list[dict[str, Any]]:
    return [e.model_dump() for e in suggestion.evidence]
