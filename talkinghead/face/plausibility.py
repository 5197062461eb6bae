"""Sanity check of detected 68-point faces, shared by every backend.

It rejects detections whose layout is not a face's (non-finite points, eyes on top of each
other, the mouth above the nose, the chin above the mouth, ...). Layout cannot tell human faces
from animal faces: MediaPipe fits a human-proportioned mesh to a capuchin monkey portrait, and
landmark ratios, Procrustes residual, mesh stability under augmentation and iris size all stay
in the range of real portraits and style-clip frames. :mod:`talkinghead.face.humanness` looks
at the image around the landmarks instead, when a single image is searched for a face.
"""

from __future__ import annotations

import numpy as np

# iBUG-68 left/right correspondence: MIRROR_68[i] is the point that i becomes in a mirror image.
# fmt: off
MIRROR_68 = np.array(
    list(range(16, -1, -1))  # jaw
    + list(range(26, 16, -1))  # brows
    + [27, 28, 29, 30, 35, 34, 33, 32, 31]  # nose
    + [45, 44, 43, 42, 47, 46, 39, 38, 37, 36, 41, 40]  # eyes
    + [54, 53, 52, 51, 50, 49, 48, 59, 58, 57, 56, 55]  # outer lips
    + [64, 63, 62, 61, 60, 67, 66, 65]  # inner lips
)
# fmt: on

MIN_EYE_DISTANCE = 2.0  # pixels between the eye centres
MAX_CHIN_DEPTH = 3.0  # chin below the eye line, in eye distances (a real face: about 1.1–1.6)


def is_plausible_layout(points: np.ndarray) -> bool:
    """True when ``68×3`` image-pixel landmarks are laid out like a face, in any in-plane
    rotation: eyes apart, and nose tip, upper lip, lower lip and chin successively further
    below the eye line; the subject's right eye on the image's left for an upright face."""
    p = np.asarray(points, dtype=np.float64)
    if p.shape != (68, 3) or not np.isfinite(p).all():
        return False
    right_eye, left_eye = p[36:42, :2].mean(0), p[42:48, :2].mean(0)
    across = left_eye - right_eye
    iod = float(np.linalg.norm(across))
    if iod < MIN_EYE_DISTANCE:
        return False
    across /= iod
    down = np.array([-across[1], across[0]])  # the face's "down" (x right, y down)
    eyes = (right_eye + left_eye) / 2.0

    def depth(i: int) -> float:  # distance below the eye line, in eye distances
        return float((p[i, :2] - eyes) @ down / iod)

    return bool(0.0 < depth(30) < depth(51) < depth(57) < depth(8) < MAX_CHIN_DEPTH)
