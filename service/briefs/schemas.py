from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, ConfigDict, Field, HttpUrl, UrlConstraints, model_validator

from service.schemas import (
    AgencyCode,
    BoroughCode,
    Line,
    NoNul,
    Request,
    Response,
    Text,
    ThemeCode,
)

Facet = Literal["themes", "agencies", "boroughs"]
FACET_NAMES: tuple[Facet, ...] = ("themes", "agencies", "boroughs")
LearningPoint = Annotated[Text, Field(max_length=2_000)]


def _fits(url: HttpUrl) -> HttpUrl:
    # Normalising can lengthen a URL (percent-encoding, IDNA): the column holds 2,000.
    if len(str(url)) > 2000:
        raise ValueError("URL should have at most 2000 characters once encoded")
    return url


SourceUrl = Annotated[
    HttpUrl,
    UrlConstraints(max_length=2000),
    Field(json_schema_extra={"pattern": "^[Hh][Tt][Tt][Pp][Ss]?://"}),
    AfterValidator(_fits),
]


BriefingText = Annotated[Text, Field(max_length=5_000)]
BriefingItem = Annotated[Text, Field(max_length=1_000)]


class Resource(Request):
    """A further reading for the briefing: a title and an http(s) link."""

    title: Line
    url: SourceUrl


BRIEFING_FIELDS = ("background", "why_it_matters", "actions", "questions", "resources")


class Source(Request):
    review: Line
    board: Line
    published_on: date | None = None
    url: SourceUrl | None = None


UrgentReason = Annotated[Text, Field(max_length=1_000)]
URGENT_NEEDS_REASON = "urgent learning needs an urgent_reason saying why it cannot wait"


class Urgency(Request):
    """Urgent learning goes at once to everyone it matches, digest subscribers included
    (``urgent_reason`` says why, in the email); left out, a brief keeps what it had."""

    model_config = ConfigDict(
        json_schema_extra={
            "if": {"required": ["urgent"], "properties": {"urgent": {"const": True}}},
            "then": {
                "required": ["urgent_reason"],
                "properties": {"urgent_reason": {"type": "string"}},
            },
        }
    )

    urgent: bool | None = None
    urgent_reason: UrgentReason | None = None

    @model_validator(mode="after")
    def _reason_for_urgent(self) -> Urgency:
        if self.urgent and not (self.urgent_reason or "").strip():
            raise ValueError(URGENT_NEEDS_REASON)
        return self


class BriefCreate(Urgency):
    title: Line
    background: BriefingText | None = None
    why_it_matters: BriefingText | None = None
    actions: list[BriefingItem] = Field(default_factory=list, max_length=20)
    questions: list[BriefingItem] = Field(default_factory=list, max_length=20)
    resources: list[Resource] = Field(default_factory=list, max_length=20)
    summary: Text
    learning_points: list[LearningPoint] = Field(min_length=1, max_length=30)
    source: Source
    audience: Literal["public", "practitioners"] = "public"
    themes: list[ThemeCode] | None = Field(default=None, max_length=30)
    agencies: list[AgencyCode] | None = Field(default=None, max_length=30)
    boroughs: list[BoroughCode] | None = Field(default=None, max_length=30)


class BriefUpdate(Urgency):
    model_config = ConfigDict(
        json_schema_extra={
            # What _note_for_significant and _reason_for_urgent enforce, said in the schema.
            "allOf": [
                {
                    "if": {
                        "required": ["significant"],
                        "properties": {"significant": {"const": True}},
                    },
                    "then": {
                        "required": ["change_note"],
                        "properties": {"change_note": {"type": "string"}},
                    },
                },
                {
                    "if": {"required": ["urgent"], "properties": {"urgent": {"const": True}}},
                    "then": {
                        "required": ["urgent_reason"],
                        "properties": {"urgent_reason": {"type": "string"}},
                    },
                },
            ]
        }
    )

    title: Line | None = None
    # The briefing's fields: left out, kept; null (or an empty list) clears them.
    background: BriefingText | None = None
    why_it_matters: BriefingText | None = None
    actions: list[BriefingItem] | None = Field(default=None, max_length=20)
    questions: list[BriefingItem] | None = Field(default=None, max_length=20)
    resources: list[Resource] | None = Field(default=None, max_length=20)
    summary: Text | None = None
    learning_points: list[LearningPoint] | None = Field(default=None, min_length=1, max_length=30)
    source: Source | None = None
    audience: Literal["public", "practitioners"] | None = None
    themes: list[ThemeCode] | None = Field(default=None, max_length=30)
    agencies: list[AgencyCode] | None = Field(default=None, max_length=30)
    boroughs: list[BoroughCode] | None = Field(default=None, max_length=30)
    significant: bool = False
    change_note: Annotated[Text, Field(max_length=2_000)] | None = None

    @model_validator(mode="after")
    def _note_for_significant(self) -> BriefUpdate:
        if self.significant and not self.change_note:
            raise ValueError("a significant update needs a change_note saying what changed")
        return self


class LifecycleRequest(Request):
    """Optional note recorded with a lifecycle move (publish, restore), for staff only."""

    note: Annotated[Text, Field(max_length=2_000)] | None = None


