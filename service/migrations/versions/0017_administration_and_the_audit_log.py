"""administration and the audit log

Staff are removed by marking them (``removed_at``), so that the history and the audit log
still name who did what; ``audit_events`` holds what staff do other than to a brief (staff
changes, groups, exports), which the audit log reads beside ``brief_history`` (issue 19,
part 5).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04 17:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import service.db

revision: str = "0017"
down_revision: str | Sequence[str] | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A nullable column is added in place on both databases: no table copy.
    op.add_column(
        "staff_members",
        sa.Column("removed_at", service.db.UTCDateTime(timezone=True), nullable=True),
    )
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("occurred_at", service.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("subject", sa.String(length=320), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["staff_id"],
            ["staff_members.id"],
            name=op.f("fk_audit_events_staff_id_staff_members"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
    )
    op.create_index(op.f("ix_audit_events_occurred_at"), "audit_events", ["occurred_at"])
    op.create_index(op.f("ix_audit_events_staff_id"), "audit_events", ["staff_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_audit_events_staff_id"), table_name="audit_events")
    op.drop_index(op.f("ix_audit_events_occurred_at"), table_name="audit_events")
    op.drop_table("audit_events")
    # Not batch mode: on SQLite that copies the table and drops the old one, and dropping it
    # would cascade to every session and sign-in link (see 0013). Removed staff come back as
    # current staff, with tokens nobody has.
    op.execute("ALTER TABLE staff_members DROP COLUMN removed_at")
