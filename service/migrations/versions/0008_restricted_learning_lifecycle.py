"""restricted learning lifecycle

Practitioners' sign-in links and sessions; whether an event concerns the public (public
feeds date themselves from those only); a brief's publication count (a publication after
a withdrawal is news again) and the public reason of its withdrawal; and, on each delivery,
the publication and the title the message carried, so that a later notice names what the
person was sent. Existing alerts' deliveries take the title from their subject; other
deliveries stay without one (the brief's current title may be restricted since).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 03:58:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import service.db

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "practitioner_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("created_at", service.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", service.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_practitioner_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_practitioner_sessions_token_hash")),
    )
    with op.batch_alter_table("practitioner_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_practitioner_sessions_email"), ["email"], unique=False)

    op.create_table(
        "practitioner_sign_in_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("next_path", sa.String(length=500), nullable=False),
        sa.Column("created_at", service.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", service.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", service.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_practitioner_sign_in_links")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_practitioner_sign_in_links_token_hash")),
    )
    with op.batch_alter_table("briefs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("withdrawn_reason", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column("publication", sa.Integer(), server_default="0", nullable=False)
        )

    with op.batch_alter_table("mail_deliveries", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("publication", sa.Integer(), server_default="1", nullable=False)
        )
        batch_op.add_column(
            sa.Column("title", sa.String(length=300), server_default="", nullable=False)
        )

    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("public", sa.Boolean(), server_default=sa.text("true"), nullable=False)
        )

    op.execute("UPDATE briefs SET publication = 1 WHERE published_at IS NOT NULL")
    op.execute(
        "UPDATE events SET public = false WHERE brief_id IN "
        "(SELECT id FROM briefs WHERE audience = 'practitioners')"
    )
    # An alert's subject names the title it was sent with; a digest's does not, and the
    # brief's current title may be one its reader must never see (a narrowed brief): those
    # stay empty, and a notice names the date they were sent instead.
    for prefix in ("New learning brief: ", "Updated learning brief: "):
        op.execute(
            sa.text(
                "UPDATE mail_deliveries SET title = "
                "(SELECT substr(m.subject, :start) FROM mail_messages m "
                " WHERE m.id = mail_deliveries.message_id AND m.kind = 'alert' "
                " AND m.subject LIKE :pattern) "
                "WHERE message_id IN (SELECT id FROM mail_messages WHERE kind = 'alert' "
                " AND subject LIKE :pattern)"
            ).bindparams(start=len(prefix) + 1, pattern=prefix + "%")
        )


def downgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_column("public")

    with op.batch_alter_table("mail_deliveries", schema=None) as batch_op:
        batch_op.drop_column("title")
        batch_op.drop_column("publication")

    with op.batch_alter_table("briefs", schema=None) as batch_op:
        batch_op.drop_column("publication")
        batch_op.drop_column("withdrawn_reason")

    op.drop_table("practitioner_sign_in_links")
    with op.batch_alter_table("practitioner_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_practitioner_sessions_email"))

    op.drop_table("practitioner_sessions")
