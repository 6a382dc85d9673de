"""Plain-text rendering of an evaluation result."""

from __future__ import annotations

from typing import Any


def render_text(result: dict[str, Any]) -> str:
    v = result["verification"]
    d = result["detection"]
    c = result["clustering"]
    lines = [
        f"Dataset {result['dataset']}: {result['images']} images of {result['people']} people, "
        f"model pack {result['modelPack']}",
        f"Faces per image: {d['facesPerImage']:.3f}; images with a face: "
        f"{d['imagesWithFace']} ({d['imagesWithFaceRate']:.2%})",
        f"Verification ({v['folds']}-fold, {v['pairs']} pairs, {v['pairsSource']}): "
        f"{v['accuracy']:.2%} +/- {v['accuracy_std']:.2%} at cosine similarity "
        f"{v['threshold']:.3f}; {v['pairsWithoutFace']} pairs without a face",
        f"Clustering of {c['faces']} faces (min size {c['minSize']}, best BCubed F with BCubed "
        f"precision >= {c['minBcubedPrecision']}):",
        f"  {'algorithm':<22} {'dist':>5} {'pairP':>6} {'pairR':>6} {'pairF1':>6} "
        f"{'B3 P':>6} {'B3 R':>6} {'B3 F':>6} {'clusters':>8} {'noise':>6}",
    ]
    for name, entry in c["algorithms"].items():
        b = entry["best"]
        lines.append(
            f"  {name:<22} {b['maxDistance']:>5.2f} {b['pairwise_precision']:>6.3f} "
            f"{b['pairwise_recall']:>6.3f} {b['pairwise_f1']:>6.3f} {b['bcubed_precision']:>6.3f} "
            f"{b['bcubed_recall']:>6.3f} {b['bcubed_f']:>6.3f} {b['clusters']:>8} {b['noise']:>6}"
        )
    lines.append(
        f"Chosen: {c['chosen']['algorithm']} at distance {c['chosen']['maxDistance']:.2f} "
        f"({result['seconds']} s)"
    )
    return "\n".join(lines)
