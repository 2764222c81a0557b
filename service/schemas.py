"""Building blocks shared by the request and response models of every domain."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, StringConstraints

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u2028\u2029]")
_LINE_BREAK = re.compile(r"[\r\n]")


def _no_control(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError("must not contain control characters")
    return value


def _one_line(value: str) -> str:
    # Titles travel into email headers and feed titles: a line break there is never wanted.
    if _LINE_BREAK.search(value):
        raise ValueError("must be a single line")
    return value


Line = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=300),
    AfterValidator(_no_control),
    AfterValidator(_one_line),
]
Text = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=50_000),
    AfterValidator(_no_control),
]
Code = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class Request(BaseModel):
    """A request body or query: unknown fields and loose types are errors."""

    model_config = ConfigDict(extra="forbid", strict=True)


class Response(BaseModel):
    model_config = ConfigDict(from_attributes=True)
