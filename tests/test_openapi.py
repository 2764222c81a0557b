"""The OpenAPI description states what the code enforces (it is generated from the models)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from jsonschema import Draft202012Validator
from pydantic import BaseModel, ValidationError

from handlers.taxonomy import SuggestRequest
from service.briefs.schemas import BriefUpdate
from service.schemas import LINE_PATTERN, MAX_ID, TEXT_PATTERN
from service.taxonomy import FACETS, default_taxonomy
from subscribers.groups.schemas import GroupCreate, GroupUpdate


@pytest.fixture
async def document(client: TestClient) -> dict[str, Any]:
    return dict(await (await client.get("/api/v1/openapi.json")).json())


def _schema(document: dict[str, Any], name: str) -> dict[str, Any]:
    return dict(document["components"]["schemas"][name])


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(m, p, op) for p, ops in document["paths"].items() for m, op in ops.items()]


def test_taxonomy_codes_are_enums(document: dict[str, Any]) -> None:
    taxonomy = default_taxonomy()
    codes = {facet: [t.code for t in taxonomy.terms(facet)] for facet in FACETS}
    group = _schema(document, "GroupCreate")["properties"]
    for facet in FACETS:
        assert group[facet]["items"]["enum"] == codes[facet]
    assert group["borough"]["anyOf"][0]["enum"] == codes["boroughs"]
    listed = document["paths"]["/api/v1/briefs"]["get"]["parameters"]
    theme = next(p for p in listed if p["name"] == "theme")
    assert theme["schema"]["items"]["enum"] == codes["themes"]


@pytest.mark.parametrize(
    ("value", "line", "text"),
    [
        ("Baby T", True, True),
        ("  padded  ", True, True),
        ("   ", False, False),
        ("two\nlines", False, True),
        ("nul\x00", False, False),
        ("bell\x07", False, False),
    ],
)
def test_lines_and_texts_have_the_patterns_their_validators_enforce(
    value: str, line: bool, text: bool
) -> None:
    assert bool(re.search(LINE_PATTERN, value)) is line
    assert bool(re.search(TEXT_PATTERN, value)) is text


def test_a_title_carries_its_pattern_and_limits(document: dict[str, Any]) -> None:
    title = _schema(document, "BriefCreate")["properties"]["title"]
    assert (title["pattern"], title["minLength"], title["maxLength"]) == (LINE_PATTERN, 1, 300)


def test_group_changes_may_not_be_null_but_borough_and_agency_may(
    document: dict[str, Any],
) -> None:
    update = _schema(document, "GroupUpdate")["properties"]
    for name in ("name", "description", "themes", "frequency", "practitioners_only"):
        assert "null" not in str(update[name]) and "default" not in update[name], name
    assert {"type": "null"} in update["borough"]["anyOf"]


def test_numeric_ids_are_integers_within_the_database_range(document: dict[str, Any]) -> None:
    (param,) = document["paths"]["/api/v1/groups/{id}"]["get"]["parameters"]
    assert param["schema"] == {"type": "integer", "minimum": 1, "maximum": MAX_ID}


def test_bodies_are_required_when_a_field_is(document: dict[str, Any]) -> None:
    paths = document["paths"]
    assert paths["/api/v1/briefs"]["post"]["requestBody"]["required"] is True
    assert paths["/api/v1/briefs/{id}/publish"]["post"]["requestBody"]["required"] is False
    assert paths["/api/v1/tagging/suggest"]["post"]["requestBody"]["required"] is True


def test_every_operation_with_a_body_says_415_and_422(document: dict[str, Any]) -> None:
    for method, path, op in _operations(document):
        if "requestBody" in op:
            assert {"400", "415", "422"} <= set(op["responses"]), (method, path)
        if "security" in op:
            assert {"401", "403"} <= set(op["responses"]), (method, path)


@pytest.mark.parametrize(
    ("model", "body"),
    [
        (SuggestRequest, {}),
        (SuggestRequest, {"text": "neglect"}),
        (SuggestRequest, {"title": "Baby T"}),
        (SuggestRequest, {"text": "neglect", "summary": "Safer sleep"}),
        (SuggestRequest, {"text": None, "learning_points": ["Ask"]}),
        (SuggestRequest, {"text": None}),
        (BriefUpdate, {}),
        (BriefUpdate, {"significant": True}),
        (BriefUpdate, {"significant": True, "change_note": "The date was wrong"}),
        (BriefUpdate, {"significant": False, "title": "Baby T"}),
        (GroupUpdate, {"name": None}),
        (GroupUpdate, {"borough": None}),
        (GroupCreate, {"name": "Sefton GPs", "description": "a\x00b"}),
    ],
)
def test_the_schema_and_the_model_agree(model: type[BaseModel], body: dict[str, Any]) -> None:
    """Rules across fields, and the NUL no field takes, are stated in the schema too."""
    stated = Draft202012Validator(model.model_json_schema()).is_valid(body)
    try:
        model.model_validate(body)
        enforced = True
    except ValidationError:
        enforced = False
    assert stated is enforced
