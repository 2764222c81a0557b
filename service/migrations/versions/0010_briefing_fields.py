"""briefing fields

The 7-minute briefing shape of a brief: background, why it matters,
actions, questions, resources.

All optional: the text ones null, the lists empty on existing briefs. On SQLite the columns
are added with ALTER TABLE (batch mode adds columns without copying the table), so the
briefs_fts_* triggers stay.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 12:20:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("briefs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("background", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("why_it_matters", sa.Text(), nullable=True))
        for name in ("actions", "questions", "resources"):
            batch_op.add_column(sa.Column(name, sa.JSON(), server_default="[]", nullable=False))


def downgrade() -> None:
    # Not in batch mode: SQLite (3.35 and later) drops a column in place, where a batch would
    # copy the table and lose the briefs_fts_* triggers.
    for name in ("resources", "questions", "actions", "why_it_matters", "background"):
        op.drop_column("briefs", name)
