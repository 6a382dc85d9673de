"""Simulated reviewer: how many clicks does it take to label every face of 50 people?

What is simulated
-----------------
A real SQLite library is built in a temporary data dir with the product's own schema
(``jobs.service.open_database``): one ``Asset`` per lfw-dev image (its real path, status and
stage ``done``, kind ``image``) and one ``Face`` per image: the primary face (nearest the
centre) that ``image-search eval`` embedded, with its cached embedding, and the box, landmarks,
detector score and quality (``faces.quality.face_quality``) of that same YuNet detection
(``evaluation.assignment.primary_face_details``; both are cached under ``--data-dir``, so a run
takes no model inference once ``image-search eval`` has run). Then, with the real services:

1. ``ClusterService.update_clusters`` clusters all faces with the pack's defaults.
2. People: of those who are the majority of at least one cluster, the ``--people`` (50) with
   the most images (ties: by name). For each, the reviewer names the largest cluster whose
   majority they are (``PersonService.name_cluster``), excluding the cluster's faces of other
   people (one click each) -- 1 click per cluster plus the exclusions.
3. ``AssignmentService.assign_unassigned`` (the pack's calibrated thresholds) auto-assigns and
   suggests.
4. Review rounds, until no suggestion is pending: the grouped review page
   (``SuggestionService.grouped``, the pack's page sizes: 20 persons x 20 faces) is read again
   and again; for each group the reviewer accepts the true and rejects the false suggestions
   (``SuggestionService.bulk``): one click when the group's shown suggestions are all true or
   all false, else one click for the bulk action on the majority plus one click per suggestion
   of the minority (acted on one by one). Then, as the review screen's "find more after
   accepting" option does, ``find_more`` runs for every person that gained faces (no click),
   and ``assign_unassigned`` runs again (the assignment job; its prototypes have changed).
5. By hand, what is left: a remaining cluster holding only (or mostly) faces of one of the
   people is named for them when that is cheaper (1 click plus one per other face excluded),
   every other unlabelled face of the 50 people is assigned with one click, and every wrong
   assignment (only auto-assignment can make one: the reviewer knows the truth) is corrected
   with one click.

Two scenarios run by default (``--scenario``): ``allAtOnce`` does the above on the whole of
lfw-dev. On LFW it leaves little to suggest: the largest cluster of a person with many photos
holds nearly all of them. ``newPhotos`` is the product's other path: half the images (at random,
``--seed``) are the library for steps 1-4; then the other half arrives as a second index run
(faces inserted, clusters updated incrementally, ``assign_unassigned``), its suggestions are
reviewed as in step 4, and step 5 follows. The people are chosen, and their clusters named, in
the first half only.

The baseline is one click per face of the 50 people. Auto-assign precision counts every face
auto-assigned in any round; suggestion precision is over all suggestions reviewed; suggestion
recall is the share of the 50 people's faces that neither cluster naming nor a correct
auto-assignment labelled and that a suggestion labelled.

Usage::

    .venv/bin/python bench/reviewer.py [--pack yunet-dlib] [--people 50] [--seed 0]

Prints one JSON object and writes it to ``--output`` (default
``bench/results/reviewer-lfw-dev-<pack>.json``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from image_search.config import Settings
from image_search.db.engine import session_scope
from image_search.evaluation.assignment import PrimaryFaceDetails, primary_face_details
from image_search.evaluation.dataset import LabelledImages, list_dataset
from image_search.evaluation.runner import embed_dataset
from image_search.faces.models import Face
from image_search.faces.pack_settings import load_pack_settings
from image_search.faces.repository import FaceRepository
from image_search.faces.service import ClusterService
from image_search.jobs.service import open_database
from image_search.library.models import Asset, AssetKind, AssetStatus, Stage
from image_search.people.assignment import AssignmentService
from image_search.people.find_more import find_more
from image_search.people.matching_settings import MatchingSettingsService
from image_search.people.models import FaceSuggestion, Person, SuggestionStatus
from image_search.people.service import PersonService
from image_search.people.suggestions import SuggestionService

REPO = Path(__file__).resolve().parents[1]
MAX_ROUNDS = 50


@dataclass(slots=True)
class Library:
    """The lfw-dev faces and what the reviewer knows about them."""

    factory: sessionmaker[Session]
    pack: str
    dataset: Path
    data: LabelledImages
    embeddings: np.ndarray  # float32 (n, d), one primary face per image
    has_face: np.ndarray  # bool (n,)
    details: PrimaryFaceDetails
    truth: dict[int, int] = field(default_factory=dict)  # face id -> dataset person index

    def add(self, images: np.ndarray) -> None:
        """Insert the assets and faces of ``images`` (int64 indices), as an index run would."""
        with session_scope(self.factory) as session:
            assets = []
            for i in images.tolist():
                path = self.data.paths[i]
                stat = path.stat()
                assets.append(
                    Asset(
                        path=str(path),
                        root=str(self.dataset),
                        size=stat.st_size,
                        mtime=stat.st_mtime,
                        kind=AssetKind.IMAGE,
                        mime_type="image/jpeg",
                        width=int(self.details.sizes[i][0]),
                        height=int(self.details.sizes[i][1]),
                        stage=Stage.DONE,
                        status=AssetStatus.DONE,
                        model_pack=self.pack,
                    )
                )
            session.add_all(assets)
            session.flush()
            faces: list[tuple[Face, int]] = []
            for i, asset in zip(images.tolist(), assets, strict=True):
                if not self.has_face[i]:
                    continue
                box = self.details.boxes[i]
                face = Face(
                    asset_id=asset.id,
                    model_pack=self.pack,
                    box_x=float(box[0]),
                    box_y=float(box[1]),
                    box_width=float(box[2]),
                    box_height=float(box[3]),
                    landmarks=self.details.landmarks[i].round(2).tolist(),
                    detector_score=float(self.details.scores[i]),
                    quality=float(self.details.quality[i]),
                    embedding=np.asarray(self.embeddings[i], dtype="<f4").tobytes(),
                    embedding_dim=int(self.embeddings.shape[1]),
                )
                faces.append((face, i))
            session.add_all([f for f, _ in faces])
            session.flush()
            self.truth.update({f.id: int(self.data.labels[i]) for f, i in faces})


def open_library(
    factory: sessionmaker[Session], pack: str, shared: Path, data_dir: Path
) -> Library:
    """The lfw-dev images with their cached embeddings and primary-face details (none inserted
    yet)."""
    dataset = (shared / "data" / "faces" / "lfw-dev").resolve()
    data = list_dataset(dataset)
    settings = Settings(
        data_dir=data_dir, model_pack=pack, models_dir=shared / "models", database_url=None
    )
    embedded = embed_dataset(data, settings)
    details = primary_face_details(data, settings)
    return Library(factory, pack, dataset, data, embedded.embeddings, embedded.has_face, details)


class Reviewer:
    """The simulated user: knows every face's true person and counts clicks."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        pack: str,
        truth: dict[int, int],
        names: list[str],
        seed: int,
    ) -> None:
        self.factory = factory
        self.pack = pack
        self.truth = truth  # face id -> dataset person index
        self.names = names
        self.seed = seed
        self.person_label: dict[int, int] = {}  # person id -> dataset person index
        self.clicks: Counter[str] = Counter()
        self.auto_faces: dict[int, bool] = {}  # auto-assigned face -> correct
        self.reviewed: Counter[str] = Counter()  # "<source>:<true|false>"

    def is_true(self, face_id: int, person_id: int) -> bool:
        return self.truth[face_id] == self.person_label[person_id]

    # 2. naming ---------------------------------------------------------------------------
    def name_clusters(self, people_wanted: int) -> list[int]:
        with session_scope(self.factory) as session:
            members: dict[int, list[int]] = {}
            for face_id, cluster_id in session.execute(
                select(Face.id, Face.cluster_id).where(Face.cluster_id.is_not(None))
            ):
                members.setdefault(int(cluster_id), []).append(int(face_id))
            largest: dict[int, tuple[int, int]] = {}  # label -> (size, cluster id)
            for cluster_id, faces in members.items():
                label, count = Counter(self.truth[f] for f in faces).most_common(1)[0]
                if count * 2 > len(faces) and (len(faces), -cluster_id) > (
                    largest.get(label, (0, 0))[0],
                    -largest.get(label, (0, 0))[1],
                ):
                    largest[label] = (len(faces), cluster_id)
            images = Counter(self.truth.values())
            chosen = sorted(largest, key=lambda lb: (-images[lb], self.names[lb]))[:people_wanted]
            service = PersonService(session, self.pack)
            for label in chosen:
                cluster_id = largest[label][1]
                others = [f for f in members[cluster_id] if self.truth[f] != label]
                named = service.name_cluster(
                    cluster_id, name=self.names[label], exclude_face_ids=others
                )
                self.person_label[named.person.id] = label
                self.clicks["nameCluster"] += 1
                self.clicks["nameClusterExclusions"] += len(others)
        return chosen

    # 3. assignment -----------------------------------------------------------------------
    def assign(self) -> dict[str, Any]:
        with session_scope(self.factory) as session:
            before = set(session.scalars(select(Face.id).where(Face.assigned_by == "auto")).all())
            report = AssignmentService(session, self.pack).assign_unassigned()
            rows = session.execute(
                select(Face.id, Face.person_id).where(Face.assigned_by == "auto")
            ).all()
        new = [(int(f), int(p)) for f, p in rows if f not in before]
        for face_id, person_id in new:
            self.auto_faces[face_id] = self.is_true(face_id, person_id)
        return {
            "autoAssigned": report.auto_assigned,
            "autoWrong": sum(not self.auto_faces[f] for f, _ in new),
            "suggestionsCreated": report.suggestions_created,
            "ambiguous": report.ambiguous,
        }

    # 4. review ---------------------------------------------------------------------------
    def review(self) -> tuple[dict[str, Any], set[int]]:
        gained: set[int] = set()
        stats: Counter[str] = Counter()
        with session_scope(self.factory) as session:
            pack = load_pack_settings(FaceRepository(session), self.pack)
            service = SuggestionService(session, self.pack)
            while True:
                page = service.grouped(
                    1, pack.suggestion_groups_per_page, pack.suggestion_items_per_group
                )
                if not page.groups:
                    break
                stats["pages"] += 1
                for group in page.groups:
                    ids = [v.suggestion.id for v in group.suggestions]
                    # a face accepted in an earlier group expires its other suggestions: the
                    # screen shows only what is still pending
                    pending = [
                        s
                        for s in session.scalars(
                            select(FaceSuggestion).where(FaceSuggestion.id.in_(ids))
                        )
                        if s.status == SuggestionStatus.PENDING
                    ]
                    if not pending:
                        continue
                    good = [s.id for s in pending if self.is_true(s.face_id, s.suggested_person_id)]
                    bad = [s.id for s in pending if s.id not in set(good)]
                    for s in pending:
                        ok = self.is_true(s.face_id, s.suggested_person_id)
                        self.reviewed[f"{s.source}:{'true' if ok else 'false'}"] += 1
                    if good and bad:
                        self.clicks["reviewBulk"] += 1
                        self.clicks["reviewSingle"] += min(len(good), len(bad))
                        stats["mixedGroups"] += 1
                    else:
                        self.clicks["reviewBulk"] += 1
                    stats["groupViews"] += 1
                    for action, chosen in (("reject", bad), ("accept", good)):
                        if not chosen:
                            continue
                        result = service.bulk(chosen, action)
                        stats[f"{action}ed"] += result.processed
                        stats[f"{action}Failed"] += result.failed
                    if good:
                        gained.add(group.person_id)
                session.flush()
        return dict(stats), gained

    def find_more(self, persons: set[int], round_number: int) -> int:
        created = 0
        for person_id in sorted(persons):
            result = find_more(
                self.factory, self.pack, person_id, seed=self.seed * 1000 + round_number
            )
            created += result.suggestions_created
        return created

    def pending(self) -> int:
        with session_scope(self.factory) as session:
            return len(
                session.scalars(
                    select(FaceSuggestion.id).where(
                        FaceSuggestion.status == SuggestionStatus.PENDING
                    )
                ).all()
            )

    # 5. by hand --------------------------------------------------------------------------
    def finish_by_hand(self) -> dict[str, int]:
        label_person = {label: pid for pid, label in self.person_label.items()}
        done: Counter[str] = Counter()
        with session_scope(self.factory) as session:
            service = PersonService(session, self.pack)
            rows = session.execute(select(Face.id, Face.person_id, Face.cluster_id)).all()
            # wrong assignments (auto-assignment only): move or take away, one click each
            for face_id, person_id, _ in rows:
                if person_id is None or self.is_true(face_id, person_id):
                    continue
                right = label_person.get(self.truth[face_id])
                if right is None:
                    service.unassign([face_id], not_this_person=True)
                    done["removedWrong"] += 1
                else:
                    service.assign([face_id], person_id=right)
                    done["movedWrong"] += 1
                self.clicks["manualCorrection"] += 1
            rows = session.execute(select(Face.id, Face.person_id, Face.cluster_id)).all()
            missing = [
                (int(f), c) for f, p, c in rows if p is None and self.truth[int(f)] in label_person
            ]
            clusters: dict[int, list[int]] = {}
            for face_id, person_id, cluster_id in rows:
                if person_id is None and cluster_id is not None:
                    clusters.setdefault(int(cluster_id), []).append(int(face_id))
            handled: set[int] = set()
            for cluster_id, faces in sorted(clusters.items()):
                label, count = Counter(self.truth[f] for f in faces).most_common(1)[0]
                if label not in label_person:
                    continue
                others = [f for f in faces if self.truth[f] != label]
                if 1 + len(others) >= count:
                    continue  # cheaper face by face
                service.name_cluster(
                    cluster_id, person_id=label_person[label], exclude_face_ids=others
                )
                self.clicks["manualNameCluster"] += 1 + len(others)
                done["clustersNamed"] += 1
                done["facesByCluster"] += count
                handled.update(f for f in faces if self.truth[f] == label)
            for face_id, _ in missing:
                if face_id in handled:
                    continue
                service.assign([face_id], person_id=label_person[self.truth[face_id]])
                self.clicks["manualAssign"] += 1
                done["facesByHand"] += 1
        return dict(done)

    def breakdown(self) -> dict[str, int]:
        """How the faces of the chosen people are labelled now (by ``assigned_by``)."""
        labels = set(self.person_label.values())
        with session_scope(self.factory) as session:
            rows = session.execute(select(Face.id, Face.person_id, Face.assigned_by)).all()
        counts: Counter[str] = Counter()
        for face_id, person_id, by in rows:
            if self.truth[int(face_id)] not in labels:
                if person_id is not None:
                    counts["strangerAssigned"] += 1
                continue
            if person_id is None:
                counts["unlabelled"] += 1
            elif self.is_true(int(face_id), int(person_id)):
                counts[str(by)] += 1
            else:
                counts["wrongPerson"] += 1
        return dict(counts)


