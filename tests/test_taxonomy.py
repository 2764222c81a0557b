"""The taxonomy file: its codes match the contract, and broken files name the failing line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from service.taxonomy import (
    FACETS,
    TaxonomyError,
    default_taxonomy,
    load_taxonomy,
    phrase_is_valid,
)

CONTRACT = Path(__file__).parent / "data" / "TAXONOMY.md"

GOOD = """\
version: 1
themes:
  - code: neglect
    label: Neglect
    description: Neglect.
    phrases: [neglect*]
agencies:
  - code: health
    label: Health
    description: Health in general.
    phrases: [health professional*]
  - code: midwifery
    label: Midwifery
    parent: health
    description: Midwives.
    phrases: [midwi*]
boroughs:
  - code: wirral
    label: Wirral
    description: Wirral.
    phrases: [wirral]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "taxonomy.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def contract_codes() -> dict[str, set[str]]:
    text = CONTRACT.read_text(encoding="utf-8")
    sections = re.split(r"^## ", text, flags=re.MULTILINE)
    codes: dict[str, set[str]] = {}
    for facet in FACETS:
        section = next(s for s in sections if s.lower().startswith(facet))
        codes[facet] = set(re.findall(r"`([a-z0-9-]+)`", section))
    return codes


def test_codes_are_exactly_the_contract_codes() -> None:
    taxonomy = default_taxonomy()
    for facet, codes in contract_codes().items():
        assert taxonomy.codes(facet) == codes, facet


def test_packaged_file_loads_with_version_and_health_children() -> None:
    taxonomy = default_taxonomy()
    assert taxonomy.version == 1
    children = {t.code for t in taxonomy.terms("agencies") if t.parent == "health"}
    assert children == {
        "health-visiting",
        "midwifery",
        "primary-care",
        "hospital",
        "mental-health-services",
        "public-health",
        "health-commissioning",
    }
    terms = [t for f in FACETS for t in taxonomy.terms(f)]
    assert terms and all(t.phrases and t.label and t.description for t in terms)


def test_api_get_expand_unknown(tmp_path: Path) -> None:
    taxonomy = load_taxonomy(write(tmp_path, GOOD))
    assert taxonomy.get("agencies", "midwifery").parent == "health"
    with pytest.raises(KeyError):
        taxonomy.get("agencies", "neglect")
    assert taxonomy.expand("agencies", ["health"]) == {"health", "midwifery"}
    assert taxonomy.expand("agencies", ["midwifery"]) == {"midwifery"}
    assert taxonomy.unknown("themes", ["nope", "neglect", "also-nope"]) == ["nope", "also-nope"]
    assert taxonomy.codes("boroughs") == {"wirral"}


def test_a_board_may_add_codes(tmp_path: Path) -> None:
    extra = GOOD.replace(
        "boroughs:\n",
        "  - code: ambulance\n    label: A\n    description: D\n"
        "    phrases: [ambulance]\nboroughs:\n",
    )
    assert "ambulance" in load_taxonomy(write(tmp_path, extra)).codes("agencies")


NEAR = "    phrases: [neglect*]\n"
NEAR_RULE = "    near:\n      - heads: [unkempt]\n        context: [mother]\n        within: 5\n"
WITH_NEAR = GOOD.replace(NEAR, NEAR + NEAR_RULE)


def near(old: str, new: str) -> str:
    """The taxonomy with its near rule changed."""
    return WITH_NEAR.replace(NEAR_RULE, NEAR_RULE.replace(old, new))


def test_weak_phrases_near_rules_and_salience_are_read(tmp_path: Path) -> None:
    more = "    salience: 0.5\n    phrases: [neglect*]\n    weak: [dirty]\n"
    text = WITH_NEAR.replace("    phrases: [neglect*]\n", more)
    neglect = load_taxonomy(write(tmp_path, text)).get("themes", "neglect")
    assert neglect.weak == ("dirty",)
    assert neglect.salience == 0.5
    [rule] = neglect.near
    assert (rule.heads, rule.context, rule.within) == (("unkempt",), ("mother",), 5)
    plain = load_taxonomy(write(tmp_path, GOOD)).get("themes", "neglect")
    assert (plain.weak, plain.near, plain.salience) == ((), (), 1.0)


