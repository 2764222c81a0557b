"""The discussion form's reader: what it takes, each field's message, the action rows."""

from __future__ import annotations

from datetime import date

from practice.discussions.schemas import MAX_ACTIONS, Rules, read_form, read_statuses, rows_of

RULES = Rules(
    today=date(2026, 12, 3),
    published_on=date(2026, 11, 23),
    agencies=frozenset({"police", "health"}),
    boroughs=frozenset({"wirral"}),
)
GOOD = {
    "held_on-day": "03",
    "held_on-month": "12",
    "held_on-year": "2026",
    "team": "  Wirral MASH  ",
    "agency": "police",
    "borough": "wirral",
    "practitioners": "12",
    "reflections": "First line.\r\nSecond line.",
}


def test_a_good_form_reads_into_a_record_with_blank_rows_left_out() -> None:
    form = read_form(
        {
            **GOOD,
            "rows": "3",
            "actions-2-what": "Audit",
            "actions-2-owner_role": "Sergeant",
            "actions-2-due_on-day": "1",
            "actions-2-due_on-month": "3",
            "actions-2-due_on-year": "2027",
        },
        RULES,
    )
    assert form.errors == {} and form.data is not None
    assert form.data.held_on == date(2026, 12, 3) and form.data.team == "Wirral MASH"
    assert form.data.reflections == "First line.\nSecond line."
    assert [(a.what, a.owner_role, a.due_on) for a in form.data.actions] == [
        ("Audit", "Sergeant", date(2027, 3, 1))
    ]


def test_the_day_the_brief_was_published_and_today_are_both_allowed() -> None:
    for day, month in (("23", "11"), ("3", "12")):
        form = read_form({**GOOD, "held_on-day": day, "held_on-month": month}, RULES)
        assert form.errors == {}, (day, month)


def test_dates_must_be_real_whole_numbers_with_a_four_digit_year() -> None:
    for parts in (
        ("1", "12", "26"),
        ("x", "12", "2026"),
        ("\uff11", "12", "2026"),
        ("0", "0", "2026"),
    ):
        values = dict(zip(("held_on-day", "held_on-month", "held_on-year"), parts, strict=True))
        form = read_form({**GOOD, **values}, RULES)
        assert "must be a real date" in form.errors["held_on-day"], parts
        assert form.data is None


def test_a_half_filled_action_row_names_each_missing_field() -> None:
    form = read_form({**GOOD, "actions-1-owner_role": "Manager"}, RULES)
    assert form.errors == {
        "actions-1-what": "Enter what the team agreed for action 1",
        "actions-1-due_on-day": "Enter the due date of action 1",
    }


def test_rows_grow_by_one_up_to_the_limit_and_shrug_off_nonsense() -> None:
    assert rows_of({}) == 2 and rows_of({"rows": "2"}, add=True) == 3
    assert rows_of({"rows": str(MAX_ACTIONS)}, add=True) == MAX_ACTIONS
    assert rows_of({"rows": "-4"}) == 1 and rows_of({"rows": "lots"}) == 2
    assert rows_of({"rows": "9" * 30}) == MAX_ACTIONS


def test_statuses_must_each_be_one_of_the_three() -> None:
    assert read_statuses({"status-1": "done", "status-2": "open"}, [1, 2])[1] == "done"
    for bad in ({"status-1": "done"}, {"status-1": "done", "status-2": "closed"}):
        try:
            read_statuses(bad, [1, 2])
        except ValueError as exc:
            assert str(exc) == "status-2"
        else:
            raise AssertionError(bad)
