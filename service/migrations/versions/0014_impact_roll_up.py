"""impact roll-up

The emails delivered each day, counted once the day is over (practice.impact.rollup), so
that a year's impact report reads a few thousand rows rather than millions; and an index on
``mail_messages.sent_at`` for the days not yet counted. Building the index reads the table
once (about 2 s for two million messages) and holds off writes to it meanwhile. The counts
themselves are filled by ``learnhub serve`` after the upgrade, a day per transaction.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04 14:40:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_mail_messages_sent_at", "mail_messages", ["sent_at"])
    op.create_table(
        "impact_daily_emails",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("agency", sa.String(length=64), nullable=False),
        sa.Column("borough", sa.String(length=64), nullable=False),
        sa.Column("domain", sa.String(length=255), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "day", "kind", "agency", "borough", "domain", name=op.f("pk_impact_daily_emails")
        ),
    )
    op.create_table(
        "impact_daily_carried",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("brief_id", sa.Uuid(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", "brief_id", name=op.f("pk_impact_daily_carried")),
    )
    op.create_table(
        "impact_rolled_up",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("through", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_impact_rolled_up")),
    )


def downgrade() -> None:
    op.drop_table("impact_rolled_up")
    op.drop_table("impact_daily_carried")
    op.drop_table("impact_daily_emails")
    op.drop_index("ix_mail_messages_sent_at", table_name="mail_messages")
