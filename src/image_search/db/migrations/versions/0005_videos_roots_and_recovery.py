"""Videos (container facts on assets, face tracks on faces), library roots for the watcher,
the faces (person_id, asset_id) index, and the video time in the review pages' covering index.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 01:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# ix_faces_review as 0002 created it.
_REVIEW_COLUMNS = ["id", "asset_id", "box_x", "box_y", "box_width", "box_height"]


def upgrade() -> None:
    with op.batch_alter_table("assets") as batch:
        batch.add_column(sa.Column("video_codec", sa.String(32), nullable=True))
        batch.add_column(sa.Column("audio_codec", sa.String(32), nullable=True))
        batch.add_column(sa.Column("container", sa.String(64), nullable=True))
        batch.add_column(sa.Column("frame_rate", sa.Float(), nullable=True))
        batch.add_column(sa.Column("rotation", sa.Integer(), nullable=True))
    with op.batch_alter_table("faces") as batch:
        batch.add_column(sa.Column("video_span_start", sa.Float(), nullable=True))
        batch.add_column(sa.Column("video_span_end", sa.Float(), nullable=True))
        batch.add_column(sa.Column("video_track_size", sa.Integer(), nullable=True))
    # The person subquery of search reads (person_id, asset_id) from the index alone
    # (docs/benchmarks.md, search at 1M images).
    op.drop_index("ix_faces_person_id", table_name="faces")
    op.create_index("ix_faces_person_asset", "faces", ["person_id", "asset_id"])
    # Suggestion pages show a play button on video faces: the time joins the covering index
    # (last, so lookups by id still use it) and those reads stay index-only.
    op.drop_index("ix_faces_review", table_name="faces")
    op.create_index("ix_faces_review", "faces", [*_REVIEW_COLUMNS, "video_timestamp"])
    op.create_table(
        "library_roots",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("path", sa.Text(), nullable=False, unique=True),
        sa.Column("last_scan_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    # Roots of an existing library: every root its assets were registered under.
    op.execute(
        "INSERT INTO library_roots (path, created_at, updated_at) "
        "SELECT DISTINCT root, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP FROM assets"
    )


def downgrade() -> None:
    op.drop_table("library_roots")
    op.drop_index("ix_faces_review", table_name="faces")
    op.create_index("ix_faces_review", "faces", _REVIEW_COLUMNS)
    op.drop_index("ix_faces_person_asset", table_name="faces")
    op.create_index("ix_faces_person_id", "faces", ["person_id"])
    with op.batch_alter_table("faces") as batch:
        batch.drop_column("video_track_size")
        batch.drop_column("video_span_end")
        batch.drop_column("video_span_start")
    with op.batch_alter_table("assets") as batch:
        batch.drop_column("rotation")
        batch.drop_column("frame_rate")
        batch.drop_column("container")
        batch.drop_column("audio_codec")
        batch.drop_column("video_codec")
