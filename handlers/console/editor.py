"""The brief editor's form: reading it into the service's schemas, and the tags to review.

The tagger's suggestions are shown with the words that found them marked in the text; the
publisher keeps or removes each one and may tick others. A facet left exactly as the tagger
(or, when editing, as the brief already had it) is passed on as "not chosen", so that the
tags stay the tagger's and follow later edits of the text.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from service.briefs.documents.paste import repair_items, repair_text
from service.briefs.models import Brief
from service.tagging import BriefText, Tagger, TagSuggestions, brief_text
from service.taxonomy import FACETS, Facet, Taxonomy

FIELD_OF = {
    ("source", "review"): "source_review",
    ("source", "board"): "source_board",
    ("source", "published_on"): "source_day",
    ("source", "url"): "source_url",
}
MESSAGES = {
    "title": "Enter a title of up to 300 characters",
    "summary": "Enter a summary",
    "learning_points": "Enter between 1 and 30 learning points, one a line",
    "source_review": "Enter the name of the review, like Child R",
    "source_board": "Enter the board or partnership that published the review",
    "source_day": "Enter the date the review was published as a real date, like 14 3 2025",
    "source_url": "Enter the review's web address, starting with https://",
    "audience": "Choose who may read the brief",
    "change_note": "Say what changed: subscribers will read it",
    "significant": "Select yes if this is a significant change",
    "themes": "Choose themes from the list",
    "background": "Enter the background in up to 5,000 characters",
    "why_it_matters": "Enter why it matters in up to 5,000 characters",
    "actions": "Enter up to 20 actions, one a line, each up to 1,000 characters",
    "questions": "Enter up to 20 questions, one a line, each up to 1,000 characters",
    "resources": (
        "Enter up to 20 resources, one a line: a title, then a web address starting with "
        "https:// or http://"
    ),
}
LEGENDS = {"themes": "Themes", "agencies": "Agencies", "boroughs": "Boroughs"}
# The most the editor takes in each box, as typed: the brief's own limits
# (service.briefs.schemas), with a line break for each item of a list. A working copy or a
# kept form larger than this is refused.
LIMITS = {
    "title": 300,
    "summary": 50_000,
    "learning_points": 30 * (2_000 + 2),
    "source_review": 300,
    "source_board": 300,
    "source_day": 10,
    "source_month": 10,
    "source_year": 10,
    "source_url": 2_000,
    "background": 5_000,
    "why_it_matters": 5_000,
    "actions": 20 * (1_000 + 2),
    "questions": 20 * (1_000 + 2),
    "resources": 20 * (300 + 1 + 2_000 + 2),
    "change_note": 2_000,
}


@dataclass
class EditorForm:
    """What the publisher typed, kept as typed so that the form re-renders unchanged."""

    title: str = ""
    summary: str = ""
    learning_points: str = ""
    source_review: str = ""
    source_board: str = ""
    source_day: str = ""
    source_month: str = ""
    source_year: str = ""
    source_url: str = ""
    audience: str = "public"
    # The 7-minute briefing's fields; lists one item a line, a resource "title URL".
    background: str = ""
    why_it_matters: str = ""
    actions: str = ""
    questions: str = ""
    resources: str = ""
    # Editing a published brief: "yes" or "no" to "Is this a significant change?"; "" unasked.
    significant: str = ""
    change_note: str = ""
    chosen: dict[Facet, list[str]] = field(default_factory=lambda: {f: [] for f in FACETS})
    # The suggestions the publisher saw ("facet:code"), so that a removal is remembered.
    suggested: set[str] = field(default_factory=set)
    reviewed: bool = False

    @classmethod
    def parse(cls, form: Any) -> EditorForm:
        text = {name: str(form.get(name, "")).strip() for name in _TEXT_FIELDS}
        return cls(
            **text,
            audience=str(form.get("audience", "public")),
            significant=str(form.get("significant", "")),
            chosen={facet: list(dict.fromkeys(form.getall(facet, []))) for facet in FACETS},
            suggested=set(str(form.get("suggested", "")).split()),
            reviewed=form.get("reviewed") == "yes",
        )

    @classmethod
    def of(cls, brief: Brief) -> EditorForm:
        day = brief.source_published_on
        return cls(
            title=brief.title,
            summary=brief.summary,
            learning_points="\n".join(brief.learning_points),
            source_review=brief.source_review,
            source_board=brief.source_board,
            source_day=str(day.day) if day else "",
            source_month=str(day.month) if day else "",
            source_year=str(day.year) if day else "",
            source_url=brief.source_url or "",
            audience=brief.audience,
            background=brief.background or "",
            why_it_matters=brief.why_it_matters or "",
            actions="\n".join(brief.actions or []),
            questions="\n".join(brief.questions or []),
            resources="\n".join(f"{r['title']} {r['url']}" for r in brief.resources or []),
            chosen={facet: brief.codes(facet) for facet in FACETS},
            reviewed=True,
        )

    def to_copy(self, taxonomy: Taxonomy) -> dict[str, Any]:
        """The form as a working copy or kept form holds it (JSON); only the taxonomy's codes,
        so that its size is bounded by ``LIMITS`` and the taxonomy."""
        known: dict[str, set[str]] = {f: {t.code for t in taxonomy.terms(f)} for f in FACETS}

        def is_known(key: str) -> bool:
            facet, _, code = key.partition(":")
            return code in known.get(facet, set())

        return {
            **{name: getattr(self, name) for name in _TEXT_FIELDS},
            "audience": self.audience,
            "significant": self.significant,
            "chosen": {f: [c for c in self.chosen[f] if c in known[f]] for f in FACETS},
            "suggested": sorted(key for key in self.suggested if is_known(key)),
            "reviewed": self.reviewed,
        }

    @classmethod
    def from_copy(cls, copy: dict[str, Any]) -> EditorForm:
        chosen = copy.get("chosen") or {}
        return cls(
            **{name: str(copy.get(name) or "") for name in _TEXT_FIELDS},
            audience=str(copy.get("audience") or "public"),
            significant=str(copy.get("significant") or ""),
            chosen={f: [str(c) for c in chosen.get(f) or []] for f in FACETS},
            suggested={str(key) for key in copy.get("suggested") or []},
            reviewed=bool(copy.get("reviewed")),
        )

    def oversized(self) -> list[str]:
        """The fields longer than the editor takes (``LIMITS``), which no copy keeps."""
        too_long = [name for name, most in LIMITS.items() if len(getattr(self, name)) > most]
        return too_long + [
            name for name in ("audience", "significant") if len(getattr(self, name)) > 20
        ]

    def same_as(self, other: EditorForm) -> bool:
        """Whether saving one would save the other: line endings, blank lines and the
        order of ticked tags aside."""

        def key(form: EditorForm) -> tuple[Any, ...]:
            texts = tuple(
                _lines(value) if name in _LIST_FIELDS else _paragraphs(value)
                for name in _TEXT_FIELDS
                for value in [getattr(form, name)]
            )
            chosen = tuple(frozenset(form.chosen[f]) for f in FACETS)
            return texts, chosen, form.audience, form.significant

        return key(self) == key(other)

    def points(self) -> list[str]:
        return _lines(self.learning_points)

    def briefing(self) -> dict[str, Any]:
        """The briefing's fields: an empty box clears its field."""
        resources = []
        for line in _lines(self.resources):
            title, _, url = line.rpartition(" ")
            # A line without a title or a web address: the schema refuses it.
            resources.append({"title": title.strip() or url, "url": url if title else ""})
        return {
            "background": self.background or None,
            "why_it_matters": self.why_it_matters or None,
            "actions": _lines(self.actions),
            "questions": _lines(self.questions),
            "resources": resources,
        }

    def text(self) -> str:
        return brief_text(self.title, self.summary, self.points())

    def fields(self) -> dict[str, Any]:
        """The brief's fields for BriefCreate or BriefUpdate (the date checked separately)."""
        return {
            "title": self.title,
            "summary": self.summary,
            "learning_points": self.points(),
            "source": {
                "review": self.source_review,
                "board": self.source_board,
                "published_on": self.published_on(),
                "url": self.source_url or None,
            },
            "audience": self.audience,
            **self.briefing(),
        }

    def published_on(self) -> dt.date | str | None:
        """The date, or a string the schema refuses (so the error lands on the date field)."""
        parts = (self.source_day, self.source_month, self.source_year)
        if not any(parts):
            return None
        try:
            return dt.date(int(parts[2]), int(parts[1]), int(parts[0]))
        except (ValueError, OverflowError):  # a year past any calendar overflows
            return "invalid"

    def tidy(self) -> None:
        """The repair of imported reviews, on text pasted in: paragraphs whole again,
        hyphenation undone, page furniture out, bullets as lists or as one item a line."""
        for name in ("summary", "background", "why_it_matters"):
            setattr(self, name, repair_text(getattr(self, name)))
        for name in ("learning_points", "actions", "questions"):
            setattr(self, name, repair_items(getattr(self, name)))

    def take_suggestions(self, suggestions: TagSuggestions) -> None:
        """Tick the new suggestions; keep the publisher's removals and own additions."""
        ticked = {f"{facet}:{code}" for facet in FACETS for code in self.chosen[facet]}
        removed = self.suggested - ticked
        for facet in FACETS:
            for code in suggestions.codes(facet):
                if f"{facet}:{code}" not in removed and code not in self.chosen[facet]:
                    self.chosen[facet].append(code)
        self.suggested = {f"{f}:{c}" for f in FACETS for c in suggestions.codes(f)}
        self.reviewed = True

    def facets_for_create(self, suggestions: TagSuggestions) -> dict[str, list[str] | None]:
        """None where the publisher left the tagger's choice alone."""
        if not self.reviewed:
            return {f: (self.chosen[f] or None) for f in FACETS}
        return {
            f: None if set(self.chosen[f]) == set(suggestions.codes(f)) else self.chosen[f]
            for f in FACETS
        }

    def facets_for_update(self, brief: Brief) -> dict[str, list[str] | None]:
        owned = set(brief.publisher_facets or [])
        return {
            f: None
            if f not in owned and set(self.chosen[f]) == set(brief.codes(f))
            else self.chosen[f]
            for f in FACETS
        }


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _paragraphs(text: str) -> str:
    """Text with its line endings as \\n and no spaces at their ends (a browser sends \\r\\n)."""
    return "\n".join(line.rstrip() for line in text.splitlines()).strip()


