"""What the tagger returns: tags per facet, how central each is, and the words that say so."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import pydantic

from service.taxonomy import Facet

# Where a span of evidence lies: the analysed text, or the brief's source board.
Field = Literal["text", "source.board"]


class Evidence(pydantic.BaseModel):
    """A span: text == analysed[start:end] (or board[start:end] for the source board)."""

    text: str
    start: int
    end: int
    field: Field = "text"
    score: float = 1.0
    """What this mention adds to its tag's score (docs/tagging.md)."""


class SuggestedTag(pydantic.BaseModel):
    code: str
    label: str
    weight: float = 1.0
    """How central the code is to the text, in [0, 1]: its score over the facet's top score."""
    suggested: bool = True
    """Preselected and applied automatically; the others are "also mentioned"."""
    score: float = 1.0
    mentions: int = 1
    """Affirmed mentions found; evidence quotes the strongest few of them."""
    evidence: list[Evidence]


class TagSuggestions(pydantic.BaseModel):
    """Tags by weight, heaviest first (then by code); evidence sorted by offset."""

    themes: list[SuggestedTag] = []
    agencies: list[SuggestedTag] = []
    boroughs: list[SuggestedTag] = []

    def codes(self, facet: Facet) -> list[str]:
        """The suggested codes: those preselected and applied automatically."""
        tags: list[SuggestedTag] = getattr(self, facet)
        return [tag.code for tag in tags if tag.suggested]

    def mentioned(self, facet: Facet) -> list[str]:
        """Every code found, suggested or "also mentioned"."""
        tags: list[SuggestedTag] = getattr(self, facet)
        return [tag.code for tag in tags]

    def get(self, facet: Facet, code: str) -> SuggestedTag | None:
        tags: list[SuggestedTag] = getattr(self, facet)
        return next((tag for tag in tags if tag.code == code), None)


@dataclass(frozen=True)
class BriefText:
    """The text a brief is tagged on, and where its title and learning points lie in it."""

    text: str
    title_end: int
    points_start: int

    @classmethod
    def of(cls, title: str, summary: str, learning_points: Sequence[str]) -> BriefText:
        text = brief_text(title, summary, learning_points)
        points = "\n".join(point.strip() for point in learning_points)
        return cls(text, len(title.strip()), len(text) - len(points))


def brief_text(title: str, summary: str, learning_points: Sequence[str]) -> str:
    """The text a brief is tagged on: title, blank line, summary, blank line, one point a line."""
    points = "\n".join(point.strip() for point in learning_points)
    return f"{title.strip()}\n\n{summary.strip()}\n\n{points}"
