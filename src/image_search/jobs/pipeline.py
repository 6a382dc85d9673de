"""The durable face pipeline (DESIGN.md section 6).

Work is claimed from the ``assets`` table; worker processes analyse one image each and return a
result; the main process writes each result in one transaction (delete the asset's faces, insert
the new ones, mark the asset done). ``kill -9`` at any moment therefore loses at most the assets in
flight, which the next run claims again: no face is lost or duplicated.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from image_search.config import Settings
from image_search.db.base import utcnow
from image_search.db.engine import session_scope
from image_search.faces.models import Face
from image_search.jobs.progress import NullReporter, ProgressReporter
from image_search.jobs.worker import (
    AssetResult,
    AssetTask,
    WorkerConfig,
    analyse_asset,
    init_worker,
    process_asset,
)
from image_search.library.models import Asset, AssetStatus, Stage
from image_search.library.repository import AssetRepository
from image_search.ml.packs import load_model_pack


@dataclass(slots=True)
class PipelineReport:
    processed: int = 0
    failed: int = 0
    faces: int = 0


class FacePipeline:
    def __init__(
        self,
        factory: sessionmaker[Session],
        settings: Settings,
        reporter: ProgressReporter | None = None,
    ) -> None:
        self.factory = factory
        self.settings = settings
        self.reporter = reporter or NullReporter()
        self.config = WorkerConfig.from_settings(settings)

    def run(self) -> PipelineReport:
        """Process every pending image and video until none is left; returns counts of
        this run."""
        report = PipelineReport()
        with session_scope(self.factory) as session:
            total = AssetRepository(session).count_pending_work()
        self.reporter.start("faces", total)
        if total:
            if self.settings.workers <= 1:
                self._run_inline(report)
            else:
                self._run_pool(report)
        self.reporter.finish("faces")
        return report

    def _claim(self, limit: int, in_flight: set[int]) -> list[AssetTask]:
        with session_scope(self.factory) as session:
            assets = AssetRepository(session).claim_for_faces(limit, in_flight)
            return [AssetTask(a.id, a.path, a.content_hash or "", a.kind) for a in assets]

    def _run_inline(self, report: PipelineReport) -> None:
        pack = load_model_pack(
            self.settings.model_pack, self.settings.models_dir, self.settings.model_cache_dir
        )
        while tasks := self._claim(self.settings.batch_size, set()):
            results = [analyse_asset(task, pack, self.config) for task in tasks]
            self._store(results, report)

    def _run_pool(self, report: PipelineReport) -> None:
        while True:
            try:
                with self._pool() as pool:
                    self._drive(pool, report)
                return
            except BrokenProcessPool:
                continue  # in-flight assets were charged an attempt; start a fresh pool

    @contextmanager
    def _pool(self) -> Iterator[ProcessPoolExecutor]:
        pool = ProcessPoolExecutor(
            max_workers=self.settings.workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=init_worker,
            initargs=(self.config,),
        )
        try:
            yield pool
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def _drive(self, pool: ProcessPoolExecutor, report: PipelineReport) -> None:
        in_flight: dict[Future[AssetResult], int] = {}
        window = self.settings.workers * 3
        while True:
            if len(in_flight) < window:
                for task in self._claim(window - len(in_flight), set(in_flight.values())):
                    in_flight[pool.submit(process_asset, task)] = task.asset_id
            if not in_flight:
                return
            done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
            results = []
            for future in done:
                asset_id = in_flight.pop(future)
                try:
                    results.append(future.result())
                except BrokenProcessPool:
                    crashed = [asset_id, *in_flight.values()]
                    self._charge_crash(crashed)
                    raise
            self._store(results, report)

    def _charge_crash(self, asset_ids: list[int]) -> None:
        """A worker process died (for example a decoder crash): every asset in flight gets an
        attempt, so a file that kills workers ends failed after ``max_attempts``."""
        with session_scope(self.factory) as session:
            for asset_id in asset_ids:
                asset = session.get(Asset, asset_id)
                if asset is None:
                    continue
                asset.attempts += 1
                asset.last_attempt_at = utcnow()
                asset.error = "the worker process crashed while processing this file"
                asset.error_stage = Stage.FACES
                if asset.attempts >= self.settings.max_attempts:
                    asset.status = AssetStatus.FAILED

    def _store(self, results: list[AssetResult], report: PipelineReport) -> None:
        with session_scope(self.factory) as session:
            for result in results:
                self._store_one(session, result, report)
        for result in results:
            self.reporter.advance("faces", 1, faces=len(result.faces))

    def _store_one(self, session: Session, result: AssetResult, report: PipelineReport) -> None:
        asset = session.get(Asset, result.asset_id)
        if asset is None:  # deleted while in flight
            return
        asset.last_attempt_at = utcnow()
        if result.error is not None:
            asset.attempts += 1
            asset.status = AssetStatus.FAILED
            asset.error, asset.error_stage = result.error, result.error_stage
            report.failed += 1
            return
        repository = AssetRepository(session)
        repository.delete_faces(asset.id)
        pack = self.settings.model_pack
        session.add_all(
            Face(
                asset_id=asset.id,
                model_pack=pack,
                box_x=face.box[0],
                box_y=face.box[1],
                box_width=face.box[2],
                box_height=face.box[3],
                landmarks=face.landmarks,
                detector_score=face.detector_score,
                quality=face.quality,
                embedding=face.embedding,
                embedding_dim=len(face.embedding) // 4,
                crop_path=face.crop_path,
                video_timestamp=face.video_timestamp,
                video_span_start=face.video_span[0] if face.video_span else None,
                video_span_end=face.video_span[1] if face.video_span else None,
                video_track_size=face.video_track_size,
            )
            for face in result.faces
        )
        if result.video is not None:
            for name in (
                "duration",
                "video_codec",
                "audio_codec",
                "container",
                "frame_rate",
                "rotation",
            ):
                setattr(asset, name, getattr(result.video, name))
        asset.width, asset.height, asset.orientation = (
            result.width,
            result.height,
            result.orientation,
        )
        if result.metadata is not None:
            for name in (
                "taken_at",
                "camera_make",
                "camera_model",
                "lens",
                "gps_latitude",
                "gps_longitude",
                "gps_altitude",
            ):
                setattr(asset, name, getattr(result.metadata, name))
        asset.stage, asset.status = Stage.DONE, AssetStatus.DONE
        asset.error = asset.error_stage = None
        asset.model_pack = pack
        report.processed += 1
        report.faces += len(result.faces)
