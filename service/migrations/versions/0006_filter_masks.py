"""filter masks

Matching reads each subscriber's filter as three bit masks on their row, one bit a code
(code_bits says which), instead of intersecting subscription_codes rows: a brief is then
matched by one scan of the subscribers of a frequency (decision 0007). An empty facet, until
now stored as a "*" row, is now a zero mask and no rows.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27 01:10:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FACETS = ("themes", "agencies", "boroughs")
ANY = "*"
MAX_BITS = 63


def upgrade() -> None:
    op.create_table(
        "code_bits",
        sa.Column("facet", sa.String(length=16), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("bit", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("facet", "code", name=op.f("pk_code_bits")),
    )
    op.create_index("uq_code_bits_facet_bit", "code_bits", ["facet", "bit"], unique=True)
    for facet in FACETS:
        op.add_column(
            "subscribers",
            sa.Column(f"{facet}_mask", sa.BigInteger(), server_default="0", nullable=False),
        )
    op.create_index("ix_subscribers_matching", "subscribers", ["frequency", "status"])

    bind = op.get_bind()
    bind.execute(sa.text("DELETE FROM subscription_codes WHERE code = :any"), {"any": ANY})
    chosen = bind.execute(
        sa.text("SELECT DISTINCT facet, code FROM subscription_codes ORDER BY facet, code")
    ).all()
    bits: dict[str, int] = {}
    for facet, code in chosen:
        bits[facet] = bits.get(facet, -1) + 1
        if bits[facet] >= MAX_BITS:  # 1 << 63 would turn negative, and 1 << 64 into 0
            raise RuntimeError(
                f"subscribers have chosen more than {MAX_BITS} {facet} codes: see "
                "docs/decisions/0007-matching-with-filter-masks.md before upgrading"
            )
        bind.execute(
            sa.text("INSERT INTO code_bits (facet, code, bit) VALUES (:facet, :code, :bit)"),
            {"facet": facet, "code": code, "bit": bits[facet]},
        )
    # A sum of distinct powers of two is their bitwise OR, in SQLite and PostgreSQL alike.
    for facet in FACETS:
        op.execute(
            f"""
            UPDATE subscribers SET {facet}_mask = coalesce((
                SELECT sum(CAST(1 AS BIGINT) << b.bit)
                FROM subscription_codes c
                JOIN code_bits b ON b.facet = c.facet AND b.code = c.code
                WHERE c.subscriber_id = subscribers.id AND c.facet = '{facet}'
            ), 0)
            """  # noqa: S608  # facet names from the constant above
        )


def downgrade() -> None:
    bind = op.get_bind()
    for facet in FACETS:
        empty = f"SELECT id, :facet, :any FROM subscribers WHERE {facet}_mask = 0"  # noqa: S608
        bind.execute(
            sa.text(f"INSERT INTO subscription_codes (subscriber_id, facet, code) {empty}"),
            {"facet": facet, "any": ANY},
        )
    op.drop_index("ix_subscribers_matching", table_name="subscribers")
    # Not batch mode: on SQLite that copies the table and drops the old one, and dropping it
    # would cascade to every subscriber's codes and memberships. SQLite 3.35+ drops columns.
    for facet in FACETS:
        op.execute(f"ALTER TABLE subscribers DROP COLUMN {facet}_mask")
    op.drop_index("uq_code_bits_facet_bit", table_name="code_bits")
    op.drop_table("code_bits")
