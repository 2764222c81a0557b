"""The taxonomy, and tag suggestions for a text."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from aiohttp import web
from pydantic import ConfigDict, Field, model_validator

from handlers.api import Api
from learnhub.keys import tagging_key
from service.briefs.schemas import LearningPoint, SourceUrl
from service.schemas import Line, NoNul, Request, Response
from service.staff.models import Role, StaffMember
from service.tagging import BriefText, Tagger, TagSuggestions
from service.taxonomy import FACETS

api = Api()
TAG = "taxonomy"


class TermOut(Response):
    code: str
    label: str
    parent: str | None
    description: str


class TaxonomyOut(Response):
    version: int
    themes: list[TermOut]
    agencies: list[TermOut]
    boroughs: list[TermOut]


def _given(name: str, kind: str) -> dict[str, Any]:
    return {"required": [name], "properties": {name: {"type": kind}}}


class SuggestSource(Request):
    """A brief's source; its board gives the boroughs when the text names none."""

    board: Line
    review: Line | None = None
    published_on: dt.date | None = None
    url: SourceUrl | None = None


class SuggestRequest(Request):
    """Either ``text``, or a brief's fields (title, summary, learning points); and the source."""

    model_config = ConfigDict(
        json_schema_extra={
            "oneOf": [
                _given("text", "string"),
                {
                    "anyOf": [
                        _given("title", "string"),
                        _given("summary", "string"),
                        _given("learning_points", "array"),
                    ]
                },
            ]
        }
    )

    text: Annotated[str, Field(max_length=200_000), NoNul] | None = None
    title: Annotated[str, Field(max_length=300), NoNul] | None = None
    summary: Annotated[str, Field(max_length=200_000), NoNul] | None = None
    learning_points: list[LearningPoint] | None = None
    source: SuggestSource | None = None

    @model_validator(mode="after")
    def _something(self) -> SuggestRequest:
        fields = (self.title, self.summary, self.learning_points)
        if (self.text is None) == all(v is None for v in fields):
            raise ValueError("give either text, or title/summary/learning_points")
        return self

    def suggestions(self, tagger: Tagger) -> TagSuggestions:
        """The tags of the text, or of the brief's fields, with the source board's boroughs."""
        board = self.source.board if self.source else None
        if self.text is not None:
            return tagger.tag(self.text, board=board)
        brief = BriefText.of(self.title or "", self.summary or "", self.learning_points or [])
        return tagger.tag_brief(brief, board=board)


@api.route(
    "GET",
    "/api/v1/taxonomy",
    summary="Themes, agencies and boroughs",
    tag=TAG,
    response=TaxonomyOut,
)
async def get_taxonomy(request: web.Request) -> TaxonomyOut:
    taxonomy = request.app[tagging_key].taxonomy
    terms = {facet: [TermOut.model_validate(t) for t in taxonomy.terms(facet)] for facet in FACETS}
    return TaxonomyOut(version=taxonomy.version, **terms)


@api.route(
    "POST",
    "/api/v1/tagging/suggest",
    summary="Tags the tagger would give: weight, whether suggested, and evidence",
    tag=TAG,
    body=SuggestRequest,
    response=TagSuggestions,
    role=Role.publisher,
)
async def suggest(request: web.Request, body: SuggestRequest, staff: StaffMember) -> TagSuggestions:
    return body.suggestions(request.app[tagging_key].tagger)
