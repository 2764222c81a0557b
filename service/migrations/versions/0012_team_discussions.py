"""team discussions

Records of team discussions of a brief, and their agreed actions.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 12:20:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import service.db

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "team_discussions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("brief_id", sa.Uuid(), nullable=False),
        sa.Column("brief_title", sa.String(length=300), nullable=False),
        sa.Column("held_on", sa.Date(), nullable=False),
        sa.Column("team", sa.String(length=200), nullable=False),
        sa.Column("agency", sa.String(length=64), nullable=False),
        sa.Column("borough", sa.String(length=64), nullable=False),
        sa.Column("practitioners", sa.Integer(), nullable=False),
        sa.Column("reflections", sa.Text(), nullable=False),
        sa.Column("recorder", sa.String(length=16), nullable=False),
        sa.Column("recorder_email", sa.String(length=320), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", service.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", service.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["brief_id"],
            ["briefs.id"],
            name=op.f("fk_team_discussions_brief_id_briefs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_team_discussions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_team_discussions_token_hash")),
    )
    with op.batch_alter_table("team_discussions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_team_discussions_brief_id"), ["brief_id"])
        batch_op.create_index(batch_op.f("ix_team_discussions_recorder_email"), ["recorder_email"])

    op.create_table(
        "discussion_actions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("discussion_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("what", sa.String(length=500), nullable=False),
        sa.Column("owner_role", sa.String(length=200), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("status_changed_at", service.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["discussion_id"],
            ["team_discussions.id"],
            name=op.f("fk_discussion_actions_discussion_id_team_discussions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_discussion_actions")),
        sa.UniqueConstraint(
            "discussion_id", "position", name=op.f("uq_discussion_actions_discussion_id")
        ),
    )
    with op.batch_alter_table("discussion_actions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_discussion_actions_discussion_id"), ["discussion_id"])


def downgrade() -> None:
    with op.batch_alter_table("discussion_actions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_discussion_actions_discussion_id"))
    op.drop_table("discussion_actions")
    with op.batch_alter_table("team_discussions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_team_discussions_recorder_email"))
        batch_op.drop_index(batch_op.f("ix_team_discussions_brief_id"))
    op.drop_table("team_discussions")