def review_until_done(
    reviewer: Reviewer,
    args: argparse.Namespace,
    rounds: list[dict[str, Any]],
    timings: defaultdict[str, float],
) -> None:
    """Review rounds (step 4) until no suggestion is pending."""
    for _ in range(MAX_ROUNDS):
        if reviewer.pending() == 0:
            return
        entry: dict[str, Any] = {"round": len(rounds)}
        t0 = time.perf_counter()
        entry["review"], gained = reviewer.review()
        timings["review"] += time.perf_counter() - t0
        if args.find_more:
            t0 = time.perf_counter()
            entry["findMoreSuggestions"] = reviewer.find_more(gained, len(rounds))
            timings["findMore"] += time.perf_counter() - t0
        if args.reassign:
            t0 = time.perf_counter()
            entry["assignment"] = reviewer.assign()
            timings["assign"] += time.perf_counter() - t0
        rounds.append(entry)


def run_scenario(args: argparse.Namespace, initial_fraction: float) -> dict[str, Any]:
    """One simulated library: ``initial_fraction`` of the images first (clustered, named,
    assigned, reviewed), the rest arriving afterwards as a second index run (clustered
    incrementally, assigned, reviewed), then the work by hand."""
    started = time.perf_counter()
    shared = args.shared.resolve()
    timings: defaultdict[str, float] = defaultdict(float)
    with tempfile.TemporaryDirectory(prefix="reviewer-") as tmp:
        settings = Settings(data_dir=Path(tmp), model_pack=args.pack, database_url=None)
        factory = open_database(settings)
        t0 = time.perf_counter()
        library = open_library(factory, args.pack, shared, args.data_dir)
        n = len(library.data.paths)
        first = np.random.default_rng(args.seed).random(n) < initial_fraction
        library.add(np.flatnonzero(first))
        timings["buildLibrary"] += time.perf_counter() - t0
        with session_scope(factory) as session:
            if args.auto is not None or args.suggest is not None:
                MatchingSettingsService(session, args.pack).update(args.auto, args.suggest)
            pack = load_pack_settings(FaceRepository(session), args.pack)
            thresholds = {
                "autoAssign": pack.auto_assign_threshold,
                "suggestion": pack.suggestion_threshold,
            }
            t0 = time.perf_counter()
            clustering = ClusterService(session).update_clusters(args.pack)
            timings["cluster"] += time.perf_counter() - t0

        reviewer = Reviewer(factory, args.pack, library.truth, library.data.people, args.seed)
        t0 = time.perf_counter()
        chosen = reviewer.name_clusters(args.people)
        timings["nameClusters"] += time.perf_counter() - t0
        after_naming = reviewer.breakdown()

        t0 = time.perf_counter()
        rounds: list[dict[str, Any]] = [{"round": 0, "assignment": reviewer.assign()}]
        timings["assign"] += time.perf_counter() - t0
        review_until_done(reviewer, args, rounds, timings)
        arrival: dict[str, Any] | None = None
        if (~first).any():
            t0 = time.perf_counter()
            library.add(np.flatnonzero(~first))
            timings["buildLibrary"] += time.perf_counter() - t0
            t0 = time.perf_counter()
            with session_scope(factory) as session:
                update = ClusterService(session).update_clusters(args.pack)
            timings["cluster"] += time.perf_counter() - t0
            t0 = time.perf_counter()
            arrival = {"round": len(rounds), "newFaces": int(library.has_face[~first].sum())}
            arrival["clustering"] = {
                "attached": update.attached,
                "newClusters": update.new_clusters,
            }
            arrival["assignment"] = reviewer.assign()
            rounds.append(arrival)
            timings["assign"] += time.perf_counter() - t0
            review_until_done(reviewer, args, rounds, timings)
        before_hand = reviewer.breakdown()
        t0 = time.perf_counter()
        by_hand = reviewer.finish_by_hand()
        timings["byHand"] += time.perf_counter() - t0
        final = reviewer.breakdown()
        with session_scope(factory) as session:
            persons = len(session.scalars(select(Person.id)).all())

    chosen_set = set(chosen)
    target_faces = sum(1 for label in library.truth.values() if label in chosen_set)
    auto_total = len(reviewer.auto_faces)
    auto_right = sum(reviewer.auto_faces.values())
    reviewed_true = sum(n for k, n in reviewer.reviewed.items() if k.endswith(":true"))
    reviewed_all = sum(reviewer.reviewed.values())
    left_for_review = target_faces - before_hand.get("cluster", 0) - auto_right
    by_suggestion = before_hand.get("suggestion", 0)
    total_clicks = sum(reviewer.clicks.values())
    return {
        "initialFraction": initial_fraction,
        "thresholds": thresholds,
        "faces": len(library.truth),
        "initialFaces": int(library.has_face[first].sum()),
        "initialClustering": {
            "clusters": clustering.clusters,
            "unclustered": clustering.unclustered,
        },
        "people": len(chosen),
        "persons": persons,
        "peopleFaces": target_faces,
        "rounds": sum(1 for r in rounds if "review" in r),
        "autoAssign": {
            "assigned": auto_total,
            "correct": auto_right,
            "precision": round(auto_right / auto_total, 5) if auto_total else None,
            "goal": 0.995,
        },
        "suggestions": {
            "reviewed": reviewed_all,
            "true": reviewed_true,
            "precision": round(reviewed_true / reviewed_all, 5) if reviewed_all else None,
            "bySource": dict(reviewer.reviewed),
            "facesLeftForReview": left_for_review,
            "facesLabelledBySuggestion": by_suggestion,
            "recall": round(by_suggestion / left_for_review, 5) if left_for_review else None,
        },
        "labelledAfterNaming": after_naming,
        "labelledBeforeHandWork": before_hand,
        "byHand": by_hand,
        "final": final,
        "clicks": {
            **dict(reviewer.clicks),
            "total": total_clicks,
            "naiveOneClickPerFace": target_faces,
            "ratio": round(total_clicks / target_faces, 4) if target_faces else None,
        },
        "roundsDetail": rounds,
        "seconds": {k: round(v, 2) for k, v in timings.items()}
        | {"total": round(time.perf_counter() - started, 2)},
    }


