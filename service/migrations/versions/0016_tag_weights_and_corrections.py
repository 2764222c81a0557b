"""tag weights and corrections

Each of a brief's tags keeps the tagger's weight for it and whether the tagger suggested it;
a brief keeps what the tagger found and did not suggest ("also mentioned"); and
``tag_corrections`` holds where a publisher's codes differ from the tagger's suggestions,
with the text, for ``learnhub tag report`` (issue 20).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04 18:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import service.db

revision: str = "0016"
down_revision: str | Sequence[str] | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Columns are added in place on both databases: no table copy. Tags stored before this
    # have no weight until their brief is next edited.
    op.add_column("brief_tags", sa.Column("weight", sa.Float(), nullable=True))
    op.add_column("brief_tags", sa.Column("suggested", sa.Boolean(), nullable=True))
    op.add_column(
        "briefs", sa.Column("also_mentioned", sa.JSON(), server_default="[]", nullable=False)
    )
    op.create_table(
        "tag_corrections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("brief_id", sa.Uuid(), nullable=False),
        sa.Column("facet", sa.String(length=16), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=8), nullable=False),
        sa.Column("tagger_weight", sa.Float(), nullable=True),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("recorded_at", service.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["brief_id"],
            ["briefs.id"],
            name=op.f("fk_tag_corrections_brief_id_briefs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"],
            ["staff_members.id"],
            name=op.f("fk_tag_corrections_staff_id_staff_members"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tag_corrections")),
        sa.UniqueConstraint("brief_id", "facet", "code", name=op.f("uq_tag_corrections_brief_id")),
    )
    op.create_index("ix_tag_corrections_code", "tag_corrections", ["facet", "code"])


def downgrade() -> None:
    op.drop_index("ix_tag_corrections_code", table_name="tag_corrections")
    op.drop_table("tag_corrections")
    # Not in batch mode: SQLite (3.35 and later) drops a column in place, where a batch would
    # copy the table, and dropping the old briefs table would cascade to every brief's rows.
    op.drop_column("briefs", "also_mentioned")
    op.drop_column("brief_tags", "suggested")
    op.drop_column("brief_tags", "weight")
