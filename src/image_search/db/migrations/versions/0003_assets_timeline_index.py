"""assets timeline index: the library grid's order (newest capture first, then id)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21 22:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # CatalogService.list_assets orders by taken_at DESC (NULLs last), id DESC. SQLite already
    # sorts NULLs last in DESC order and has no NULLS LAST in CREATE INDEX; PostgreSQL sorts
    # NULLs first in DESC order, so its index says NULLS LAST to match the query.
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE INDEX ix_assets_timeline ON assets (taken_at DESC NULLS LAST, id DESC)")
    else:
        op.create_index(
            "ix_assets_timeline", "assets", [sa.text("taken_at DESC"), sa.text("id DESC")]
        )


def downgrade() -> None:
    op.drop_index("ix_assets_timeline", table_name="assets")
