"""Index orchestration (scan -> face pipeline -> clustering) and the library status summary."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from image_search.config import Settings
from image_search.db.base import utcnow
from image_search.db.engine import make_engine, make_session_factory, session_scope
from image_search.db.migrate import upgrade_to_head
from image_search.errors import InvalidInputError
from image_search.faces.models import Cluster, Face
from image_search.faces.pack_settings import UncalibratedPackError
from image_search.faces.repository import FaceRepository
from image_search.faces.service import ClusterReport, ClusterService
from image_search.jobs.clip_stage import ClipReport, ClipStage
from image_search.jobs.pipeline import FacePipeline, PipelineReport
from image_search.jobs.progress import NullReporter, PhaseProgress, ProgressReporter
from image_search.library.models import AssetStatus
from image_search.library.repository import AssetRepository
from image_search.library.service import ScanReport, ScanService
from image_search.people.assignment import AssignmentReport, AssignmentService
from image_search.search.clip_repository import ClipRepository


def open_database(settings: Settings) -> sessionmaker[Session]:
    """Engine + migrations to the newest schema + session factory."""
    engine = make_engine(settings.resolved_database_url)
    upgrade_to_head(engine)
    return make_session_factory(engine)


@dataclass(slots=True)
class Failure:
    path: str
    stage: str | None
    error: str | None
    attempts: int


# Indexing speed is averaged over this many seconds.
RATE_WINDOW_SECONDS = 60


@dataclass(slots=True)
class LibraryStatus:
    assets_by_status: dict[str, dict[str, int]]  # kind -> status -> count
    assets_by_stage: dict[str, int]
    faces: int
    clusters: int
    clustered_faces: int
    failures: list[Failure] = field(default_factory=list)
    pending: int = 0  # images and videos waiting for pipeline work
    rate: float = 0.0  # assets finished (done or failed) per second, last RATE_WINDOW_SECONDS
    indexing: bool = False  # pending > 0: a scan registered work the pipeline has not finished
    clip_embedded: dict[str, int] = field(default_factory=dict)  # CLIP model -> assets embedded


@dataclass(slots=True)
class ClusterOverview:
    cluster_id: int
    faces: int
    sample_paths: list[str]  # files of its best faces by quality


@dataclass(slots=True)
class IndexSummary:
    scan: ScanReport
    pipeline: PipelineReport
    clustering: ClusterReport
    assignment: AssignmentReport
    status: LibraryStatus
    clip: ClipReport = field(default_factory=ClipReport)


class IndexService:
    def __init__(
        self,
        settings: Settings,
        reporter: ProgressReporter | None = None,
        factory: sessionmaker[Session] | None = None,
    ) -> None:
        """``factory``: an open, migrated database (the server's); default: open
        ``settings``' database and migrate it."""
        self.settings = settings
        self.reporter = reporter
        self.factory = factory or open_database(settings)

    def index(self, roots: list[Path]) -> IndexSummary:
        """Scan ``roots``, run the face pipeline until no work is left, update clusters.

        Raises ``InvalidInputError`` when a root is not an existing folder.
        """
        for root in roots:
            if not root.is_dir():
                raise InvalidInputError(f"{root} is not a folder")
        return self.process_pending([r.resolve() for r in roots])

    def process_pending(self, roots: list[Path] | None = None) -> IndexSummary:
        """Scan ``roots`` (absolute folders; None: no scan, only hash what is registered),
        then run every pipeline stage over the pending work: faces, assignment, clustering,
        CLIP. The ``index_pending`` job (jobs/index_job.py) runs this in the server."""
        session = self.factory()
        try:
            scanner = ScanService(
                session, session.commit, exclude=(self.settings.data_dir,), reporter=self.reporter
            )
            if roots:
                scan = scanner.scan(roots)
            else:
                scan = ScanReport()
                scanner.hash_discovered(scan)
            session.commit()
        finally:
            session.close()
        pipeline = FacePipeline(self.factory, self.settings, self.reporter).run()
        # Known persons first: faces that match them leave the pool before clustering, so new
        # clusters hold only faces nobody recognised.
        assignment = self.assign()
        clustering = self.cluster()
        clip = self.embed_clip()
        return IndexSummary(scan, pipeline, clustering, assignment, self.status(), clip)

    def embed_clip(self) -> ClipReport:
        """CLIP image embeddings for search (jobs/clip_stage.py): after faces, so people show
        up first; skipped with the reason when the CLIP model is off or unavailable."""
        return ClipStage(self.factory, self.settings, self.reporter).run()

    def assign(self) -> AssignmentReport:
        """Match unassigned faces against the persons' prototypes: auto-assign or suggest
        (people/assignment.py). Runs after every index run; a pack without calibrated
        thresholds is skipped with the reason in the report."""
        progress = PhaseProgress(self.reporter or NullReporter(), "assign")
        try:
            with session_scope(self.factory) as session:
                return AssignmentService(session, self.settings.model_pack).assign_unassigned(
                    progress=progress
                )
        finally:
            progress.finish()

    def cluster(self, full: bool = False) -> ClusterReport:
        """Update the clusters of the configured pack; a pack without calibrated settings is
        skipped with the reason in ``ClusterReport.skipped``."""
        try:
            with session_scope(self.factory) as session:
                return ClusterService(session).update_clusters(self.settings.model_pack, full=full)
        except UncalibratedPackError as exc:
            return ClusterReport(skipped=exc.message)

    def cluster_overview(self, limit: int, samples: int = 3) -> tuple[int, list[ClusterOverview]]:
        """(number of clusters of the pack, the ``limit`` largest with sample files)."""
        with session_scope(self.factory) as session:
            faces = FaceRepository(session)
            sizes = faces.cluster_sizes(self.settings.model_pack)
            return len(sizes), [
                ClusterOverview(
                    cluster_id, count, [p for _, p in faces.cluster_samples(cluster_id, samples)]
                )
                for cluster_id, count in sizes[:limit]
            ]

    def retry_failed(self) -> tuple[int, PipelineReport]:
        """Put failed assets back to work and process them; returns (queued, pipeline report)."""
        with session_scope(self.factory) as session:
            queued = AssetRepository(session).reset_failed()
        return queued, self.process_pending().pipeline

    def status(self) -> LibraryStatus:
        with session_scope(self.factory) as session:
            return library_status(session)


def library_status(session: Session, now: datetime | None = None) -> LibraryStatus:
    """Assets by kind and status, by stage, face and cluster counts, the failures, and the
    indexing progress: ``pending`` images and videos, ``rate`` = assets whose last pipeline
    attempt ended (done or failed, ``Asset.last_attempt_at``) in the ``RATE_WINDOW_SECONDS``
    before ``now`` (default: the current time), per second; ``indexing`` while any asset is
    pending."""
    assets = AssetRepository(session)
    by_status: dict[str, dict[str, int]] = {}
    for (kind, status), count in assets.counts_by_status().items():
        by_status.setdefault(kind, {})[status] = count
    since = (now or utcnow()) - timedelta(seconds=RATE_WINDOW_SECONDS)
    pending = assets.count_pending_work()
    return LibraryStatus(
        assets_by_status=by_status,
        assets_by_stage=assets.counts_by_stage(),
        faces=session.scalar(select(func.count(Face.id))) or 0,
        clusters=session.scalar(select(func.count(Cluster.id))) or 0,
        clustered_faces=session.scalar(
            select(func.count(Face.id)).where(Face.cluster_id.is_not(None))
        )
        or 0,
        failures=[Failure(a.path, a.error_stage, a.error, a.attempts) for a in assets.failed()],
        pending=pending,
        rate=round(assets.count_finished_since(since) / RATE_WINDOW_SECONDS, 3),
        indexing=pending > 0,
        clip_embedded=ClipRepository(session).assets_by_model(),
    )


def failed_count(status: LibraryStatus) -> int:
    return sum(kinds.get(AssetStatus.FAILED, 0) for kinds in status.assets_by_status.values())