SCENARIOS = {"allAtOnce": 1.0, "newPhotos": 0.5}


def run(args: argparse.Namespace) -> dict[str, Any]:
    started = time.perf_counter()
    names = list(SCENARIOS) if args.scenario == "both" else [args.scenario]
    return {
        "benchmark": "reviewer",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "dataset": str((args.shared / "data" / "faces" / "lfw-dev").resolve()),
        "modelPack": args.pack,
        "seed": args.seed,
        "findMore": args.find_more,
        "reassignEachRound": args.reassign,
        "scenarios": {name: run_scenario(args, SCENARIOS[name]) for name in names},
        "seconds": round(time.perf_counter() - started, 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--pack", default="yunet-dlib", choices=["yunet-dlib", "mobilefacenet"])
    parser.add_argument("--people", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--shared",
        type=Path,
        default=Path(os.environ.get("IMAGE_SEARCH_TEST_ASSETS") or REPO.parent / "shared"),
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=REPO / ".bench-data" / "eval",
        help="where image-search eval cached the lfw-dev embeddings",
    )
    parser.add_argument("--auto", type=float, default=None, help="override the auto threshold")
    parser.add_argument("--suggest", type=float, default=None, help="override the suggestion one")
    parser.add_argument("--no-find-more", dest="find_more", action="store_false")
    parser.add_argument("--no-reassign", dest="reassign", action="store_false")
    parser.add_argument(
        "--scenario", choices=[*SCENARIOS, "both"], default="both", help="see the docstring"
    )
    parser.add_argument("--output", type=Path, default=None)
    args = parser.parse_args(argv)
    args.data_dir = args.data_dir.resolve()
    result = run(args)
    output = args.output or REPO / "bench" / "results" / f"reviewer-lfw-dev-{args.pack}.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(result, indent=2)
    output.write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
