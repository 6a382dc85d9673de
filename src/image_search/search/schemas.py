"""API shapes of search (camelCase JSON)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from image_search.api.schemas import CamelModel
from image_search.library.schemas import AssetSchema


class SearchHitSchema(AssetSchema):
    score: float | None = Field(
        description="Cosine similarity to the text or the similarTo image (-1..1); null when "
        "searching by filters only (newest first)."
    )


class SearchResponse(CamelModel):
    mode: Literal["filters", "text", "similar"]
    items: list[SearchHitSchema]
    total: int = Field(
        description="Matching assets; for text / similar searches, those with a CLIP embedding."
    )
    page: int
    page_size: int


class CameraSchema(CamelModel):
    make: str | None
    model: str | None
    count: int


class CameraListResponse(CamelModel):
    items: list[CameraSchema]
