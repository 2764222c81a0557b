"""acknowledgements

"I've read this": a person's acknowledgement of a brief, with their answer.

One row per person and brief, with the title the person was sent; it goes with the person
(ON DELETE CASCADE from subscribers).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04 12:20:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import service.db

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "acknowledgements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subscriber_id", sa.Integer(), nullable=False),
        sa.Column("brief_id", sa.Uuid(), nullable=False),
        sa.Column("brief_title", sa.String(length=300), nullable=False),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("acknowledged_at", service.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", service.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["brief_id"], ["briefs.id"], name=op.f("fk_acknowledgements_brief_id_briefs")
        ),
        sa.ForeignKeyConstraint(
            ["subscriber_id"],
            ["subscribers.id"],
            name=op.f("fk_acknowledgements_subscriber_id_subscribers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_acknowledgements")),
        sa.UniqueConstraint(
            "subscriber_id", "brief_id", name=op.f("uq_acknowledgements_subscriber_id")
        ),
    )
    op.create_index(
        op.f("ix_acknowledgements_brief_id"), "acknowledgements", ["brief_id"], unique=False
    )
    op.create_index(
        op.f("ix_acknowledgements_subscriber_id"),
        "acknowledgements",
        ["subscriber_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_acknowledgements_subscriber_id"), table_name="acknowledgements")
    op.drop_index(op.f("ix_acknowledgements_brief_id"), table_name="acknowledgements")
    op.drop_table("acknowledgements")
