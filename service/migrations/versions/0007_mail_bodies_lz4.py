"""mail bodies lz4

On PostgreSQL, message bodies (~13 KB for a digest) are compressed in TOAST with pglz by
default, which the digest run ends up waiting on; lz4 compresses several times faster at a
similar ratio. Only new values are affected; SQLite stores bodies uncompressed and has
nothing to change. A server built without lz4 keeps pglz.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27 02:45:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LZ4_AVAILABLE = (
    "SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'"
)


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql" and bind.execute(sa.text(LZ4_AVAILABLE)).scalar():
        op.execute("ALTER TABLE mail_messages ALTER COLUMN body SET COMPRESSION lz4")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE mail_messages ALTER COLUMN body SET COMPRESSION DEFAULT")
