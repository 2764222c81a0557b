"""The taxonomy of themes, agencies and boroughs, loaded from a versioned YAML file."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, NoReturn, cast

import yaml

Facet = Literal["themes", "agencies", "boroughs"]
FACETS: tuple[Facet, ...] = ("themes", "agencies", "boroughs")
_SINGULAR: dict[str, str] = {"themes": "theme", "agencies": "agency", "boroughs": "borough"}
DEFAULT_PATH = Path(__file__).with_name("taxonomy.yaml")

_REQUIRED = ("code", "label", "description", "phrases")
_OPTIONAL = ("parent", "negatable", "weak", "near", "salience")
_NEAR_FIELDS = ("heads", "context", "within")
# How far, in words, a context rule may look from its head word (see NearRule).
MAX_WITHIN = 20
_CODE = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
# The phrase grammar documented at the top of taxonomy.yaml: an optional "!", then words
# separated by single spaces. A word is letters, digits, apostrophes (straight or curly) and
# & . , / -, with optional parts in [brackets] (a whole word in brackets is an optional word)
# and an optional trailing "*".
_WORD = r"(?:[\w'\u2019&.,/-]|\[[\w'\u2019&.,/-]+\])+\*?"
_PHRASE = re.compile(rf"!?{_WORD}(?: {_WORD})*")


class TaxonomyError(Exception):
    """A taxonomy file that cannot be used; the message names the file and the line."""


@dataclass(frozen=True)
class NearRule:
    """A head phrase that counts for its term only with a context word close by.

    "depress*" is parental mental health when "mother", "dad" or "parent*" stands within
    ``within`` words of it in the same sentence; on its own it may be the child's.
    """

    heads: tuple[str, ...]
    context: tuple[str, ...]
    within: int


@dataclass(frozen=True)
class Term:
    facet: Facet
    code: str
    label: str
    description: str
    parent: str | None
    phrases: tuple[str, ...]
    # Whether "no concerns about X" removes the evidence: true for risks (neglect), false for
    # practice themes where a negation is the finding ("the child was not seen alone").
    negatable: bool = False
    # Generic words that name the term in passing ("referral", "training"): found like phrases,
    # but each mention counts half towards how central the term is (docs/tagging.md).
    weak: tuple[str, ...] = ()
    near: tuple[NearRule, ...] = ()
    # What one mention of the term counts towards its weight (docs/tagging.md): below 1 for
    # themes that nearly every review touches in passing.
    salience: float = 1.0


class Taxonomy:
    """The terms of each facet, in file order."""

    def __init__(self, version: int, terms: dict[Facet, tuple[Term, ...]]) -> None:
        self.version = version
        self._terms = terms
        self._by_code = {f: {t.code: t for t in terms.get(f, ())} for f in FACETS}

    def terms(self, facet: Facet) -> tuple[Term, ...]:
        return self._terms.get(facet, ())

    def codes(self, facet: Facet) -> frozenset[str]:
        return frozenset(self._by_code[facet])

    def get(self, facet: Facet, code: str) -> Term:
        """The term with this code; KeyError if the facet has no such code."""
        return self._by_code[facet][code]

    def expand(self, facet: Facet, codes: Iterable[str]) -> frozenset[str]:
        """The codes plus the children of any parent among them (agency health -> its children)."""
        wanted = set(codes)
        children = {t.code for t in self.terms(facet) if t.parent in wanted}
        return frozenset(wanted | children)

    def unknown(self, facet: Facet, codes: Iterable[str]) -> list[str]:
        """The codes that the facet does not have, in input order."""
        known = self._by_code[facet]
        return [code for code in codes if code not in known]


def phrase_is_valid(phrase: str) -> bool:
    """Whether a phrase follows the grammar and has something to match outside brackets."""
    if not _PHRASE.fullmatch(phrase):
        return False
    return re.search(r"\w", re.sub(r"\[[^\]]*\]", "", phrase)) is not None


def load_taxonomy(path: Path | None = None) -> Taxonomy:
    """Read and validate a taxonomy file; the packaged one by default."""
    path = path or DEFAULT_PATH
    return _Loader(path).load()


@functools.cache
def default_taxonomy() -> Taxonomy:
    return load_taxonomy()


class _Loader:
    """Builds a Taxonomy from the YAML node tree, which keeps the line of every value."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.name = _display_name(path)
        # Where each parent was written, so that an unknown parent is reported on its own line.
        self.parent_nodes: dict[tuple[Facet, str], yaml.Node] = {}

    def fail(self, node: yaml.Node | None, message: str) -> NoReturn:
        where = f", line {node.start_mark.line + 1}" if node is not None else ""
        raise TaxonomyError(f"{self.name}{where}: {message}")

    def load(self) -> Taxonomy:
        root = self.compose()
        if not isinstance(root, yaml.MappingNode):
            self.fail(root, "expected a mapping with 'version' and the facets")
        version: int | None = None
        terms: dict[Facet, tuple[Term, ...]] = {}
        for key, value in root.value:
            name = self.scalar(key, "a top-level key")
            if name == "version":
                version = self.version(value)
            elif name in FACETS:
                terms[cast(Facet, name)] = self.facet(cast(Facet, name), value)
            else:
                self.fail(key, f"unknown facet {name!r} (expected one of {', '.join(FACETS)})")
        if version is None:
            self.fail(root, "missing 'version'")
        return Taxonomy(version, terms)

    def compose(self) -> yaml.Node | None:
        try:
            text = self.path.read_text(encoding="utf-8")
        except OSError as exc:
            raise TaxonomyError(f"{self.name}: cannot read the file ({exc.strerror})") from exc
        try:
            root = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = f", line {mark.line + 1}" if mark else ""
            raise TaxonomyError(f"{self.name}{line}: invalid YAML ({exc.problem})") from exc
        if root is None:
            raise TaxonomyError(f"{self.name}: the file is empty")
        return root

    def scalar(self, node: yaml.Node, what: str) -> str:
        if not isinstance(node, yaml.ScalarNode) or not str(node.value).strip():
            self.fail(node, f"expected {what} as non-empty text")
        return str(node.value)

    def version(self, node: yaml.Node) -> int:
        text = self.scalar(node, "the version")
        if not text.isdigit() or int(text) < 1:
            self.fail(node, f"version must be a positive whole number, not {text!r}")
        return int(text)

    def facet(self, facet: Facet, node: yaml.Node) -> tuple[Term, ...]:
        if not isinstance(node, yaml.SequenceNode):
            self.fail(node, f"{facet} must be a list of terms")
        terms: list[Term] = []
        lines: dict[str, yaml.Node] = {}
        for item in node.value:
            term = self.term(facet, item)
            if term.code in lines:
                first = lines[term.code].start_mark.line + 1
                self.fail(item, f"duplicate {facet} code {term.code!r} (first on line {first})")
            lines[term.code] = item
            terms.append(term)
        self.check_parents(facet, terms)
        return tuple(terms)

    def term(self, facet: Facet, node: yaml.Node) -> Term:
        if not isinstance(node, yaml.MappingNode):
            self.fail(node, f"each of {facet} must be a mapping with {', '.join(_REQUIRED)}")
        fields = {self.scalar(k, "a field name"): (k, v) for k, v in node.value}
        for name, (key, _) in fields.items():
            if name not in _REQUIRED + _OPTIONAL:
                self.fail(key, f"unknown field {name!r} in {facet}")
        missing = [name for name in _REQUIRED if name not in fields]
        if missing:
            self.fail(node, f"{facet} term is missing {', '.join(repr(m) for m in missing)}")
        code = self.scalar(fields["code"][1], "the code")
        if not _CODE.fullmatch(code):
            self.fail(fields["code"][1], f"code {code!r} must be lowercase words joined by '-'")
        parent = None
        if "parent" in fields:
            parent = self.scalar(fields["parent"][1], "the parent")
            self.parent_nodes[facet, code] = fields["parent"][1]
        return Term(
            facet=facet,
            code=code,
            label=self.scalar(fields["label"][1], "the label"),
            description=self.scalar(fields["description"][1], "the description"),
            parent=parent,
            phrases=self.phrases(code, fields["phrases"][1]),
            negatable=self.flag(fields["negatable"][1]) if "negatable" in fields else False,
            weak=self.phrases(code, fields["weak"][1]) if "weak" in fields else (),
            near=self.near_rules(code, fields["near"][1]) if "near" in fields else (),
            salience=self.fraction(fields["salience"][1]) if "salience" in fields else 1.0,
        )

    def fraction(self, node: yaml.Node) -> float:
        text = self.scalar(node, "a number")
        try:
            value = float(text)
        except ValueError:
            value = -1.0
        if not 0 < value <= 1:
            self.fail(node, f"salience must be a number above 0 and at most 1, not {text!r}")
        return value

    def near_rules(self, code: str, node: yaml.Node) -> tuple[NearRule, ...]:
        if not isinstance(node, yaml.SequenceNode) or not node.value:
            self.fail(node, f"near of {code!r} must be a non-empty list of rules")
        rules = []
        for item in node.value:
            if not isinstance(item, yaml.MappingNode):
                self.fail(item, f"each near rule of {code!r} needs {', '.join(_NEAR_FIELDS)}")
            fields = {self.scalar(k, "a field name"): (k, v) for k, v in item.value}
            for name, (key, _) in fields.items():
                if name not in _NEAR_FIELDS:
                    self.fail(key, f"unknown field {name!r} in a near rule of {code!r}")
            missing = [name for name in _NEAR_FIELDS if name not in fields]
            if missing:
                self.fail(item, f"near rule of {code!r} is missing {', '.join(map(repr, missing))}")
            within = self.scalar(fields["within"][1], "a number of words")
            if not within.isdigit() or not 1 <= int(within) <= MAX_WITHIN:
                self.fail(fields["within"][1], f"within must be 1 to {MAX_WITHIN} words")
            heads = self.phrases(code, fields["heads"][1])
            context = self.phrases(code, fields["context"][1])
            if any(p.startswith("!") for p in heads + context):
                self.fail(item, f"a near rule of {code!r} can't hold a blocker")
            rules.append(NearRule(heads, context, int(within)))
        return tuple(rules)

    def flag(self, node: yaml.Node) -> bool:
        text = self.scalar(node, "true or false").lower()
        if text not in ("true", "false"):
            self.fail(node, f"expected true or false, not {text!r}")
        return text == "true"

    def phrases(self, code: str, node: yaml.Node) -> tuple[str, ...]:
        if not isinstance(node, yaml.SequenceNode) or not node.value:
            self.fail(node, f"phrases of {code!r} must be a non-empty list")
        phrases = []
        for item in node.value:
            phrase = self.scalar(item, f"a phrase of {code!r}")
            if not phrase_is_valid(phrase):
                self.fail(item, f"invalid phrase {phrase!r} for {code!r}")
            phrases.append(phrase)
        return tuple(phrases)

    def check_parents(self, facet: Facet, terms: list[Term]) -> None:
        by_code = {t.code: t for t in terms}
        for term in terms:
            if term.parent is None:
                continue
            parent = by_code.get(term.parent)
            node = self.parent_nodes[facet, term.code]
            if parent is None:
                self.fail(
                    node,
                    f"{_SINGULAR[facet]} {term.code!r} has unknown parent {term.parent!r}",
                )
            if parent.parent is not None:
                self.fail(node, f"parent {term.parent!r} of {term.code!r} has a parent itself")


def _display_name(path: Path) -> str:
    """The path relative to the working directory when it is inside it, for short messages."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)
