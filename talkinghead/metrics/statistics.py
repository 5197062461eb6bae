"""Style statistics: a few scale-free numbers that say what a talking face's style looks like.

:func:`style_statistics` reduces a landmark sequence (``T×68×3``) to the statistics a viewer tells
styles apart by — how far the mouth opens, how wide and how round it is, where the brows sit, how
open the eyes are, how often they blink and how much the head turns. Two sequences of different
people (a style clip and a portrait speaking in its style) are compared by how these numbers rank
across many styles, not by their values: a person's own face sets the level, the style moves it.

Design:

* **Any similarity frame.** Every shape statistic is a ratio of 3-D distances divided by the
  outer-eye-corner distance (inter-ocular units), so canonical-frame motion and image points of a
  posed face give the same numbers; no pose has to be removed first.
* **Medians, not means,** for the shape statistics: blinks and the odd mistracked frame do not move
  them. The mouth opening keeps two quantiles: the median is the resting mouth of speech, the 90th
  percentile how far the style opens on its loud syllables.
* **Lip rounding** is the outer lips' height (upper lip + gap + lower lip, on the midline) over
  their width: an "O" is tall and narrow, a smile wide and flat.
* **Brow height** is measured from the eye corners, which a blink does not move, to the brow's
  centroid: the eyelids' motion stays out of it.
* **Blinks** are counted by the style analysis's own detector
  (:func:`talkinghead.style.blinks.detect_blinks`), so a clip's statistic is the rate the pipeline
  reproduces; it reads any per-frame eye-openness signal (an eye aspect ratio, a renderer's blink
  schedule), because it thresholds the ratio to a running open-eye baseline.
* **Head turns** are the standard deviations of the yaw and pitch angles
  (:func:`talkinghead.geometry.rotation_to_angles`) of the given rotations, or of the rigid pose
  fitted to the points (:func:`talkinghead.geometry.fit_pose`): canonical-frame motion has no
  head motion and scores about 0.
"""

from __future__ import annotations

import numpy as np

from talkinghead import geometry
from talkinghead.errors import InputError

# The keys of style_statistics, in table order.
STYLE_STATISTICS: tuple[str, ...] = (
    "open_p50",  # median inner-lip gap, inter-ocular units
    "open_p90",  # 90th percentile of the inner-lip gap, inter-ocular units
    "mouth_width",  # median outer-lip-corner distance, inter-ocular units
    "lip_rounding",  # median outer-lip height / width (tall and narrow = round)
    "brow_height",  # median brow centroid to eye-corner midpoint distance, inter-ocular units
    "eye_open",  # median eye aspect ratio of both eyes (about 0.3 open, under 0.1 shut)
    "blink_rate",  # blinks per minute
    "yaw_std",  # head yaw spread, degrees
    "pitch_std",  # head pitch spread, degrees
)

# (brow, eye) index groups per side; an eye's first and fourth contour points are its corners.
_BROW_EYE = ((geometry.RIGHT_BROW, geometry.RIGHT_EYE), (geometry.LEFT_BROW, geometry.LEFT_EYE))


def brow_height(points: np.ndarray) -> np.ndarray:
    """Distance from each brow's centroid to its eye's corner midpoint, both sides averaged, in
    inter-ocular units: ``(...,68,3)`` → ``(...)``."""
    p = np.asarray(points, dtype=np.float64)
    iod = np.maximum(np.linalg.norm(p[..., 45, :] - p[..., 36, :], axis=-1), 1e-9)
    heights = [
        np.linalg.norm(p[..., list(brow), :].mean(-2) - 0.5 * (p[..., eye[0], :] + p[..., eye[3], :]), axis=-1)
        for brow, eye in _BROW_EYE
    ]
    return 0.5 * (heights[0] + heights[1]) / iod


def _blink_rate(eye_open: np.ndarray, fps: float) -> float:
    from talkinghead.style.blinks import detect_blinks
    from talkinghead.style.config import StyleConfig

    found = np.ones(len(eye_open), dtype=bool)
    return float(detect_blinks(eye_open, found, fps, StyleConfig()).rate_per_min)


def _head_angles(points: np.ndarray, rotations: np.ndarray | None) -> np.ndarray:
    """``T×3`` (yaw, pitch, roll) degrees of the given rotations or of the pose fitted per frame."""
    if rotations is None:
        rotations = np.stack([geometry.fit_pose(p).rotation for p in points])
    return np.array([geometry.rotation_to_angles(r) for r in rotations]).reshape(-1, 3)


