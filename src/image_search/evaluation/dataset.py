"""Folder-per-person datasets (``DATASET/<person>/<image>``) and verification pairs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from image_search.errors import InvalidInputError
from image_search.library.filekinds import IMAGE_EXTENSIONS


@dataclass(slots=True)
class LabelledImages:
    paths: list[Path]
    labels: np.ndarray  # int64 (n,) person index
    people: list[str]


def list_dataset(root: Path) -> LabelledImages:
    """Every image of ``root/<person>/``, sorted; raises ``InvalidInputError`` if none."""
    if not root.is_dir():
        raise InvalidInputError(f"{root} is not a folder")
    paths: list[Path] = []
    labels: list[int] = []
    people: list[str] = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        images = sorted(
            p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS
        )
        if not images:
            continue
        people.append(folder.name)
        paths.extend(images)
        labels.extend([len(people) - 1] * len(images))
    if not paths:
        raise InvalidInputError(f"{root} holds no <person>/<image> files")
    return LabelledImages(paths, np.array(labels, dtype=np.int64), people)


@dataclass(slots=True)
class Pairs:
    first: np.ndarray  # int64 (p,) index into LabelledImages.paths
    second: np.ndarray
    same: np.ndarray  # bool (p,)
    folds: np.ndarray  # int64 (p,)


def generate_pairs(
    data: LabelledImages, folds: int = 10, per_fold: int = 300, seed: int = 0
) -> Pairs:
    """LFW-style pairs: people are split into ``folds`` disjoint groups; each fold gets up to
    ``per_fold`` same-person and as many different-person pairs drawn from its own people."""
    rng = np.random.default_rng(seed)
    person_fold = rng.permutation(len(data.people)) % folds
    by_person: dict[int, np.ndarray] = {
        p: np.flatnonzero(data.labels == p) for p in range(len(data.people))
    }
    first, second, same, fold_of = [], [], [], []
    for fold in range(folds):
        members = [
            p for p in range(len(data.people)) if person_fold[p] == fold and len(by_person[p])
        ]
        multi = [p for p in members if len(by_person[p]) >= 2]
        seen: set[tuple[int, int]] = set()
        attempts = 0
        positives = 0
        while multi and positives < per_fold and attempts < per_fold * 50:
            attempts += 1
            person = multi[rng.integers(len(multi))]
            a, b = sorted(rng.choice(by_person[person], 2, replace=False).tolist())
            if (a, b) in seen:
                continue
            seen.add((a, b))
            first.append(a)
            second.append(b)
            same.append(True)
            fold_of.append(fold)
            positives += 1
        negatives = 0
        attempts = 0
        while len(members) >= 2 and negatives < positives and attempts < per_fold * 50:
            attempts += 1
            p, q = rng.choice(members, 2, replace=False).tolist()
            a = int(rng.choice(by_person[p]))
            b = int(rng.choice(by_person[q]))
            key = (min(a, b), max(a, b))
            if key in seen:
                continue
            seen.add(key)
            first.append(a)
            second.append(b)
            same.append(False)
            fold_of.append(fold)
            negatives += 1
    return Pairs(
        np.array(first, dtype=np.int64),
        np.array(second, dtype=np.int64),
        np.array(same, dtype=bool),
        np.array(fold_of, dtype=np.int64),
    )


def read_lfw_pairs(pairs_file: Path, data: LabelledImages, root: Path) -> Pairs:
    """Read an LFW ``pairs.txt``: a header ``<folds> <n>``, then per fold n lines
    ``name i j`` (same person) and n lines ``name1 i name2 j``; images are
    ``root/<name>/<name>_<i:04d>.jpg``. Raises ``InvalidInputError`` on a malformed line or an
    image missing from the dataset."""
    index = {path.resolve(): i for i, path in enumerate(data.paths)}
    lines = [line.split() for line in pairs_file.read_text().splitlines() if line.strip()]
    try:
        folds, per_fold = int(lines[0][0]), int(lines[0][1])
    except (IndexError, ValueError) as exc:
        raise InvalidInputError(f"{pairs_file}: first line must be '<folds> <pairs>'") from exc

    def image(name: str, number: str) -> int:
        path = (root / name / f"{name}_{int(number):04d}.jpg").resolve()
        if path not in index:
            raise InvalidInputError(f"{pairs_file}: {path} is not in the dataset")
        return index[path]

    first, second, same, fold_of = [], [], [], []
    for line_number, parts in enumerate(lines[1:]):
        if len(parts) == 3:
            a, b, is_same = image(parts[0], parts[1]), image(parts[0], parts[2]), True
        elif len(parts) == 4:
            a, b, is_same = image(parts[0], parts[1]), image(parts[2], parts[3]), False
        else:
            raise InvalidInputError(f"{pairs_file}: line {line_number + 2} is malformed")
        first.append(a)
        second.append(b)
        same.append(is_same)
        fold_of.append(min(folds - 1, line_number // (2 * per_fold)))
    return Pairs(
        np.array(first, dtype=np.int64),
        np.array(second, dtype=np.int64),
        np.array(same, dtype=bool),
        np.array(fold_of, dtype=np.int64),
    )
