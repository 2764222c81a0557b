"""Explainable, rule-based tagging of case-review text against the taxonomy."""

from service.tagging.models import BriefText, Evidence, SuggestedTag, TagSuggestions, brief_text
from service.tagging.tagger import MAX_EVIDENCE, Tagger

__all__ = [
    "MAX_EVIDENCE",
    "BriefText",
    "Evidence",
    "SuggestedTag",
    "TagSuggestions",
    "Tagger",
    "brief_text",
]
