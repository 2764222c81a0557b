from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import idna
from pydantic import AfterValidator, EmailStr, Field, StringConstraints

from service.schemas import (
    AgencyCode,
    BoroughCode,
    Request,
    Response,
    ThemeCode,
)

FrequencyName = Literal["immediate", "daily", "weekly"]
# Who the person is, if they say: one of subscribers.subscriptions.models.ROLES.
RoleName = Literal[
    "practitioner", "manager", "safeguarding-lead", "learning-and-development", "other"
]
# On a change, "" clears what the person said before; absent (None) keeps it.
Clear = Literal[""]
Themes = Annotated[list[ThemeCode], Field(default_factory=list, max_length=30)]
Agencies = Annotated[list[AgencyCode], Field(default_factory=list, max_length=30)]
Boroughs = Annotated[list[BoroughCode], Field(default_factory=list, max_length=30)]


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
    themes: Themes
    agencies: Agencies
    boroughs: Boroughs
    my_agency: AgencyCode | None = None
    my_borough: BoroughCode | None = None
    my_role: RoleName | None = None


class Accepted(Response):
    status: Literal["accepted"] = "accepted"
    message: str = (
        "If this address can receive our emails, we have sent it a link. Follow the link to "
        "confirm or manage the subscription."
    )


class SubscriptionUpdate(Request):
    frequency: FrequencyName | None = None
    themes: list[ThemeCode] | None = Field(default=None, max_length=30)
    agencies: list[AgencyCode] | None = Field(default=None, max_length=30)
    boroughs: list[BoroughCode] | None = Field(default=None, max_length=30)
    paused: bool | None = None
    my_agency: AgencyCode | Clear | None = None
    my_borough: BoroughCode | Clear | None = None
    my_role: RoleName | Clear | None = None


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
    my_agency: str | None
    my_borough: str | None
    my_role: str | None
    confirmed_at: datetime | None
    groups: list[MembershipOut]
    manage_url: str
    export_url: str