_LIST_FIELDS = {"learning_points", "actions", "questions", "resources"}


_TEXT_FIELDS = [
    "background",
    "why_it_matters",
    "actions",
    "questions",
    "resources",
    "title",
    "summary",
    "learning_points",
    "source_review",
    "source_board",
    "source_day",
    "source_month",
    "source_year",
    "source_url",
    "change_note",
]


def form_errors(exc: ValidationError) -> dict[str, str]:
    """Field id -> the message the error summary links to it."""
    errors: dict[str, str] = {}
    for error in exc.errors():
        loc = tuple(str(part) for part in error["loc"])
        pair = (loc[0], loc[1]) if len(loc) > 1 else ("", "")
        name = FIELD_OF.get(pair, loc[0] if loc else "change_note")
        if name in FACETS:
            name = "themes"
        errors.setdefault(name, MESSAGES.get(name, "Check this field"))
    return errors


@dataclass(frozen=True)
class Excerpt:
    """The sentence around a mention: ``before`` + the words found + ``after``."""

    before: str
    found: str
    after: str


@dataclass(frozen=True)
class TagRow:
    code: str
    label: str
    checked: bool
    # The sentences that found it, the strongest first (empty for a term not found).
    excerpts: list[Excerpt] = field(default_factory=list)


EXCERPT_SIDE = 120  # characters at most either side of the words found
_SENTENCE_END = re.compile(r"[.!?](?=\s)|\n")


