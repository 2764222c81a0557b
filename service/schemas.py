"""Building blocks shared by the request and response models of every domain.

The OpenAPI description is generated from these models, so each type also says in its JSON
schema what its validators enforce (the ``pattern`` of a line, the ``enum`` of a taxonomy
code): a client, or a fuzzer, that keeps to the description is never refused for breaking a
rule the description did not state. The validators keep their own plain error messages.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    JsonValue,
    StringConstraints,
    field_validator,
)

from service.taxonomy import Facet, default_taxonomy

# Ids are PostgreSQL's `integer` (SQLite's are wider): a larger number names nothing.
MAX_ID = 2**31 - 1

_CONTROL_CLASS = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u2028\u2029"
_CONTROL = re.compile(f"[{_CONTROL_CLASS}]")
_LINE_BREAK = re.compile(r"[\r\n]")
# Python's whitespace, spelled out (str.strip() removes it, and `\s` means something else in
# the ECMAScript regexes of JSON Schema).
_SPACE_CLASS = r"\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"


def _not_blank(refused: str) -> str:
    """A JSON Schema pattern: no control character nor any of ``refused``, not only space."""
    other = f"[^{_CONTROL_CLASS}{refused}]"
    visible = f"[^{_CONTROL_CLASS}{refused}{_SPACE_CLASS}]"
    return f"^{other}*{visible}{other}*$"


LINE_PATTERN = _not_blank(r"\r\n")
TEXT_PATTERN = _not_blank("")


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
    Field(json_schema_extra={"pattern": LINE_PATTERN}),
    AfterValidator(_no_control),
    AfterValidator(_one_line),
]
Text = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=50_000),
    Field(json_schema_extra={"pattern": TEXT_PATTERN}),
    AfterValidator(_no_control),
]
Code = Annotated[str, StringConstraints(min_length=1, max_length=64)]
# Any text but NUL (see Request), said in the schema: Annotated[str, ..., NoNul].
NoNul = Field(json_schema_extra={"pattern": r"^[^\x00]*$"})


def _codes_of(facet: Facet) -> Any:
    """The codes of a facet as the schema's enum. The services check codes against the
    taxonomy themselves (their 422 lists the valid ones)."""
    codes: list[JsonValue] = [term.code for term in default_taxonomy().terms(facet)]
    return Field(json_schema_extra={"enum": codes})


ThemeCode = Annotated[str, StringConstraints(min_length=1, max_length=64), _codes_of("themes")]
AgencyCode = Annotated[str, StringConstraints(min_length=1, max_length=64), _codes_of("agencies")]
BoroughCode = Annotated[str, StringConstraints(min_length=1, max_length=64), _codes_of("boroughs")]


def _not_null(value: Any) -> Any:
    if value is None:
        raise ValueError("leave the field out to keep it as it is; it can't be null")
    return value


def _not_nullable(schema: dict[str, Any]) -> None:
    """The field's schema without its null: None stands for "left out", not for null."""
    schema.pop("default", None)
    variants = schema.pop("anyOf", [])
    kept = [variant for variant in variants if variant != {"type": "null"}]
    if len(kept) == 1:
        schema.update(kept[0])
    elif kept:
        schema["anyOf"] = kept


T = TypeVar("T")
# A field of a change (PATCH): left out, it keeps its value; it can't be set to null.
Omittable = Annotated[T | None, BeforeValidator(_not_null), Field(json_schema_extra=_not_nullable)]


def _holds_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, list | tuple | set | frozenset):
        return any(_holds_nul(item) for item in value)
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    return False


class Request(BaseModel):
    """A request body or query: unknown fields and loose types are errors."""

    model_config = ConfigDict(extra="forbid", strict=True)

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        # PostgreSQL can't store NUL in text; no field of ours has a use for it.
        if _holds_nul(value):
            raise ValueError("must not contain NUL characters")
        return value


class Response(BaseModel):
    model_config = ConfigDict(from_attributes=True)
