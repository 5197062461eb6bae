"""The frame metrics of the paper's Table 1 on time-aligned landmark sequences (generated vs
reference): LMD, D-L, D-V and D-A."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from talkinghead.errors import InputError
from talkinghead.geometry import INNER_LIPS, JAW, MOUTH, N_POINTS
from talkinghead.metrics.normalise import face_width, landmark_sequence, sld_frames, slv_frames, smd_frames

# MakeItTalk's D-L/D-V use the jaw and lip points only; pass this as ``points`` for that flavour.
JAW_LIPS: tuple[int, ...] = JAW + MOUTH
ALL_POINTS: tuple[int, ...] = tuple(range(N_POINTS))


def _aligned_pair(generated: np.ndarray, reference: np.ndarray, min_frames: int) -> tuple[np.ndarray, np.ndarray]:
    g = landmark_sequence(generated, "The generated landmarks", min_frames=min_frames)
    r = landmark_sequence(reference, "The reference landmarks", min_frames=min_frames)
    if len(g) != len(r):
        raise InputError(
            f"Frame metrics compare frame by frame, but the generated sequence has {len(g)} frames and the "
            f"reference {len(r)}: trim or resample both to the same frame count."
        )
    return g, r


def _point_indices(points: Sequence[int]) -> np.ndarray:
    idx = np.asarray(points, dtype=np.int64)
    if idx.ndim != 1 or len(idx) == 0 or idx.min() < 0 or idx.max() >= N_POINTS:
        raise InputError(f"points must be a non-empty list of landmark indices in 0..67, got {points!r}.")
    return idx


def lmd(generated: np.ndarray, reference: np.ndarray) -> float:
    """LMD, landmark distance around the mouth (pixels; lower is better).

    Mean over frames and the 20 mouth points (48–67) of the Euclidean distance, each frame's mouth
    centred on its own centroid, so head translation does not count. This is exactly the per-frame
    distance of the released SMD, which makes SMD the windowed, style-aware form of LMD. Pixels of
    the input frames: pass both in one frame size (the paper: 512×512). Symmetric.
    """
    g, r = _aligned_pair(generated, reference, 1)
    return float(np.sqrt(((smd_frames(g) - smd_frames(r)) ** 2).sum(-1)).mean())


def landmark_distance(generated: np.ndarray, reference: np.ndarray, *, points: Sequence[int] = ALL_POINTS) -> float:
    """D-L, landmark distance in % of the face width (lower is better).

    Each frame is normalised as the released SLD does (bounding-box corner of all 68 points to the
    origin, x and y divided by the frame's x-extent), then 100 × the mean over frames and the chosen
    points of the Euclidean distance. The paper builds SLD on D-L, and its released SLD uses all 68
    points, hence the default; MakeItTalk, which the paper cites for D-L, scores the jaw and lips
    (``points=JAW_LIPS``) and does not state its normalisation. Symmetric; invariant to a per-frame
    translation and scaling of either input.
    """
    g, r = _aligned_pair(generated, reference, 1)
    idx = _point_indices(points)
    d = sld_frames(g, "The generated landmarks")[:, idx] - sld_frames(r, "The reference landmarks")[:, idx]
    return float(100.0 * np.sqrt((d * d).sum(-1)).mean())


def velocity_difference(generated: np.ndarray, reference: np.ndarray, *, points: Sequence[int] = ALL_POINTS) -> float:
    """D-V, landmark velocity difference in % of the face width per frame (lower is better).

    Velocities as the released SLV computes them (frame-to-frame change of the corner-shifted
    points divided by the current frame's x-extent), then 100 × the mean over the T−1 velocity
    frames and the chosen points of the Euclidean distance. Needs 2 frames; per frame, depends on
    the frame rate. Symmetric; invariant to a per-frame translation of either input.
    """
    g, r = _aligned_pair(generated, reference, 2)
    idx = _point_indices(points)
    d = slv_frames(g, "The generated landmarks")[:, idx] - slv_frames(r, "The reference landmarks")[:, idx]
    return float(100.0 * np.sqrt((d * d).sum(-1)).mean())


def open_mouth_area(landmarks: np.ndarray) -> np.ndarray:
    """Area of the inner-lip polygon (60–67, shoelace formula) of each frame divided by the
    squared face width (x-extent of the 68 points): ``(T,)``, scale- and translation-free."""
    p = landmark_sequence(landmarks, "The landmarks")
    lips = p[:, list(INNER_LIPS)]
    x, y = lips[..., 0], lips[..., 1]
    area = 0.5 * np.abs((x * np.roll(y, -1, axis=1) - np.roll(x, -1, axis=1) * y).sum(axis=1))
    return area / face_width(p, "The landmarks") ** 2


def mouth_area_difference(generated: np.ndarray, reference: np.ndarray) -> float:
    """D-A, difference in open-mouth area, in % of the reference's mean open-mouth area.

    ``100 · Σ_t |A_gen(t) − A_ref(t)| / Σ_t A_ref(t)`` with ``A`` from :func:`open_mouth_area`.
    A ratio of sums rather than a mean of per-frame ratios, because a closed mouth has an area
    near 0 and a per-frame ratio would explode there. Not symmetric (relative to the reference);
    invariant to a per-frame translation and scaling of either input. An :class:`InputError` when
    the reference mouth never opens.
    """
    g, r = _aligned_pair(generated, reference, 1)
    a_g, a_r = open_mouth_area(g), open_mouth_area(r)
    total = a_r.sum()
    if total <= 0:
        raise InputError(
            "The reference mouth is closed in every frame, so the open-mouth area difference (D-A) is "
            "undefined: use a reference sequence in which the mouth opens."
        )
    return float(100.0 * np.abs(a_g - a_r).sum() / total)


def frame_scores(generated: np.ndarray, reference: np.ndarray) -> dict[str, float]:
    """LMD (pixels), D-L, D-V and D-A (%) of time-aligned sequences, keys ``lmd``, ``d_l``,
    ``d_v``, ``d_a`` (see each function). Both need the same frame count, at least 2."""
    return {
        "lmd": lmd(generated, reference),
        "d_l": landmark_distance(generated, reference),
        "d_v": velocity_difference(generated, reference),
        "d_a": mouth_area_difference(generated, reference),
    }

