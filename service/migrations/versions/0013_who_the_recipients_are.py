"""who the recipients are

A subscriber's stated agency, borough and role; admins' map of email domains to an agency
and borough (issue 18, part 4).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04 12:55:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable columns are added in place on both databases: no table copy.
    op.add_column("subscribers", sa.Column("my_agency", sa.String(length=64), nullable=True))
    op.add_column("subscribers", sa.Column("my_borough", sa.String(length=64), nullable=True))
    op.add_column("subscribers", sa.Column("my_role", sa.String(length=32), nullable=True))
    op.create_table(
        "domain_agencies",
        sa.Column("domain", sa.String(length=255), nullable=False),
        sa.Column("agency", sa.String(length=64), nullable=True),
        sa.Column("borough", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("domain", name=op.f("pk_domain_agencies")),
    )


def downgrade() -> None:
    op.drop_table("domain_agencies")
    # Not batch mode: on SQLite that copies the table and drops the old one, and dropping it
    # would cascade to every subscriber's codes, memberships and acknowledgements (see 0006).
    for column in ("my_role", "my_borough", "my_agency"):
        op.execute(f"ALTER TABLE subscribers DROP COLUMN {column}")
