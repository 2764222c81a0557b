"""The database layer's own types: UTC datetimes on both backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect

from service.db import UTCDateTime


@pytest.mark.parametrize("dialect", [sqlite.dialect(), postgresql.asyncpg.dialect()])
def test_binding_remembers_only_the_value_it_last_converted(dialect: Dialect) -> None:
    # As SQLAlchemy runs it: with the dialect's own conversion after ours (a string, on SQLite).
    process = UTCDateTime().dialect_impl(dialect).bind_processor(dialect)
    assert process is not None
    first = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)
    # The same moment in another zone is a different object: converted, not remembered.
    same_moment = first.astimezone(timezone(timedelta(hours=1)))
    later = first + timedelta(microseconds=1)
    for value in [first, first, later, first, same_moment, None, later]:
        fresh = UTCDateTime().dialect_impl(dialect).bind_processor(dialect)
        assert fresh is not None
        assert process(value) == fresh(value)
    assert process(later) != process(first)
    with pytest.raises(ValueError, match="naive"):
        process(datetime(2026, 11, 27, 9, 30))
