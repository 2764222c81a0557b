"""Which themes, agencies and boroughs a brief carries: the tagger's, or the publisher's."""

from __future__ import annotations

from collections.abc import Mapping

from service.briefs.models import Brief, BriefTag, TagSource
from service.errors import Invalid
from service.tagging import SuggestedTag, Tagger, TagSuggestions, brief_text
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


def apply(brief: Brief, tagger: Tagger, chosen: Mapping[Facet, list[str] | None]) -> None:
    """Set the brief's tags.

    A facet the publisher sets (now or before) keeps exactly the publisher's codes; the
    others follow the tagger, re-run on the current text. Evidence is refreshed either way.
    """
    suggestions = tagger.tag(brief_text(brief.title, brief.summary, brief.learning_points))
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


def _replace(brief: Brief, wanted: list[BriefTag]) -> None:
    # Update rows in place: deleting and re-adding one primary key in a single flush collides.
    existing = {(tag.facet, tag.code): tag for tag in brief.tags}
    tags = []
    for new in wanted:
        tag = existing.get((new.facet, new.code), new)
        tag.source, tag.evidence = new.source, new.evidence
        tags.append(tag)
    brief.tags = tags


def _auto_tags(facet: Facet, suggestions: TagSuggestions) -> list[BriefTag]:
    return [
        BriefTag(facet=facet, code=s.code, source=TagSource.auto.value, evidence=_dump(s))
        for s in getattr(suggestions, facet)
    ]


def _publisher_tags(facet: Facet, codes: list[str], suggestions: TagSuggestions) -> list[BriefTag]:
    found = {s.code: s for s in getattr(suggestions, facet)}
    return [
        BriefTag(
            facet=facet,
            code=code,
            source=TagSource.publisher.value,
            evidence=_dump(found[code]) if code in found else [],
        )
        for code in dict.fromkeys(codes)
    ]


def _dump(suggestion: SuggestedTag) -> list[dict[str, object]]:
    return [e.model_dump() for e in suggestion.evidence]
