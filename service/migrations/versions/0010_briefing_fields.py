"""briefing fields

The 7-minute briefing shape of a brief: background, why it matters,
actions, questions, resources.

Reserved for issue 18; filled in with its tables.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 12:20:00

"""

from collections.abc import Sequence

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
