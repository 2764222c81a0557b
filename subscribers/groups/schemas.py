"""What the group routes take and give."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field, StringConstraints

from service.schemas import (
    AgencyCode,
    BoroughCode,
    Line,
    NoNul,
    Omittable,
    Request,
    Response,
    ThemeCode,
)
from subscribers.subscriptions.schemas import Address, Agencies, Boroughs, FrequencyName, Themes

Description = Annotated[str, StringConstraints(max_length=2000), NoNul]
GroupName = Annotated[Line, Field(max_length=200)]  # the column's length


class GroupCreate(Request):
    name: GroupName
    description: Description = ""
    borough: BoroughCode | None = None
    agency: AgencyCode | None = None
    themes: Themes
    agencies: Agencies
    boroughs: Boroughs
    frequency: FrequencyName = "weekly"
    practitioners_only: bool = False


class GroupUpdate(Request):
    """What is left out is kept; ``borough`` and ``agency`` are cleared by null, the other
    fields can't be null (the columns are not nullable)."""

    name: Omittable[GroupName] = None
    description: Omittable[Description] = None
    borough: BoroughCode | None = None
    agency: AgencyCode | None = None
    themes: Omittable[Annotated[list[ThemeCode], Field(max_length=30)]] = None
    agencies: Omittable[Annotated[list[AgencyCode], Field(max_length=30)]] = None
    boroughs: Omittable[Annotated[list[BoroughCode], Field(max_length=30)]] = None
    frequency: Omittable[FrequencyName] = None
    practitioners_only: Omittable[bool] = None


class MemberAdd(Request):
    email: Address


class MemberOut(Response):
    email: str
    confirmed: bool
    invited_at: datetime
    confirmed_at: datetime | None


class GroupOut(Response):
    id: int
    name: str
    description: str
    borough: str | None
    agency: str | None
    themes: list[str]
    agencies: list[str]
    boroughs: list[str]
    frequency: FrequencyName
    practitioners_only: bool
    has_feed: bool
    members: list[MemberOut]
    created_at: datetime


class GroupList(Response):
    items: list[GroupOut]


class FeedToken(Response):
    feed_url: str