def _check(points: np.ndarray, fps: float, rotations: np.ndarray | None, eye_open: np.ndarray | None) -> None:
    t = len(points)
    if points.ndim != 3 or points.shape[1:] != (geometry.N_POINTS, 3) or t < 2:
        raise InputError(f"style_statistics needs a T×68×3 landmark sequence with T ≥ 2, got shape {points.shape}.")
    if not np.isfinite(points).all():
        raise InputError("style_statistics got non-finite landmarks: interpolate frames without a face first.")
    if not fps > 0:
        raise InputError(f"fps must be > 0, got {fps!r}.")
    if rotations is not None and rotations.shape != (t, 3, 3):
        raise InputError(f"rotations must be {t}×3×3 (one per frame), got shape {rotations.shape}.")
    if eye_open is not None and (len(eye_open) != t or eye_open.ndim > 2 or not np.isfinite(eye_open).all()):
        raise InputError(f"eye_open must hold {t} finite values (or {t} rows), got shape {eye_open.shape}.")


def style_statistics(
    points: np.ndarray, fps: float, *, rotations: np.ndarray | None = None, eye_open: np.ndarray | None = None
) -> dict[str, float]:
    """The :data:`STYLE_STATISTICS` of a ``T×68×3`` landmark sequence at ``fps``.

    ``points``: canonical-frame motion or image points (any similarity frame, see the module
    docstring). ``rotations``: ``T×3×3`` head rotations for the head-turn spreads; None fits the
    rigid pose to ``points``. ``eye_open``: ``T`` (or ``T×k``, averaged) per-frame eye openness in
    any unit proportional to the lids' opening, for the blink rate only; None uses the eye aspect
    ratio of ``points``.
    """
    p = np.asarray(points, dtype=np.float64)
    rot = None if rotations is None else np.asarray(rotations, dtype=np.float64)
    eyes = None if eye_open is None else np.asarray(eye_open, dtype=np.float64)
    _check(p, fps, rot, eyes)
    mouth = geometry.mouth_features(p)
    ear = geometry.eye_openness(p)  # T×2
    eyes = ear if eyes is None else eyes.reshape(len(p), -1)
    angles = _head_angles(p, rot)
    return {
        "open_p50": float(np.percentile(mouth.opening, 50)),
        "open_p90": float(np.percentile(mouth.opening, 90)),
        "mouth_width": float(np.median(mouth.width)),
        "lip_rounding": float(np.median((mouth.lip_thickness + mouth.opening) / np.maximum(mouth.width, 1e-9))),
        "brow_height": float(np.median(brow_height(p))),
        "eye_open": float(np.median(ear.mean(-1))),
        "blink_rate": _blink_rate(eyes, fps),
        "yaw_std": float(angles[:, 0].std()),
        "pitch_std": float(angles[:, 1].std()),
    }


# What a request shows of its style, in the app's table: (key, label). Blinks are left out: the
# schedule is the same before and after the transfer.
REQUEST_STATISTICS: tuple[tuple[str, str], ...] = (
    ("open_p50", "mouth opening, median"),
    ("open_p90", "mouth opening, p90"),
    ("mouth_width", "mouth width"),
    ("lip_rounding", "lip rounding"),
    ("brow_height", "brow height"),
    ("yaw_std", "head yaw spread (°)"),
    ("pitch_std", "head pitch spread (°)"),
)


def request_statistics(
    unstyled: np.ndarray, styled: np.ndarray, style: np.ndarray, fps: float, *,
    head: np.ndarray, style_head: np.ndarray,
) -> dict[str, dict[str, float]]:
    """:data:`REQUEST_STATISTICS` of the style clip's motion ``style`` (φ_s, with its own head
    rotations ``style_head``), of the motion before the transfer (φ_mg⁰, a still head) and after it
    (styled φ, with the request's head rotations ``head``): ``{"clip"|"before"|"after": {key: value}}``."""
    still = np.repeat(np.eye(3)[None], len(unstyled), 0)
    views = {"clip": (style, style_head), "before": (unstyled, still), "after": (styled, head)}
    keys = [key for key, _ in REQUEST_STATISTICS]
    return {
        view: {k: v for k, v in style_statistics(points, fps, rotations=rotations).items() if k in keys}
        for view, (points, rotations) in views.items()
    }
