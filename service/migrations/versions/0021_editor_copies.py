"""editor copies

Nothing lost (issue 19, part 2): the console editor's working copies, written by autosave
(one per member of staff and editor path), and the posts that met an ended session, kept
under the SHA-256 of a random token for 24 hours. Neither ever changes a brief.

Revision ID: 0021
Revises: 0019
Create Date: 2026-12-05 12:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import service.db

revision: str = "0021"
down_revision: str | Sequence[str] | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "editor_copies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("path", sa.String(length=100), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=True),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("saved_at", service.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", service.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["staff_id"],
            ["staff_members.id"],
            name=op.f("fk_editor_copies_staff_id_staff_members"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_editor_copies")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_editor_copies_token_hash")),
    )
    op.create_index(op.f("ix_editor_copies_staff_id"), "editor_copies", ["staff_id"])
    op.create_index(op.f("ix_editor_copies_expires_at"), "editor_copies", ["expires_at"])
    op.create_index(
        "uq_editor_copies_working",
        "editor_copies",
        ["staff_id", "path"],
        unique=True,
        sqlite_where=sa.text("token_hash IS NULL"),
        postgresql_where=sa.text("token_hash IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("uq_editor_copies_working", table_name="editor_copies")
    op.drop_index(op.f("ix_editor_copies_expires_at"), table_name="editor_copies")
    op.drop_index(op.f("ix_editor_copies_staff_id"), table_name="editor_copies")
    op.drop_table("editor_copies")
