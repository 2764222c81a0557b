"""when people left their last group

Retention (issue 22, part 3): a person with no subscription of their own who leaves their
last group (removed by an administrator, leaving through their link, or stopping every
email) is removed 28 days after, as an unsubscribed person is; ``left_group_at`` is when
they last left one. People who had already left every group when this runs get the time of
the upgrade, so that their 28 days start now.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-04 18:30:00

"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import service.db

revision: str = "0022"
down_revision: str | Sequence[str] | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "subscribers",
        sa.Column("left_group_at", service.db.UTCDateTime(timezone=True), nullable=True),
    )
    subscribers = sa.table(
        "subscribers",
        sa.column("id", sa.Integer()),
        sa.column("email", sa.String()),
        sa.column("status", sa.String()),
        sa.column("left_group_at", service.db.UTCDateTime(timezone=True)),
    )
    members = sa.table("group_members", sa.column("subscriber_id", sa.Integer()))
    # Former members: no subscription of their own, no group, and once sent learning (a
    # person never in a group, or never sent anything, is an unconfirmed sign-up's case).
    sent = sa.table(
        "mail_messages", sa.column("recipient", sa.String()), sa.column("kind", sa.String())
    )
    op.execute(
        subscribers.update()
        .where(
            subscribers.c.status == "none",
            ~sa.exists().where(members.c.subscriber_id == subscribers.c.id),
            sa.exists().where(
                sent.c.recipient == subscribers.c.email, sent.c.kind.in_(("alert", "digest"))
            ),
        )
        .values(left_group_at=datetime.now(UTC))
    )


def downgrade() -> None:
    # Not batch mode: on SQLite that copies the table and drops the old one, and dropping it
    # would cascade to every subscriber's codes, memberships and acknowledgements (see 0013).
    op.execute("ALTER TABLE subscribers DROP COLUMN left_group_at")
