"""Reading brief files: Markdown with a YAML front matter, or JSON."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import frontmatter
import yaml
from pydantic import ValidationError

from service.briefs.schemas import BriefCreate

_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+(.+)$")


class ImportFileError(Exception):
    """A file that can't become a brief; the message says why in one sentence."""


@dataclass(frozen=True)
class BriefFile:
    path: Path
    brief: BriefCreate


def read_brief_file(path: Path) -> BriefFile:
    try:
        raw = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ImportFileError(f"can't read it: {exc}") from None
    data = _parse_json(raw) if path.suffix.lower() == ".json" else _parse_markdown(raw)
    try:
        return BriefFile(path, BriefCreate.model_validate_json(data))
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'file'}: {e['msg']}" for e in exc.errors()
        )
        raise ImportFileError(problems) from None


def _parse_json(raw: str) -> str:
    try:
        json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ImportFileError(f"not valid JSON: {exc}") from None
    return raw


def _parse_markdown(raw: str) -> str:
    """Front matter holds the fields; the body is the summary, unless it has a heading
    ``## Learning points`` whose list items become the learning points."""
    try:
        post = frontmatter.loads(raw)
    except yaml.YAMLError as exc:
        raise ImportFileError(f"the front matter is not valid YAML: {exc}") from None
    data = dict(post.metadata)
    summary, points = _split_learning_points(post.content)
    data.setdefault("summary", summary)
    if points:
        data.setdefault("learning_points", points)
    # Through JSON, so that YAML's dates arrive as the ISO strings the API accepts.
    return json.dumps(data, default=str)


def _split_learning_points(body: str) -> tuple[str, list[str]]:
    head, marker, tail = body.partition("\n## Learning points")
    if not marker:
        return body.strip(), []
    items = (_LIST_ITEM.match(line) for line in tail.splitlines()[1:])
    return head.strip(), [item.group(1).strip() for item in items if item]
