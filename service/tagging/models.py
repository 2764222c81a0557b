"""What the tagger returns: suggested tags per facet, each with the text that supports it."""

from __future__ import annotations

from collections.abc import Sequence

import pydantic

from service.taxonomy import Facet


class Evidence(pydantic.BaseModel):
    """A span of the analysed text: text == analysed[start:end]."""

    text: str
    start: int
    end: int


class SuggestedTag(pydantic.BaseModel):
    code: str
    label: str
    evidence: list[Evidence]


class TagSuggestions(pydantic.BaseModel):
    """Tags sorted by code; evidence sorted by offset."""

    themes: list[SuggestedTag] = []
    agencies: list[SuggestedTag] = []
    boroughs: list[SuggestedTag] = []

    def codes(self, facet: Facet) -> list[str]:
        tags: list[SuggestedTag] = getattr(self, facet)
        return [tag.code for tag in tags]


def brief_text(title: str, summary: str, learning_points: Sequence[str]) -> str:
    """The text a brief is tagged on: title, blank line, summary, blank line, one point a line."""
    points = "\n".join(point.strip() for point in learning_points)
    return f"{title.strip()}\n\n{summary.strip()}\n\n{points}"