BROKEN = [
    ("syntax", GOOD.replace("phrases: [neglect*]", "phrases: [neglect*"), 7, "invalid YAML"),
    ("missing", GOOD.replace("    description: Midwives.\n", ""), 12, "missing 'description'"),
    ("parent", GOOD.replace("parent: health", "parent: helth"), 14, "unknown parent 'helth'"),
    ("facet", GOOD.replace("boroughs:", "places:"), 17, "unknown facet 'places'"),
    ("phrase", GOOD.replace("[midwi*]", "[midwi*, '']"), 16, "expected a phrase"),
    ("bad phrase", GOOD.replace("[wirral]", "['wir  ral']"), 21, "invalid phrase"),
    ("duplicate", GOOD.replace("code: midwifery", "code: health"), 12, "duplicate"),
    (
        "grandparent",
        GOOD.replace(
            "    phrases: [health professional*]\n",
            "    parent: midwifery\n    phrases: [health professional*]\n",
        ),
        11,
        "has a parent itself",
    ),
    (
        "flag",
        GOOD.replace("    phrases: [neglect*]", "    negatable: maybe\n    phrases: [neglect*]"),
        6,
        "true or false",
    ),
    ("version", GOOD.replace("version: 1", "version: one"), 1, "version"),
    (
        "salience",
        GOOD.replace("    phrases: [neglect*]", "    salience: 1.5\n    phrases: [neglect*]"),
        6,
        "salience must be a number above 0 and at most 1",
    ),
    (
        "weak",
        GOOD.replace("    phrases: [neglect*]", "    phrases: [neglect*]\n    weak: []"),
        7,
        "must be a non-empty list",
    ),
    ("near within", near("within: 5", "within: 50"), 10, "1 to 20"),
    ("near field", near("within:", "reach:"), 10, "unknown field"),
    ("near missing", near("        within: 5\n", ""), 8, "missing"),
    ("near blocker", near("[mother]", "['!mother']"), 8, "can't hold a blocker"),
    (
        "field",
        GOOD.replace("    label: Wirral\n", "    label: Wirral\n    colour: red\n"),
        20,
        "unknown field",
    ),
]


@pytest.mark.parametrize(("name", "text", "line", "message"), BROKEN, ids=[b[0] for b in BROKEN])
def test_broken_files_name_the_line(
    tmp_path: Path, name: str, text: str, line: int, message: str
) -> None:
    with pytest.raises(TaxonomyError) as caught:
        load_taxonomy(write(tmp_path, text))
    assert f"line {line}:" in str(caught.value)
    assert message in str(caught.value)
    assert "taxonomy.yaml" in str(caught.value)


def test_unknown_parent_message_reads_like_a_sentence(tmp_path: Path) -> None:
    with pytest.raises(TaxonomyError, match=r"agency 'midwifery' has unknown parent 'helth'"):
        load_taxonomy(write(tmp_path, GOOD.replace("parent: health", "parent: helth")))


def test_missing_and_empty_files(tmp_path: Path) -> None:
    with pytest.raises(TaxonomyError, match="cannot read"):
        load_taxonomy(tmp_path / "absent.yaml")
    with pytest.raises(TaxonomyError, match="empty"):
        load_taxonomy(write(tmp_path, ""))


@pytest.mark.parametrize(
    ("phrase", "valid"),
    [
        ("co-sleep*", True),
        ("voice of [the] child*", True),
        ("!school attendance", True),
        ("A&E", True),
        ("", False),
        ("double  space", False),
        (" leading", False),
        ("[the]", False),
        ("star*in middle", False),
        ("sta*r", False),
        ("unclosed [bracket", False),
    ],
)
def test_phrase_grammar(phrase: str, valid: bool) -> None:
    assert phrase_is_valid(phrase) is valid
