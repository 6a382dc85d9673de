"""CLIP search end to end on a real indexed library with the generated CLIP-shaped model:
tokenise, embed in the pipeline's CLIP stage (resumable), store, rank by text and by image,
combined with filters, through the service and the HTTP API."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import delete, func, select

from image_search.api.app import create_app
from image_search.config import Settings
from image_search.db.engine import session_scope
from image_search.jobs.clip_stage import ClipStage
from image_search.jobs.service import IndexService
from image_search.library.models import Asset, AssetStatus
from image_search.ml.clip.registry import forget_loaded_encoders
from image_search.search import service as search_service
from image_search.search.clip_index import forget_library_matrices
from image_search.search.filters import SearchFilters
from image_search.search.models import ClipEmbedding
from image_search.search.service import SearchRequest, SearchService
from tests.clip_model import install_tiny_clip
from tests.conftest import link_tree, make_settings, require_asset

COLOURS = {"red": (230, 20, 25), "green": (20, 210, 40), "blue": (25, 30, 220)}


@dataclass
class ClipLibrary:
    settings: Settings
    service: IndexService
    root: Path
    embedded: int


def _write_colour_photos(folder: Path) -> None:
    """Real JPEG files: a strong colour with noise (so JPEG has something to encode)."""
    folder.mkdir(parents=True)
    rng = np.random.default_rng(5)
    for name, rgb in COLOURS.items():
        pixels = np.clip(rng.normal(rgb, 18, size=(240, 320, 3)), 0, 255).astype(np.uint8)
        Image.fromarray(pixels).save(folder / f"{name}.jpg", quality=90)


@pytest.fixture(scope="module")
def clip_library(
    tmp_path_factory: pytest.TempPathFactory, faces_dir: Path, models_dir: Path
) -> Iterator[ClipLibrary]:
    base = tmp_path_factory.mktemp("clip-library")
    models = base / "models"
    models.mkdir()
    (models / "yunet").symlink_to(models_dir / "yunet")
    vocabulary = require_asset(
        models_dir / "clip" / "bpe_simple_vocab_16e6.txt.gz", "CLIP BPE vocabulary"
    )
    spec = install_tiny_clip(models, vocabulary, name="tiny-clip-search")
    root = base / "photos"
    _write_colour_photos(root / "colours")
    people = sorted((faces_dir / "people-small").glob("*/*.png"))[:6]
    link_tree(root, {"people": people})
    settings = make_settings(base / "data", models, clip_model=spec.name, workers=1)
    service = IndexService(settings)
    summary = service.index([root])
    assert summary.clip.skipped is None, summary.clip.skipped
    yield ClipLibrary(settings, service, root, summary.clip.embedded)
    forget_loaded_encoders()
    forget_library_matrices()
    service.factory.kw["bind"].dispose()


def _search(library: ClipLibrary, **kwargs: object) -> search_service.SearchResult:
    with session_scope(library.service.factory) as session:
        result = SearchService(session, library.settings).search(SearchRequest(**kwargs))  # type: ignore[arg-type]
        for hit in result.hits:
            session.expunge(hit.asset)
        return result


def _names(result: search_service.SearchResult) -> list[str]:
    return [Path(hit.asset.path).stem for hit in result.hits]


def test_every_processed_image_gets_one_embedding(clip_library: ClipLibrary) -> None:
    with session_scope(clip_library.service.factory) as session:
        done = session.scalar(select(func.count(Asset.id)).where(Asset.status == AssetStatus.DONE))
        rows = session.execute(
            select(ClipEmbedding.asset_id, ClipEmbedding.embedding_dim, ClipEmbedding.model)
        ).all()
    assert done == 9 and clip_library.embedded == 9
    assert len(rows) == 9 and len({r.asset_id for r in rows}) == 9
    assert {(r.embedding_dim, r.model) for r in rows} == {(8, "tiny-clip-search")}


def test_text_ranks_the_matching_colour_first(clip_library: ClipLibrary) -> None:
    for colour in COLOURS:
        result = _search(clip_library, text=f"a {colour} picture")
        assert result.mode == "text" and result.total == 9
        assert _names(result)[0] == colour
        assert result.hits[0].score is not None and result.hits[0].score > 0.9
        scores = [h.score for h in result.hits]
        assert scores == sorted(scores, reverse=True)  # type: ignore[type-var]


def test_text_combines_with_filters_and_pages(clip_library: ClipLibrary) -> None:
    folder = str(clip_library.root / "people")
    only_people = _search(clip_library, text="red", filters=SearchFilters(folder=folder))
    assert only_people.total == 6 and "red" not in _names(only_people)
    first = _search(clip_library, text="blue", page=1, page_size=4)
    second = _search(clip_library, text="blue", page=2, page_size=4)
    assert first.total == second.total == 9
    assert len(first.hits) == 4 and len(second.hits) == 4
    assert not set(_names(first)) & set(_names(second))
    assert _names(first)[0] == "blue"


def test_more_like_this_leaves_the_image_out_and_ranks_by_similarity(
    clip_library: ClipLibrary,
) -> None:
    with session_scope(clip_library.service.factory) as session:
        red_id = session.scalar(select(Asset.id).where(Asset.path.endswith("/red.jpg")))
    result = _search(clip_library, similar_to=red_id)
    assert result.mode == "similar" and result.total == 8
    assert "red" not in _names(result)
    scores = [h.score for h in result.hits]
    assert scores == sorted(scores, reverse=True)  # type: ignore[type-var]
    # The generated model embeds the mean colour: pure green and blue point away from red.
    folder = str(clip_library.root / "colours")
    colours = _search(clip_library, similar_to=red_id, filters=SearchFilters(folder=folder))
    assert sorted(_names(colours)) == ["blue", "green"]
    assert all(h.score is not None and h.score < 0 for h in colours.hits)


def test_library_matrix_path_ranks_like_the_direct_path(
    clip_library: ClipLibrary, monkeypatch: pytest.MonkeyPatch
) -> None:
    direct = _search(clip_library, text="green things", page_size=9)
    monkeypatch.setattr(search_service, "DIRECT_RANKING_LIMIT", 0)
    forget_library_matrices()
    via_matrix = _search(clip_library, text="green things", page_size=9)
    assert _names(via_matrix) == _names(direct)
    assert [h.score for h in via_matrix.hits] == pytest.approx([h.score for h in direct.hits])
    folder = str(clip_library.root / "colours")
    filtered = _search(clip_library, text="green", filters=SearchFilters(folder=folder))
    assert _names(filtered) == ["green", *_names(filtered)[1:]] and filtered.total == 3


def test_clip_stage_resumes_only_what_is_missing(clip_library: ClipLibrary) -> None:
    factory = clip_library.service.factory
    with session_scope(factory) as session:
        victims = list(session.scalars(select(Asset.id).order_by(Asset.id).limit(3)))
        before = {
            a: b
            for a, b in session.execute(
                select(ClipEmbedding.asset_id, ClipEmbedding.embedding).where(
                    ClipEmbedding.asset_id.in_(victims)
                )
            )
        }
        session.execute(delete(ClipEmbedding).where(ClipEmbedding.asset_id.in_(victims)))
    report = ClipStage(factory, clip_library.settings).run()
    assert (report.embedded, report.failed) == (3, 0)
    with session_scope(factory) as session:
        rows = session.execute(select(ClipEmbedding.asset_id, ClipEmbedding.embedding)).all()
    assert len(rows) == 9 and len({r.asset_id for r in rows}) == 9
    again = {r.asset_id: r.embedding for r in rows if r.asset_id in before}
    for asset_id, blob in before.items():  # the same pixels give the same embedding
        assert np.allclose(np.frombuffer(again[asset_id], "<f4"), np.frombuffer(blob, "<f4"))
    assert ClipStage(factory, clip_library.settings).run().embedded == 0


def test_http_search_answers_and_rejects_bad_queries(clip_library: ClipLibrary) -> None:
    with TestClient(create_app(clip_library.settings)) as client:
        found = client.get("/api/v1/search", params={"q": "red"})
        assert found.status_code == 200, found.text
        body = found.json()
        assert body["mode"] == "text" and body["total"] == 9
        assert body["items"][0]["path"].endswith("/red.jpg") and body["items"][0]["score"] > 0.9
        blank = client.get("/api/v1/search", params={"q": "   "})
        assert blank.status_code == 422 and "empty" in blank.json()["error"]["message"]
        both = client.get("/api/v1/search", params={"q": "red", "similarTo": 1})
        assert both.status_code == 422
        unknown = client.get("/api/v1/search", params={"similarTo": 999999})
        assert unknown.status_code == 404
        status = client.get("/api/v1/status").json()
        assert status["clipEmbedded"] == {"tiny-clip-search": 9}


def test_text_search_without_clip_is_a_clear_503(clip_library: ClipLibrary) -> None:
    off = clip_library.settings.model_copy(update={"clip_model": "none"})
    with TestClient(create_app(off)) as client:
        answer = client.get("/api/v1/search", params={"q": "red"})
        assert answer.status_code == 503
        assert "IMAGE_SEARCH_CLIP_MODEL=none" in answer.json()["error"]["message"]
        filters_only = client.get("/api/v1/search", params={"kind": "image"})
        assert filters_only.status_code == 200 and filters_only.json()["total"] == 9
