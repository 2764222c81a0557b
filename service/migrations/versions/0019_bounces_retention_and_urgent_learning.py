"""bounces, retention and urgent learning

``mail_bounces`` holds the bounces and complaints that come back after sending, and the
relay's own 5xx refusals, each against its message and address; ``mail_suppressions.lifted_at``
is when an administrator lifted an address's suspension (issue 22, part 1). An
acknowledgement outlives its person once retention removes them, nameless
(``acknowledgements.subscriber_id`` may be null: part 3). A brief may be urgent, with the
reason (part 4).

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-05 12:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import service.db

revision: str = "0019"
down_revision: str | Sequence[str] | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "mail_bounces",
        sa.Column("id", ID, nullable=False),
        sa.Column("report", sa.String(length=255), nullable=False),
        sa.Column("message_id", ID, nullable=True),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("received_at", service.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["mail_messages.id"],
            name=op.f("fk_mail_bounces_message_id_mail_messages"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mail_bounces")),
        sa.UniqueConstraint("report", "email", name="uq_mail_bounces_report_email"),
    )
    op.create_index("ix_mail_bounces_email_kind", "mail_bounces", ["email", "kind"])
    op.create_index(op.f("ix_mail_bounces_message_id"), "mail_bounces", ["message_id"])
    op.create_index(op.f("ix_mail_bounces_received_at"), "mail_bounces", ["received_at"])
    # Nullable columns are added in place on both databases: no table copy.
    op.add_column(
        "mail_suppressions",
        sa.Column("lifted_at", service.db.UTCDateTime(timezone=True), nullable=True),
    )
    op.add_column(
        "briefs", sa.Column("urgent", sa.Boolean(), server_default=sa.false(), nullable=False)
    )
    op.add_column("briefs", sa.Column("urgent_reason", sa.Text(), nullable=True))
    # acknowledgements has no children: SQLite's copy of the table loses nothing.
    with op.batch_alter_table("acknowledgements") as batch:
        batch.alter_column("subscriber_id", existing_type=sa.Integer(), nullable=True)


def downgrade() -> None:
    op.execute("DELETE FROM acknowledgements WHERE subscriber_id IS NULL")
    with op.batch_alter_table("acknowledgements") as batch:
        batch.alter_column("subscriber_id", existing_type=sa.Integer(), nullable=False)
    # Not batch mode on briefs: on SQLite that copies the table and drops the old one, and
    # dropping it would cascade to its tags and documents (see 0017).
    op.execute("ALTER TABLE briefs DROP COLUMN urgent_reason")
    op.execute("ALTER TABLE briefs DROP COLUMN urgent")
    op.execute("ALTER TABLE mail_suppressions DROP COLUMN lifted_at")
    op.drop_index(op.f("ix_mail_bounces_received_at"), table_name="mail_bounces")
    op.drop_index(op.f("ix_mail_bounces_message_id"), table_name="mail_bounces")
    op.drop_index("ix_mail_bounces_email_kind", table_name="mail_bounces")
    op.drop_table("mail_bounces")
