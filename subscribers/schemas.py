from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import idna
from pydantic import AfterValidator, EmailStr, Field, StringConstraints

from service.schemas import Code, Line, Request, Response

FrequencyName = Literal["immediate", "daily", "weekly"]
Codes = Annotated[list[Code], Field(default_factory=list, max_length=30)]


def _deliverable(address: str) -> str:
    """An address every mail relay takes: the domain in its IDNA (ASCII) form.

    A part before the @ beyond ASCII needs SMTPUTF8 from every relay on the way, which NHS
    and police mail does not promise: such addresses are refused, with a sentence saying so.
    """
    local, _, domain = address.rpartition("@")
    if not local.isascii():
        raise ValueError(
            "use an address with only the letters A to Z, digits and . _ - + before the @: "
            "we cannot deliver to accented or other letters there"
        )
    return f"{local}@{idna.encode(domain, uts46=True).decode('ascii')}".lower()


Address = Annotated[EmailStr, StringConstraints(max_length=320), AfterValidator(_deliverable)]


class SubscribeRequest(Request):
    email: Address
    frequency: FrequencyName = "weekly"
    themes: Codes
    agencies: Codes
    boroughs: Codes


class Accepted(Response):
    status: Literal["accepted"] = "accepted"
    message: str = (
        "If this address can receive our emails, we have sent it a link. Follow the link to "
        "confirm or manage the subscription."
    )


class SubscriptionUpdate(Request):
    frequency: FrequencyName | None = None
    themes: list[Code] | None = Field(default=None, max_length=30)
    agencies: list[Code] | None = Field(default=None, max_length=30)
    boroughs: list[Code] | None = Field(default=None, max_length=30)
    paused: bool | None = None


class MembershipOut(Response):
    group: str
    confirmed: bool
    leave_url: str


class SubscriptionOut(Response):
    email: str
    status: Literal["none", "pending", "active", "ended"]
    frequency: FrequencyName
    themes: list[str]
    agencies: list[str]
    boroughs: list[str]
    paused: bool
    confirmed_at: datetime | None
    groups: list[MembershipOut]
    manage_url: str
    export_url: str


class GroupCreate(Request):
    name: Line
    description: Annotated[str, StringConstraints(max_length=2000)] = ""
    borough: Code | None = None
    agency: Code | None = None
    themes: Codes
    agencies: Codes
    boroughs: Codes
    frequency: FrequencyName = "weekly"
    practitioners_only: bool = False


class GroupUpdate(Request):
    name: Line | None = None
    description: Annotated[str, StringConstraints(max_length=2000)] | None = None
    borough: Code | None = None
    agency: Code | None = None
    themes: list[Code] | None = Field(default=None, max_length=30)
    agencies: list[Code] | None = Field(default=None, max_length=30)
    boroughs: list[Code] | None = Field(default=None, max_length=30)
    frequency: FrequencyName | None = None
    practitioners_only: bool | None = None


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
