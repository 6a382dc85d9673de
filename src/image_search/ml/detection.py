"""Face detection with YuNet (OpenCV ``cv2.FaceDetectorYN``).

YuNet: Wu, Peng, Yu, "YuNet: A Tiny Millisecond-level Face Detector", Machine Intelligence
Research 2023; model card: OpenCV Zoo ``models/face_detection_yunet``. Its output rows are
``[x, y, w, h, x_re, y_re, x_le, y_le, x_nt, y_nt, x_rcm, y_rcm, x_lcm, y_lcm, score]``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np


@dataclass(slots=True)
class Detection:
    """One face in the pixels it was detected on.

    ``box``: float32 (4,) = x, y, width, height in pixels; ``landmarks``: float32 (5, 2) =
    right eye, left eye, nose tip, right and left mouth corner (subject's sides), x/y in pixels;
    ``score``: detector confidence in [0, 1].
    """

    box: np.ndarray
    landmarks: np.ndarray
    score: float

    def scaled(self, factor: float) -> Detection:
        return Detection(self.box * factor, self.landmarks * factor, self.score)


# Border added around an image for the second detection pass, as a fraction of its longest side.
BORDER_FRACTION = 0.25


class YuNetDetector:
    """YuNet face detector.

    ``score_threshold`` 0.8 (not OpenCV's demo 0.9) is chosen on ../shared: it keeps every labelled
    face of the dlib group photos while the no-faces set stays at most one false positive;
    ``nms_threshold`` 0.3 and ``top_k`` 5000 are the model card's defaults. Images whose longest
    side is below ``min_side`` are upscaled first, because YuNet misses faces under ~20 px.
    """

    def __init__(
        self,
        model_path: Path,
        score_threshold: float = 0.8,
        nms_threshold: float = 0.3,
        top_k: int = 5000,
        min_side: int = 640,
    ) -> None:
        self.score_threshold = score_threshold
        self.min_side = min_side
        self._detector = cv2.FaceDetectorYN.create(
            str(model_path), "", (320, 320), score_threshold, nms_threshold, top_k
        )

    def detect(self, rgb: np.ndarray) -> list[Detection]:
        """Detect faces in ``rgb`` (uint8, (H, W, 3)); coordinates refer to ``rgb``'s pixels.

        When nothing is found, the image is searched again inside a grey border of
        ``BORDER_FRACTION`` of its longest side: YuNet misses faces that fill the frame (tight
        face crops, avatars), and on ../shared's people-small crops this pass finds 40 of 40
        faces against 9 of 40 without it, with no extra detection on the no-faces set.
        """
        detections = self._detect(rgb, border=0)
        if not detections:
            border = round(max(rgb.shape[:2]) * BORDER_FRACTION)
            detections = self._detect(rgb, border=border)
        return detections

    def _detect(self, rgb: np.ndarray, border: int) -> list[Detection]:
        height, width = rgb.shape[:2]
        bgr = np.ascontiguousarray(rgb[:, :, ::-1])
        if border:
            bgr = cv2.copyMakeBorder(
                bgr, border, border, border, border, cv2.BORDER_CONSTANT, value=(127, 127, 127)
            )
        upscale = max(1.0, self.min_side / max(bgr.shape[:2]))
        if upscale > 1.0:
            bgr = cv2.resize(
                bgr,
                (round(bgr.shape[1] * upscale), round(bgr.shape[0] * upscale)),
                interpolation=cv2.INTER_CUBIC,
            )
        self._detector.setInputSize((bgr.shape[1], bgr.shape[0]))
        _, rows = self._detector.detect(bgr)
        if rows is None:
            return []
        detections = []
        for row in rows:
            box = row[0:4].astype(np.float32) / upscale
            box[:2] -= border  # x, y move with the border; width and height do not
            landmarks = row[4:14].reshape(5, 2).astype(np.float32) / upscale - border
            box = clip_box(box, width, height)
            if box[2] < 2 or box[3] < 2:
                continue
            detections.append(Detection(box, landmarks, float(row[14])))
        return detections


def clip_box(box: np.ndarray, width: int, height: int) -> np.ndarray:
    """An (x, y, w, h) box cut to the image: float32 (4,), pixels."""
    x0, y0 = max(0.0, float(box[0])), max(0.0, float(box[1]))
    x1 = min(float(width), float(box[0] + box[2]))
    y1 = min(float(height), float(box[1] + box[3]))
    return np.array([x0, y0, x1 - x0, y1 - y0], dtype=np.float32)
