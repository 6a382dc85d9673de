"""clip_embeddings (CLIP image embeddings per asset and model) and persons.display_name

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "clip_embeddings",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "asset_id",
            sa.Integer(),
            sa.ForeignKey("assets.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("model", sa.String(64), nullable=False),
        sa.Column("frame_index", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("frame_time", sa.Float(), nullable=True),
        sa.Column("embedding_dim", sa.Integer(), nullable=False),
        sa.Column("embedding", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(
        "ix_clip_embeddings_model_asset",
        "clip_embeddings",
        ["model", "asset_id", "frame_index"],
        unique=True,
    )
    op.create_index("ix_clip_embeddings_asset", "clip_embeddings", ["asset_id"])
    with op.batch_alter_table("persons") as batch:
        batch.add_column(sa.Column("display_name", sa.String(255), nullable=True))
    # Search by place and camera.
    op.create_index("ix_assets_gps", "assets", ["gps_latitude", "gps_longitude"])
    op.create_index("ix_assets_camera", "assets", ["camera_make", "camera_model"])


def downgrade() -> None:
    op.drop_index("ix_assets_camera", table_name="assets")
    op.drop_index("ix_assets_gps", table_name="assets")
    with op.batch_alter_table("persons") as batch:
        batch.drop_column("display_name")
    op.drop_index("ix_clip_embeddings_asset", table_name="clip_embeddings")
    op.drop_index("ix_clip_embeddings_model_asset", table_name="clip_embeddings")
    op.drop_table("clip_embeddings")