def excerpt(text: str, start: int, end: int) -> Excerpt:
    """The sentence (or line) of ``text`` around [start, end), cut to EXCERPT_SIDE a side."""
    left = max((m.end() for m in _SENTENCE_END.finditer(text, 0, start)), default=0)
    found = _SENTENCE_END.search(text, end)
    right = found.end() if found else len(text)
    before, after = text[left:start].lstrip(), text[end:right].rstrip()
    if len(before) > EXCERPT_SIDE:
        before = "…" + before[-EXCERPT_SIDE:].split(" ", 1)[-1]
    if len(after) > EXCERPT_SIDE:
        after = after[:EXCERPT_SIDE].rsplit(" ", 1)[0] + "…"
    return Excerpt(before, text[start:end], after)


def tag_rows(
    form: EditorForm, suggestions: TagSuggestions, taxonomy: Taxonomy
) -> list[dict[str, Any]]:
    """Per facet: the suggestions, strongest first, each with the sentences that found it;
    the codes found but not suggested ("also mentioned"); then every other term."""
    text = form.text()
    board = form.source_board
    facets = []
    for facet in FACETS:
        found = getattr(suggestions, facet)
        rows = {}
        for tag in found:
            strongest = sorted(tag.evidence, key=lambda e: -e.score)
            excerpts = [
                excerpt(board if e.field == "source.board" else text, e.start, e.end)
                for e in strongest
            ]
            rows[tag.code] = TagRow(tag.code, tag.label, tag.code in form.chosen[facet], excerpts)
        facets.append(
            {
                "name": facet,
                "legend": LEGENDS[facet],
                "suggested": [rows[t.code] for t in found if t.suggested],
                "mentioned": [rows[t.code] for t in found if not t.suggested],
                "others": [
                    TagRow(t.code, t.label, t.code in form.chosen[facet])
                    for t in taxonomy.terms(facet)
                    if t.code not in rows
                ],
            }
        )
    return facets


def tag_changes(
    brief: Brief, form: EditorForm, suggestions: TagSuggestions, taxonomy: Taxonomy
) -> list[dict[str, Any]]:
    """Per facet, the tags a save of this form would add to the brief and remove from it:
    the publisher's choice where they made one, else the tagger's on the new text."""
    changes = []
    chosen = form.facets_for_update(brief)
    for facet in FACETS:
        picked = chosen[facet]
        after = set(picked) if picked is not None else set(suggestions.codes(facet))
        before = set(brief.codes(facet))
        added = [t.label for t in taxonomy.terms(facet) if t.code in after - before]
        removed = [t.label for t in taxonomy.terms(facet) if t.code in before - after]
        if added or removed:
            changes.append({"legend": LEGENDS[facet], "added": added, "removed": removed})
    return changes


def suggest(tagger: Tagger, form: EditorForm) -> TagSuggestions:
    """The tagger's suggestions as the service will make them on saving (service.briefs.tags):
    the title and learning points known, the source board's boroughs counted."""
    if not form.text().strip():
        return TagSuggestions()
    text = BriefText.of(form.title, form.summary, form.points())
    return tagger.tag_brief(text, board=form.source_board or None)
