"""Face alignment to the ArcFace 112x112 template by a similarity transform on 5 landmarks."""

from __future__ import annotations

import cv2
import numpy as np

# The 5-point reference of InsightFace's ArcFace models for 112x112 crops (Deng et al.,
# "ArcFace", CVPR 2019; insightface/utils/face_align.py ``arcface_dst``): right eye, left eye,
# nose tip, right and left mouth corner, in the same order YuNet returns them.
ARCFACE_TEMPLATE_112 = np.array(
    [
        [38.2946, 51.6963],
        [73.5318, 51.5014],
        [56.0252, 71.7366],
        [41.5493, 92.3655],
        [70.7299, 92.2041],
    ],
    dtype=np.float32,
)


def align_face(rgb: np.ndarray, landmarks: np.ndarray, size: int = 112) -> np.ndarray:
    """Warp the face with ``landmarks`` (float32 (5, 2), pixels of ``rgb``) to a ``size`` square.

    Returns uint8 (size, size, 3) in ``rgb``'s channel order. The similarity transform
    (rotation, uniform scale, translation) is fitted robustly (``cv2.estimateAffinePartial2D``).
    """
    template = ARCFACE_TEMPLATE_112 * (size / 112.0)
    matrix, _ = cv2.estimateAffinePartial2D(
        landmarks.astype(np.float32), template, method=cv2.LMEDS
    )
    if matrix is None:  # degenerate landmarks: fall back to an unrotated crop around them
        matrix = _fallback_matrix(landmarks, template)
    return cv2.warpAffine(rgb, matrix, (size, size), borderMode=cv2.BORDER_REPLICATE)


def _fallback_matrix(landmarks: np.ndarray, template: np.ndarray) -> np.ndarray:
    src_center, dst_center = landmarks.mean(axis=0), template.mean(axis=0)
    src_span = float(np.ptp(landmarks[:, 0])) or 1.0
    scale = float(np.ptp(template[:, 0])) / src_span
    return np.array(
        [
            [scale, 0.0, dst_center[0] - scale * src_center[0]],
            [0.0, scale, dst_center[1] - scale * src_center[1]],
        ],
        dtype=np.float32,
    )
