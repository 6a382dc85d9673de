"""Search: filters alone (newest first), free text ranked by CLIP similarity, or "more like
this" (the images nearest to a given one), each combinable with every filter."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from sqlalchemy import ColumnElement, exists, func, select
from sqlalchemy.orm import Session

from image_search.config import Settings
from image_search.errors import InvalidInputError, ModelError, NotFoundError
from image_search.library.catalog import face_counts, timeline_order
from image_search.library.models import Asset
from image_search.ml.clip.encoder import ClipEncoder
from image_search.ml.clip.registry import CLIP_DISABLED, clip_spec, load_clip_encoder
from image_search.paging import page_offset
from image_search.search.clip_index import best_per_asset, library_matrix
from image_search.search.clip_repository import IN_CHUNK, ClipRepository, EmbeddingRows
from image_search.search.filters import SearchFilters, conditions, validate
from image_search.search.models import ClipEmbedding

MAX_PAGE_SIZE = 500
MAX_TEXT_LENGTH = 1000
# Up to this many matching assets, their embeddings are read from the database and ranked
# directly; above it the library-wide matrix is ranked and filtered afterwards.
DIRECT_RANKING_LIMIT = 20_000

SearchMode = Literal["filters", "text", "similar"]
EncoderLoader = Callable[[Settings], ClipEncoder]


def load_local_encoder(settings: Settings) -> ClipEncoder:
    """The configured CLIP model, from local files only (a search never downloads)."""
    return load_clip_encoder(
        settings.clip_model, settings.models_dir, settings.model_cache_dir, allow_download=False
    )


@dataclass(slots=True)
class SearchRequest:
    filters: SearchFilters = field(default_factory=SearchFilters)
    text: str | None = None
    similar_to: int | None = None  # asset id
    page: int = 1
    page_size: int = 100


@dataclass(slots=True)
class SearchHit:
    asset: Asset
    face_count: int
    score: float | None  # cosine similarity (text / similar modes)


@dataclass(slots=True)
class SearchResult:
    mode: SearchMode
    total: int  # matching assets (text / similar: those with a CLIP embedding)
    hits: list[SearchHit]


class SearchService:
    def __init__(
        self,
        session: Session,
        settings: Settings,
        encoder_loader: EncoderLoader = load_local_encoder,
    ) -> None:
        self.session = session
        self.settings = settings
        self.encoder_loader = encoder_loader
        self.dialect = session.get_bind().dialect.name

    def search(self, request: SearchRequest) -> SearchResult:
        """Run ``request``.

        Raises ``InvalidInputError`` (422: blank text, text and similarTo together, inverted
        date range, bad place, page out of range), ``NotFoundError`` (404: unknown person or
        similarTo asset), ``ModelError`` (503: CLIP off or its files missing for a text
        search); 422 too when the similarTo asset has no CLIP embedding yet.
        """
        offset = page_offset(request.page, request.page_size, MAX_PAGE_SIZE)
        validate(request.filters, self.session)
        where = conditions(request.filters, self.dialect)
        if request.text is not None and request.similar_to is not None:
            raise InvalidInputError("give either a text or similarTo, not both")
        if request.text is not None:
            query = self._text_vector(request.text)
            return self._ranked("text", query, where, offset, request.page_size, exclude=None)
        if request.similar_to is not None:
            query = self._asset_vector(request.similar_to)
            return self._ranked(
                "similar", query, where, offset, request.page_size, exclude=request.similar_to
            )
        total = self.session.scalar(select(func.count(Asset.id)).where(*where)) or 0
        assets = list(
            self.session.scalars(
                select(Asset)
                .where(*where)
                .order_by(*timeline_order(self.dialect))
                .offset(offset)
                .limit(request.page_size)
            )
        )
        return SearchResult("filters", int(total), self._hits(assets, {}))

    # query vectors ---------------------------------------------------------------------------
    def _model(self) -> str:
        """The configured CLIP model; raises ``ModelError`` when CLIP is switched off."""
        if self.settings.clip_model == CLIP_DISABLED:
            raise ModelError(
                "text and similar-image search need CLIP, which is switched off "
                "(IMAGE_SEARCH_CLIP_MODEL=none)"
            )
        return self.settings.clip_model

    def _text_vector(self, text: str) -> np.ndarray:
        if not text.strip():
            raise InvalidInputError("the search text is empty")
        if len(text) > MAX_TEXT_LENGTH:
            raise InvalidInputError(f"the search text is longer than {MAX_TEXT_LENGTH} characters")
        self._model()
        encoder = self.encoder_loader(self.settings)
        return encoder.embed_texts([text])[0]

    def _asset_vector(self, asset_id: int) -> np.ndarray:
        if self.session.get(Asset, asset_id) is None:
            raise NotFoundError(f"asset {asset_id} does not exist")
        model = self._model()
        rows = ClipRepository(self.session).for_assets([asset_id], model, clip_spec(model).dim)
        if len(rows.asset_ids) == 0:
            raise InvalidInputError(
                f"asset {asset_id} has no CLIP embedding yet (videos and files still being "
                f"indexed have none)"
            )
        mean = rows.vectors.mean(axis=0)
        return mean / max(float(np.linalg.norm(mean)), 1e-12)

    # ranking -------------------------------------------------------------------------------
    def _ranked(
        self,
        mode: SearchMode,
        query: np.ndarray,
        where: list[ColumnElement[bool]],
        offset: int,
        page_size: int,
        exclude: int | None,
    ) -> SearchResult:
        """Rank the matching assets that have an embedding. Up to ``DIRECT_RANKING_LIMIT`` of
        them (one id query tells) are ranked from their own rows (pre-filter); more are ranked
        through the library matrix (post-filter)."""
        model = self._model()
        dim = clip_spec(model).dim
        embedded = exists().where(ClipEmbedding.asset_id == Asset.id, ClipEmbedding.model == model)
        where = [*where, embedded]
        if exclude is not None:
            where.append(Asset.id != exclude)
        matching = list(
            self.session.scalars(select(Asset.id).where(*where).limit(DIRECT_RANKING_LIMIT + 1))
        )
        if len(matching) <= DIRECT_RANKING_LIMIT:
            total = len(matching)
        else:
            total = int(self.session.scalar(select(func.count(Asset.id)).where(*where)) or 0)
        if total == 0 or offset >= total:
            return SearchResult(mode, total, [])
        wanted = min(total, offset + page_size)
        if len(matching) <= DIRECT_RANKING_LIMIT:
            rows = ClipRepository(self.session).for_assets(matching, model, dim)
            ids, scores = best_per_asset(rows, query)
        else:
            rows = library_matrix(self.session, model, dim)
            ids, scores = self._post_filter(rows, query, where, wanted)
        page_ids = [int(i) for i in ids[offset:wanted]]
        score_of = dict(zip(page_ids, map(float, scores[offset:wanted]), strict=True))
        assets = {
            a.id: a for a in self.session.scalars(select(Asset).where(Asset.id.in_(page_ids)))
        }
        ordered = [assets[i] for i in page_ids if i in assets]
        return SearchResult(mode, total, self._hits(ordered, score_of))

    def _post_filter(
        self,
        rows: EmbeddingRows,
        query: np.ndarray,
        where: list[ColumnElement[bool]],
        wanted: int,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Rank the library-wide ``rows``, then keep the assets the filters accept, widening
        the ranked window until ``wanted`` assets are found or none is left."""
        window = max(4 * wanted, 1000)
        while True:
            ids, scores = best_per_asset(rows, query, limit=min(window, len(rows.asset_ids)))
            candidates = [int(i) for i in ids]
            accepted: set[int] = set()
            for start in range(0, len(candidates), IN_CHUNK):
                chunk = candidates[start : start + IN_CHUNK]
                accepted.update(
                    self.session.scalars(select(Asset.id).where(Asset.id.in_(chunk), *where))
                )
            keep = np.fromiter((i in accepted for i in candidates), dtype=bool, count=len(ids))
            if keep.sum() >= wanted or window >= len(rows.asset_ids):
                return ids[keep], scores[keep]
            window *= 4

    def _hits(self, assets: list[Asset], scores: dict[int, float]) -> list[SearchHit]:
        counts = face_counts(self.session, [a.id for a in assets])
        return [SearchHit(a, counts.get(a.id, 0), scores.get(a.id)) for a in assets]
