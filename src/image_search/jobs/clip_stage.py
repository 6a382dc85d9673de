"""The CLIP stage of the durable pipeline: every processed image gets a CLIP image embedding
of the configured model.

The work list is the database itself (processed images without a ``clip_embeddings`` row of
the model), so the stage resumes after a crash where it stopped, and changing the model
(``IMAGE_SEARCH_CLIP_MODEL``) embeds the library again with the new one. Each batch is stored in
one transaction. Images are read from their 1440 px preview (already oriented and small), the
original only when the preview is missing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sqlalchemy.orm import Session, sessionmaker

from image_search.config import Settings
from image_search.db.base import utcnow
from image_search.db.engine import session_scope
from image_search.errors import ImageSearchError, MediaError
from image_search.jobs.progress import NullReporter, ProgressReporter
from image_search.library.media import decode_image, sharded_path
from image_search.library.models import Asset, AssetStatus
from image_search.ml.clip.encoder import ClipEncoder
from image_search.ml.clip.registry import CLIP_DISABLED, load_clip_encoder
from image_search.search.clip_repository import ClipRepository

log = logging.getLogger(__name__)
CLIP_STAGE = "clip"
BATCH = 16
DECODE_SIDE = 448  # px: twice CLIP's 224 input, enough for its bicubic downscale


@dataclass(slots=True)
class ClipReport:
    embedded: int = 0
    failed: int = 0
    skipped: str | None = None  # why the stage did not run (no model, model unavailable)


class ClipStage:
    def __init__(
        self,
        factory: sessionmaker[Session],
        settings: Settings,
        reporter: ProgressReporter | None = None,
    ) -> None:
        self.factory = factory
        self.settings = settings
        self.reporter = reporter or NullReporter()

    def run(self) -> ClipReport:
        """Embed every processed image lacking an embedding of the configured model.

        A model that cannot be loaded (offline without weights, wrong file) skips the stage
        with the reason in ``ClipReport.skipped``: faces and the rest of the library are not
        held back by search.
        """
        model = self.settings.clip_model
        if model == CLIP_DISABLED:
            return ClipReport(skipped="CLIP is switched off (IMAGE_SEARCH_CLIP_MODEL=none)")
        with session_scope(self.factory) as session:
            total = ClipRepository(session).count_pending(model)
        if total == 0:
            return ClipReport()
        try:
            encoder = load_clip_encoder(
                model, self.settings.models_dir, self.settings.model_cache_dir
            )
        except ImageSearchError as exc:
            log.warning("CLIP embeddings skipped: %s", exc.message)
            return ClipReport(skipped=exc.message)
        report = ClipReport()
        self.reporter.start(CLIP_STAGE, total)
        failed_here: list[int] = []
        while True:
            with session_scope(self.factory) as session:
                batch = [
                    (a.id, a.path, a.content_hash or "")
                    for a in ClipRepository(session).pending(model, BATCH, failed_here)
                ]
            if not batch:
                break
            self._embed_batch(encoder, model, batch, report, failed_here)
            self.reporter.advance(CLIP_STAGE, len(batch))
        self.reporter.finish(CLIP_STAGE)
        return report

    def _embed_batch(
        self,
        encoder: ClipEncoder,
        model: str,
        batch: list[tuple[int, str, str]],
        report: ClipReport,
        failed_here: list[int],
    ) -> None:
        images: list[np.ndarray] = []
        decoded: list[int] = []
        errors: dict[int, str] = {}
        for asset_id, path, content_hash in batch:
            try:
                images.append(self._pixels(Path(path), content_hash))
                decoded.append(asset_id)
            except MediaError as exc:
                errors[asset_id] = exc.message
        vectors = encoder.embed_images(images)
        with session_scope(self.factory) as session:
            repository = ClipRepository(session)
            for row, asset_id in enumerate(decoded):
                if session.get(Asset, asset_id) is not None:  # not deleted meanwhile
                    repository.replace(asset_id, model, vectors[row : row + 1], [None])
            for asset_id, message in errors.items():
                asset = session.get(Asset, asset_id)
                if asset is not None:
                    asset.status = AssetStatus.FAILED
                    asset.error, asset.error_stage = message, CLIP_STAGE
                    asset.attempts += 1
                    asset.last_attempt_at = utcnow()
        report.embedded += len(decoded)
        report.failed += len(errors)
        failed_here.extend(errors)

    def _pixels(self, original: Path, content_hash: str) -> np.ndarray:
        preview = sharded_path(self.settings.thumbnails_dir, content_hash, "-preview.jpeg")
        source = preview if preview.is_file() else original
        return decode_image(source, DECODE_SIDE).pixels