class PublishRequest(LifecycleRequest, Urgency):
    """A publication, urgent or not (see Urgency)."""


class WithdrawRequest(LifecycleRequest):
    """A withdrawal: ``reason`` is public (the brief's page and the notice emailed to those
    sent it show it); ``note`` stays in the history, for staff."""

    reason: Annotated[Text, Field(max_length=1_000)] | None = None


class EvidenceOut(Response):
    """A span of the brief's analysed text (title, summary, learning points) or of its board."""

    text: str
    start: int
    end: int
    field: Literal["text", "source.board"] = "text"
    score: float | None = None


class TagOut(Response):
    code: str
    source: Literal["auto", "publisher"]
    weight: float | None = Field(
        default=None,
        description="The tagger's weight for the code, 0 to 1 (0 when it did not find it); "
        "null on tags stored before weights existed",
    )
    suggested: bool | None = Field(
        default=None, description="Whether the tagger suggested the code (null as weight)"
    )
    evidence: list[EvidenceOut]


class MentionedOut(Response):
    """A code the tagger found and did not suggest: shown, applied to nothing."""

    code: str
    weight: float
    evidence: list[EvidenceOut]


class AlsoMentionedOut(Response):
    themes: list[MentionedOut] = Field(default_factory=list)
    agencies: list[MentionedOut] = Field(default_factory=list)
    boroughs: list[MentionedOut] = Field(default_factory=list)


class TaggingOut(Response):
    themes: list[TagOut]
    agencies: list[TagOut]
    boroughs: list[TagOut]
    also_mentioned: AlsoMentionedOut = Field(default_factory=AlsoMentionedOut)


class SourceOut(Response):
    review: str
    board: str
    published_on: date | None
    url: str | None


class ResourceOut(Response):
    title: str
    url: str


class BriefOut(Response):
    id: uuid.UUID
    title: str
    summary: str
    summary_html: str
    learning_points: list[str]
    background: str | None
    why_it_matters: str | None
    actions: list[str]
    questions: list[str]
    resources: list[ResourceOut]
    source: SourceOut
    themes: list[str]
    agencies: list[str]
    boroughs: list[str]
    tagging: TaggingOut
    audience: Literal["public", "practitioners"]
    status: Literal["draft", "published", "withdrawn"]
    revision: int
    created_at: datetime
    published_at: datetime | None
    updated_at: datetime
    withdrawn_at: datetime | None
    withdrawn_reason: str | None
    publication: int
    urgent: bool = Field(description="Urgent learning: sent at once to every subscriber it matches")
    urgent_reason: str | None
    url: str


class BriefList(Response):
    items: list[BriefOut]
    next_cursor: str | None


class BriefQuery(Request):
    """Query of the public list; repeated parameters arrive as lists."""

    model_config = ConfigDict(extra="forbid", strict=False)

    theme: list[ThemeCode] = Field(default_factory=list, max_length=30)
    agency: list[AgencyCode] = Field(default_factory=list, max_length=30)
    borough: list[BoroughCode] = Field(default_factory=list, max_length=30)
    q: Annotated[str, Field(max_length=200), NoNul] | None = None
    cursor: Annotated[str, Field(max_length=200), NoNul] | None = None
    limit: int = Field(default=20, ge=1, le=100)


class HistoryOut(Response):
    revision: int
    action: str
    staff: str
    occurred_at: datetime
    changes: list[str]
    change_note: str | None
    significant: bool


def brief_out(brief: Any, base_url: str) -> BriefOut:
    """The API's view of a stored brief."""
    tags = {facet: [t for t in brief.tags if t.facet == facet] for facet in FACET_NAMES}
    return BriefOut(
        id=brief.id,
        title=brief.title,
        summary=brief.summary,
        summary_html=brief.summary_html,
        learning_points=brief.learning_points,
        background=brief.background,
        why_it_matters=brief.why_it_matters,
        actions=brief.actions or [],
        questions=brief.questions or [],
        resources=[ResourceOut(**resource) for resource in brief.resources or []],
        source=SourceOut(
            review=brief.source_review,
            board=brief.source_board,
            published_on=brief.source_published_on,
            url=brief.source_url,
        ),
        themes=[t.code for t in tags["themes"]],
        agencies=[t.code for t in tags["agencies"]],
        boroughs=[t.code for t in tags["boroughs"]],
        tagging=TaggingOut.model_validate({**tags, "also_mentioned": _mentioned(brief)}),
        audience=brief.audience,
        status=brief.status,
        revision=brief.revision,
        created_at=brief.created_at,
        published_at=brief.published_at,
        updated_at=brief.updated_at,
        withdrawn_at=brief.withdrawn_at,
        withdrawn_reason=brief.withdrawn_reason,
        publication=brief.publication,
        urgent=brief.urgent,
        urgent_reason=brief.urgent_reason,
        url=f"{base_url}/briefs/{brief.id}",
    )


def _mentioned(brief: Any) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {facet: [] for facet in FACET_NAMES}
    for item in brief.also_mentioned or []:
        found[item["facet"]].append(item)
    return found


class HistoryList(Response):
    items: list[HistoryOut]
