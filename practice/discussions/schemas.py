"""What a team discussion record takes, with its limits, and the form that fills it in.

``read_form`` turns the fields of the HTML form (dates in three parts, a fixed number of
action rows) into a ``DiscussionIn`` or GOV.UK-style messages keyed by the id of the field to
correct, each naming the field. The rules that need the brief (not before its publication)
and the day (not in the future) are checked here too, from what the caller passes in.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from practice.discussions.models import ActionStatus

MAX_ACTIONS = 20
FIRST_ROWS = 2  # blank action rows on a new form
MAX_TEAM = 200
MAX_WHAT = 500
MAX_OWNER = 200
MAX_REFLECTIONS = 5000
MAX_PRESENT = 500
DUE_WITHIN = timedelta(days=3 * 366)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_CONTROL_IN_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # line breaks and tabs allowed

Line = Annotated[str, Field(min_length=1, pattern=r"^[^\x00-\x1f\x7f]+$")]


class ActionIn(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    what: Annotated[Line, Field(max_length=MAX_WHAT)]
    owner_role: Annotated[Line, Field(max_length=MAX_OWNER)]
    due_on: date


class DiscussionIn(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    held_on: date
    team: Annotated[Line, Field(max_length=MAX_TEAM)]
    agency: Annotated[str, Field(min_length=1, max_length=64)]
    borough: Annotated[str, Field(min_length=1, max_length=64)]
    practitioners: Annotated[int, Field(ge=1, le=MAX_PRESENT)]
    reflections: Annotated[str, Field(min_length=1, max_length=MAX_REFLECTIONS)]
    actions: Annotated[list[ActionIn], Field(max_length=MAX_ACTIONS)] = []


@dataclass(frozen=True)
class Rules:
    """What a record is checked against besides its own fields."""

    today: date  # in the service's time zone
    published_on: date  # the brief's publication, in the same zone
    agencies: frozenset[str]
    boroughs: frozenset[str]


@dataclass
class FormRead:
    """A form as it was sent (to fill it in again) and what was wrong with it."""

    values: dict[str, str]
    rows: int
    errors: dict[str, str] = field(default_factory=dict)
    data: DiscussionIn | None = None


def rows_of(values: Mapping[str, str], *, add: bool = False) -> int:
    """How many action rows the form shows: as many as it had, one more when asked."""
    try:
        rows = int(values.get("rows", "") or FIRST_ROWS)
    except ValueError:
        rows = FIRST_ROWS
    return max(1, min(rows + (1 if add else 0), MAX_ACTIONS))


def read_form(values: Mapping[str, str], rules: Rules) -> FormRead:
    kept = {k: v.replace("\r\n", "\n").strip() for k, v in values.items()}
    form = FormRead(values=kept, rows=rows_of(kept))
    errors = form.errors
    held_on = _date(kept, "held_on", "the date the discussion was held", errors)
    if held_on is not None and held_on > rules.today:
        errors["held_on-day"] = "The date the discussion was held must be today or in the past"
    elif held_on is not None and held_on < rules.published_on:
        when = f"{rules.published_on.day} {rules.published_on:%B %Y}"
        errors["held_on-day"] = (
            f"The date the discussion was held must be on or after {when}, when the brief "
            "was published"
        )
    team = _line(kept, "team", "the team or service name", MAX_TEAM, errors)
    agency = kept.get("agency", "")
    if agency not in rules.agencies:
        errors["agency"] = "Select the team's agency from the list"
    borough = kept.get("borough", "")
    if borough not in rules.boroughs:
        errors["borough"] = "Select the borough the team works in"
    present = _present(kept.get("practitioners", ""), errors)
    reflections = kept.get("reflections", "")
    if not reflections:
        errors["reflections"] = "Enter the team's reflections"
    elif len(reflections) > MAX_REFLECTIONS:
        errors["reflections"] = f"Reflections must be {MAX_REFLECTIONS:,} characters or fewer"
    elif _CONTROL_IN_TEXT.search(reflections):
        errors["reflections"] = "Reflections must not contain special characters"
    actions = _actions(kept, form.rows, held_on, errors)
    if not errors and held_on is not None:
        form.data = DiscussionIn(
            held_on=held_on, team=team, agency=agency, borough=borough,
            practitioners=present, reflections=reflections, actions=actions,
        )  # fmt: skip
    return form


def _date(values: Mapping[str, str], name: str, what: str, errors: dict[str, str]) -> date | None:
    parts = [values.get(f"{name}-{part}", "") for part in ("day", "month", "year")]
    key = f"{name}-day"
    if not any(parts):
        errors[key] = f"Enter {what}"
        return None
    if not all(p.isascii() and p.isdigit() and len(p) <= 4 for p in parts) or len(parts[2]) != 4:
        errors[key] = f"{what[:1].upper()}{what[1:]} must be a real date, like 27 3 2026"
        return None
    try:
        return date(int(parts[2]), int(parts[1]), int(parts[0]))
    except ValueError:
        errors[key] = f"{what[:1].upper()}{what[1:]} must be a real date, like 27 3 2026"
        return None


def _line(
    values: Mapping[str, str], name: str, what: str, most: int, errors: dict[str, str]
) -> str:
    value = values.get(name, "")
    label = what.removeprefix("the ")
    label = label[:1].upper() + label[1:]
    if not value:
        errors[name] = f"Enter {what}"
    elif len(value) > most:
        errors[name] = f"{label} must be {most} characters or fewer"
    elif _CONTROL.search(value):
        errors[name] = f"{label} must be one line, without special characters"
    return value


def _present(value: str, errors: dict[str, str]) -> int:
    if not value:
        errors["practitioners"] = "Enter the number of practitioners present"
    elif not (value.isascii() and value.lstrip("-").isdigit() and len(value) <= 12):
        errors["practitioners"] = "Number of practitioners present must be a whole number, like 8"
    elif not 1 <= int(value) <= MAX_PRESENT:
        errors["practitioners"] = (
            f"Number of practitioners present must be between 1 and {MAX_PRESENT}"
        )
    else:
        return int(value)
    return 0


def _actions(
    values: Mapping[str, str], rows: int, held_on: date | None, errors: dict[str, str]
) -> list[ActionIn]:
    found: list[ActionIn] = []
    extra = [k for k in values if _row_of(k) > rows and values[k]]
    if extra:
        errors[f"actions-{rows}-what"] = f"You can record up to {MAX_ACTIONS} actions"
    for n in range(1, rows + 1):
        prefix = f"actions-{n}-"
        filled = [k for k in values if k.startswith(prefix) and values[k]]
        if not filled:
            continue  # a blank row is no action
        before = len(errors)
        what = _line(values, prefix + "what", f"what the team agreed for action {n}", MAX_WHAT,
                     errors)  # fmt: skip
        owner = _line(values, prefix + "owner_role", f"the role of the owner of action {n}",
                      MAX_OWNER, errors)  # fmt: skip
        due = _date(values, prefix + "due_on", f"the due date of action {n}", errors)
        if due is not None and held_on is not None:
            if due < held_on:
                errors[prefix + "due_on-day"] = (
                    f"The due date of action {n} must be on or after the date the discussion "
                    "was held"
                )
            elif due > held_on + DUE_WITHIN:
                errors[prefix + "due_on-day"] = (
                    f"The due date of action {n} must be within 3 years of the discussion"
                )
        if len(errors) == before and due is not None:
            found.append(ActionIn(what=what, owner_role=owner, due_on=due))
    return found


def _row_of(key: str) -> int:
    parts = key.split("-")
    if len(parts) >= 3 and parts[0] == "actions" and parts[1].isdigit():
        return int(parts[1][:6])
    return 0


def read_statuses(values: Mapping[str, str], positions: list[int]) -> dict[int, ActionStatus]:
    """Each action's chosen status; ValueError naming the action if one is not a status."""
    chosen: dict[int, ActionStatus] = {}
    for position in positions:
        value = values.get(f"status-{position}", "")
        try:
            chosen[position] = ActionStatus(value)
        except ValueError:
            raise ValueError(f"status-{position}") from None
    return chosen
