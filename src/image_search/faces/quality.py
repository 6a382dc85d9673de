"""A face quality score in [0, 1] from sharpness, size, detector confidence and pose.

This is our own heuristic (no learned quality model ships with the packs); its parts are the
ones face-quality literature agrees on (ISO/IEC 29794-5 lists sharpness, inter-eye distance and
pose among face image quality components). Weights and saturation points were set by looking at
the crops of ../shared/data/faces; the score ranks faces (prototypes, cover faces), it decides
nothing alone.
"""

from __future__ import annotations

import cv2
import numpy as np

from image_search.ml.detection import Detection

# Variance of the Laplacian of a 64x64 grey crop at which sharpness counts as full (1.0).
SHARPNESS_SATURATION = 400.0
# Face box side (px in the original image) at which size counts as full.
SIZE_SATURATION = 112.0


def sharpness(rgb: np.ndarray, box: np.ndarray) -> float:
    """Sharpness in [0, 1]: variance of the Laplacian (Pech-Pacheco et al., ICPR 2000) of the face
    crop resized to 64x64 grey, divided by ``SHARPNESS_SATURATION`` and clipped."""
    x, y, w, h = (round(float(v)) for v in box)
    crop = rgb[max(0, y) : max(0, y) + max(1, h), max(0, x) : max(0, x) + max(1, w)]
    if crop.size == 0:
        return 0.0
    grey = cv2.cvtColor(np.ascontiguousarray(crop), cv2.COLOR_RGB2GRAY)
    grey = cv2.resize(grey, (64, 64), interpolation=cv2.INTER_AREA)
    variance = float(cv2.Laplacian(grey, cv2.CV_64F).var())
    return min(1.0, variance / SHARPNESS_SATURATION)


def frontalness(landmarks: np.ndarray) -> float:
    """1.0 for a frontal face, falling towards 0 with yaw: the nose tip's horizontal offset from
    the eyes' midpoint, relative to the inter-eye distance."""
    right_eye, left_eye, nose = landmarks[0], landmarks[1], landmarks[2]
    eye_distance = float(np.linalg.norm(left_eye - right_eye))
    if eye_distance < 1e-6:
        return 0.0
    offset = abs(float(nose[0] - (right_eye[0] + left_eye[0]) / 2.0)) / eye_distance
    return max(0.0, 1.0 - 2.0 * offset)


def face_quality(rgb: np.ndarray, detection: Detection, scale: float = 1.0) -> float:
    """Quality in [0, 1] of ``detection`` on ``rgb`` (uint8 (H, W, 3)).

    ``scale`` converts the detection's pixels to original-image pixels for the size term.
    Weighted mean: sharpness 0.3, size 0.3, detector score 0.2, frontalness 0.2.
    """
    side = float(min(detection.box[2], detection.box[3])) * scale
    size_term = min(1.0, side / SIZE_SATURATION)
    value = (
        0.3 * sharpness(rgb, detection.box)
        + 0.3 * size_term
        + 0.2 * float(np.clip(detection.score, 0.0, 1.0))
        + 0.2 * frontalness(detection.landmarks)
    )
    return round(float(np.clip(value, 0.0, 1.0)), 4)
