"""The 7-minute briefing: a brief laid out for a team meeting, and the short lead of emails.

A briefing's sections, in the order partnerships use: background, what happened (the
summary), why it matters, key points (the learning points), what to do (actions), questions
for reflection, resources. A section with nothing in it is left out. The page
(handlers/briefings.py) and the PDF (handlers/briefing_pdf.py) are made from the same list.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any

import nh3

from service.briefs.models import Brief

LEAD_WORDS = 120
HOW_TO_USE = (
    "Deliver this briefing face to face in a team meeting: read it through in about seven "
    "minutes, then discuss the questions for reflection together and agree what your team "
    "will do."
)
_FIRST_PARAGRAPH = re.compile(r"<p>.*?</p>", re.DOTALL)
_BLOCK = re.compile(r"<(p|li|h[2-4]|pre|blockquote)\b[^>]*>(.*?)</\1>", re.DOTALL)


@dataclass(frozen=True)
class Section:
    """One section: its id (for anchors and tests), heading, and either paragraphs of
    plain text, trusted HTML (the rendered summary), a list of items, or links."""

    id: str
    heading: str
    paragraphs: tuple[str, ...] = ()
    html: str | None = None
    items: tuple[str, ...] = ()
    links: tuple[tuple[str, str], ...] = ()


def paragraphs(text: str | None) -> tuple[str, ...]:
    """Plain text in paragraphs: a blank line between them; lines within one joined."""
    if not text:
        return ()
    return tuple(" ".join(p.split()) for p in re.split(r"\n\s*\n", text) if p.strip())


def html_blocks(fragment: str) -> tuple[str, ...]:
    """The text of sanitised HTML's paragraphs and list items, tags dropped (for the PDF)."""
    found = [_plain(match.group(2)) for match in _BLOCK.finditer(fragment)]
    return tuple(text for text in found if text)


def sections(brief: Brief) -> list[Section]:
    found = [
        Section("background", "Background", paragraphs=paragraphs(brief.background)),
        Section("what-happened", "What happened", html=brief.summary_html),
        Section("why-it-matters", "Why it matters", paragraphs=paragraphs(brief.why_it_matters)),
        Section("key-points", "Key points", items=tuple(brief.learning_points)),
        Section("what-to-do", "What to do", items=tuple(brief.actions or ())),
        Section("questions", "Questions for reflection", items=tuple(brief.questions or ())),
        Section(
            "resources",
            "Resources",
            links=tuple((r["title"], r["url"]) for r in brief.resources or ()),
        ),
    ]
    return [s for s in found if s.paragraphs or s.html or s.items or s.links]


def briefing_url(base_url: str, brief: Any) -> str:
    return f"{base_url}/briefs/{brief.id}/briefing"


@dataclass(frozen=True)
class Lead:
    """The summary's first paragraph, cut to about LEAD_WORDS words, as HTML and as text."""

    html: str
    text: str
    cut: bool


def lead(summary_html: str, words: int = LEAD_WORDS) -> Lead:
    """The first paragraph as it is if it is short; else its first ``words`` words, cut at a
    word and ended with "…" (then as plain text: a cut can't leave a tag open)."""
    match = _FIRST_PARAGRAPH.search(summary_html)
    if match is None:
        return Lead("", "", False)
    text = _plain(match.group(0))
    split = text.split()
    if len(split) <= words:
        return Lead(match.group(0), text, False)
    short = " ".join(split[:words]).rstrip(",;:.-\u2013\u2014") + "…"
    return Lead(f"<p>{html.escape(short, quote=False)}</p>", short, True)


def email_context(brief: Brief, base_url: str) -> dict[str, Any]:
    """What alerts (and the console's preview of one) add for the briefing: the same for
    every recipient."""
    found = lead(brief.summary_html)
    return {
        "briefing_url": briefing_url(base_url, brief),
        "lead_html": found.html,
        "lead_text": found.text,
    }


def _plain(fragment: str) -> str:
    return " ".join(html.unescape(nh3.clean(fragment, tags=set())).split())
