"""brief documents

The review a brief was imported from (issue 19, part 1): the original PDF or DOCX as a
blob, so that every instance serves the same file, with its repaired text and the guesses
shown to the publisher.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04 16:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import service.db

revision: str = "0015"
down_revision: str | Sequence[str] | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "brief_documents",
        sa.Column("brief_id", sa.Uuid(), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("media_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("pages", sa.Integer(), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("guesses", sa.JSON(), nullable=False),
        sa.Column("offered", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("created_at", service.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["brief_id"],
            ["briefs.id"],
            name=op.f("fk_brief_documents_brief_id_briefs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["staff_members.id"],
            name=op.f("fk_brief_documents_created_by_staff_members"),
        ),
        sa.PrimaryKeyConstraint("brief_id", name=op.f("pk_brief_documents")),
    )


def downgrade() -> None:
    op.drop_table("brief_documents")
