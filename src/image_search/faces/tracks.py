"""Face tracks: the faces of one person through a video, so a video stores one face per
person appearance instead of one per sampled frame.

Faces of consecutive sampled frames are linked by an optimal assignment (Hungarian method,
``scipy.optimize.linear_sum_assignment``) on a cost mixing embedding similarity and box
overlap, in the spirit of SORT/DeepSORT (Bewley et al. 2016, Wojke et al. 2017): a link needs
either an embedding as close as the pack's clustering distance, or a clearly overlapping box
with an embedding close enough to be a suggestion. Afterwards tracks that never share a frame
and whose mean embeddings are as close as the clustering distance are merged (the same person
leaving and coming back, or lost for a few frames). Each track keeps its best-quality face.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment

from image_search.faces.pack_settings import PACK_DEFAULTS

# Faces of a track averaged into its embedding: the best ones by quality.
TRACK_EMBEDDING_FACES = 5
_FORBIDDEN = 1e6


@dataclass(frozen=True, slots=True)
class TrackingSettings:
    """``link_similarity``: cosine similarity that links two faces (or merges two tracks) on
    appearance alone; ``motion_similarity`` with ``min_iou`` box overlap links faces that move
    a little between samples; ``max_gap_s``: a track not seen for longer ends."""

    link_similarity: float | None
    motion_similarity: float | None
    min_iou: float = 0.3
    max_gap_s: float = 3.0

    @classmethod
    def for_pack(cls, model_pack: str, sample_interval_s: float) -> TrackingSettings:
        """From the pack's calibrated thresholds (faces/pack_settings.py): the clustering
        distance gives ``link_similarity`` (1 - distance), the suggestion threshold gives
        ``motion_similarity``. An uncalibrated pack links by box overlap only (IoU >= 0.5)."""
        gap = max(3.0, 2.5 * sample_interval_s)
        defaults = PACK_DEFAULTS.get(model_pack)
        if defaults is None:
            return cls(None, None, min_iou=0.5, max_gap_s=gap)
        link = 1.0 - defaults.cluster_max_distance
        motion = defaults.suggestion_threshold
        if motion is None or motion > link:
            motion = 1.0 - 2.0 * defaults.cluster_max_distance
        return cls(link, motion, max_gap_s=gap)


@dataclass(slots=True)
class TrackedFace:
    """One detection in one sampled frame. ``box`` x, y, w, h (full-resolution pixels);
    ``embedding`` float32 (d,), L2-normalised; ``payload``: what the caller needs to store
    the face if it ends up its track's best (its crop, landmarks...), dropped otherwise."""

    time: float
    box: np.ndarray
    embedding: np.ndarray
    quality: float
    detector_score: float
    payload: Any = None


@dataclass(slots=True)
class FaceTrack:
    faces: list[TrackedFace] = field(default_factory=list)
    best: TrackedFace | None = None
    # embedding(), kept until a face is added: merging compares every track after each merge.
    _mean: np.ndarray | None = field(default=None, repr=False, compare=False)

    @property
    def start(self) -> float:
        return self.faces[0].time

    @property
    def end(self) -> float:
        return self.faces[-1].time

    @property
    def last(self) -> TrackedFace:
        return self.faces[-1]

    def add(self, face: TrackedFace) -> None:
        self.faces.append(face)
        self._mean = None
        if self.best is None or _rank(face) > _rank(self.best):
            if self.best is not None:
                self.best.payload = None  # keep one crop per track in memory
            self.best = face
        else:
            face.payload = None

    def embedding(self) -> np.ndarray:
        """Mean of the ``TRACK_EMBEDDING_FACES`` best faces' embeddings, L2-normalised:
        float32 (d,). Steadier than one frame's for clustering and assignment."""
        if self._mean is None:
            ranked = sorted(self.faces, key=_rank, reverse=True)[:TRACK_EMBEDDING_FACES]
            mean = np.mean([f.embedding for f in ranked], axis=0)
            self._mean = (mean / (np.linalg.norm(mean) or 1.0)).astype(np.float32)
        return self._mean

    def times(self) -> set[float]:
        return {f.time for f in self.faces}


def _rank(face: TrackedFace) -> tuple[float, float]:
    return (face.quality, face.detector_score)


class FaceTracker:
    """Feed the faces of each sampled frame in time order with ``add_frame``; ``tracks()``
    gives the merged tracks, ordered by start time."""

    def __init__(self, settings: TrackingSettings) -> None:
        self.settings = settings
        self._tracks: list[FaceTrack] = []

    def add_frame(self, faces: list[TrackedFace]) -> None:
        if not faces:
            return
        time = faces[0].time
        active = [t for t in self._tracks if time - t.end <= self.settings.max_gap_s]
        assigned: set[int] = set()
        if active:
            cost = np.array([[self._cost(t, f) for f in faces] for t in active])
            for row, column in zip(*linear_sum_assignment(cost), strict=True):
                if cost[row, column] < _FORBIDDEN:
                    active[row].add(faces[column])
                    assigned.add(int(column))
        for index, face in enumerate(faces):
            if index not in assigned:
                track = FaceTrack()
                track.add(face)
                self._tracks.append(track)

    def _cost(self, track: FaceTrack, face: TrackedFace) -> float:
        similarity = float(np.dot(track.last.embedding, face.embedding))
        overlap = iou(track.last.box, face.box)
        s = self.settings
        by_look = s.link_similarity is not None and similarity >= s.link_similarity
        by_motion = overlap >= s.min_iou and (
            s.motion_similarity is None or similarity >= s.motion_similarity
        )
        if not (by_look or by_motion):
            return _FORBIDDEN
        return (1.0 - similarity) + (1.0 - overlap) * 0.5

    def tracks(self) -> list[FaceTrack]:
        """The tracks after merging those that never share a frame and look alike."""
        tracks = sorted(self._tracks, key=lambda t: t.start)
        threshold = self.settings.link_similarity
        if threshold is None or len(tracks) < 2:
            return tracks
        merged = True
        while merged:
            merged = False
            embeddings = np.stack([t.embedding() for t in tracks])
            similarity = embeddings @ embeddings.T
            np.fill_diagonal(similarity, -1.0)
            for flat in np.argsort(similarity, axis=None)[::-1]:
                a, b = divmod(int(flat), len(tracks))
                if similarity[a, b] < threshold:
                    break
                if a < b and not tracks[a].times() & tracks[b].times():
                    tracks = _merge(tracks, a, b)
                    merged = True
                    break
        return tracks


def _merge(tracks: list[FaceTrack], a: int, b: int) -> list[FaceTrack]:
    joined = FaceTrack(sorted(tracks[a].faces + tracks[b].faces, key=lambda f: f.time))
    bests = [t.best for t in (tracks[a], tracks[b]) if t.best is not None]
    joined.best = max(bests, key=_rank)
    for best in bests:
        if best is not joined.best:
            best.payload = None
    rest = [t for i, t in enumerate(tracks) if i not in (a, b)]
    return sorted([*rest, joined], key=lambda t: t.start)


def iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two x, y, w, h boxes (0 when disjoint)."""
    ax2, ay2, bx2, by2 = a[0] + a[2], a[1] + a[3], b[0] + b[2], b[1] + b[3]
    width = min(ax2, bx2) - max(a[0], b[0])
    height = min(ay2, by2) - max(a[1], b[1])
    if width <= 0 or height <= 0:
        return 0.0
    inter = width * height
    return float(inter / (a[2] * a[3] + b[2] * b[3] - inter))
