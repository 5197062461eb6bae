"""Input checks and the per-frame landmark normalisations of the authors' released scripts
(``src/style_metrics/utils.py``), shared by the style metrics (SLD, SLV, SMD) and the frame metrics
(LMD, D-L, D-V, D-A).

Landmarks are iBUG-68 arrays ``(T, 68, 2)`` or ``(T, 68, 3)`` in image pixels; only x and y are
used (see :mod:`talkinghead.metrics`).
"""

from __future__ import annotations

import numpy as np

from talkinghead.errors import InputError
from talkinghead.geometry import MOUTH, N_POINTS


def landmark_sequence(points: np.ndarray, what: str, *, min_frames: int = 1) -> np.ndarray:
    """``(T,68,2|3)`` → ``(T,68,2)`` float64 image-plane points, or an :class:`InputError`."""
    p = np.asarray(points)
    if p.ndim != 3 or p.shape[1] != N_POINTS or p.shape[2] not in (2, 3):
        raise InputError(
            f"{what} must be a landmark sequence of shape (T, 68, 2) or (T, 68, 3), got shape {p.shape}: "
            "pass one iBUG-68 landmark array per frame, stacked along the first axis."
        )
    if not np.issubdtype(p.dtype, np.number):
        raise InputError(f"{what} must hold numbers, got dtype {p.dtype}: pass float landmark coordinates.")
    if len(p) < min_frames:
        raise InputError(f"{what} has {len(p)} frames; this metric needs at least {min_frames}.")
    p = p[..., :2].astype(np.float64)
    if not np.isfinite(p).all():
        raise InputError(
            f"{what} contains NaN or infinite coordinates: interpolate or drop frames without a face first."
        )
    return p


def face_width(p: np.ndarray, what: str) -> np.ndarray:
    """Per-frame x-extent of all 68 points, ``(T,)``; the released SLD/SLV divide by it."""
    width = p[:, :, 0].max(axis=1) - p[:, :, 0].min(axis=1)
    if (width <= 0).any():
        t = int(np.argmax(width <= 0))
        raise InputError(f"{what}: frame {t} has zero face width (all points share one x): check the landmarks.")
    return width


def smd_frames(p: np.ndarray) -> np.ndarray:
    """``T×68×2`` → ``T×20×2`` mouth points centred on their centroid, pixels."""
    mouth = p[:, MOUTH[0] : MOUTH[-1] + 1]
    return mouth - mouth.mean(axis=1, keepdims=True)


def sld_frames(p: np.ndarray, what: str) -> np.ndarray:
    """``T×68×2`` → bounding-box corner at the origin, both axes divided by the face width."""
    return (p - p.min(axis=1, keepdims=True)) / face_width(p, what)[:, None, None]


def slv_frames(p: np.ndarray, what: str) -> np.ndarray:
    """``T×68×2`` → ``(T−1)×68×2`` velocities of the corner-shifted points / current face width."""
    shifted = p - p.min(axis=1, keepdims=True)
    return (shifted[1:] - shifted[:-1]) / face_width(p, what)[1:, None, None]
