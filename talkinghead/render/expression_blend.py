"""The expression a `liveportrait` frame wears: a blend of the references' expressions chosen by
the motion's mouth state, and the lip and eye open ratios the retargeting MLPs read.

Per frame ``δ = Σ_r w_r·ε̄_r``, a convex blend of the references' expressions (the ones their ISPs
show). The weights compare the frame's mouth with each reference's on the portrait's own face
(:func:`mouth_state`: opening, roundness, width, lip thickness, relative to the portrait's mouth),
and move from the closed templates None/M to the open ones R/O in proportion to the mouth opening,
going within each pair to the nearer shape (:func:`mouth_blend_weights`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from talkinghead import geometry

CLOSED_LABELS = ("None", "M")  # closed-syllable templates (paper §3.2): mouth shut
OPEN_LABELS = ("R", "O")  # open-syllable templates: mouth open

# Defaults of the blend, also those of `LivePortraitRendererConfig` (which reads them from here).
# Scales of the mouth-state features (opening, roundness, width, thickness): inter-ocular units,
# opening/inner width, relative width change, relative lip-thickness change.
MOUTH_SCALES: tuple[float, float, float, float] = (0.05, 0.25, 0.05, 0.15)
BLEND_SIGMA = 1.0  # width of the Gaussian soft assignment, in scaled feature units
MIN_OPEN_GAP = 0.02  # open templates must open this much more than closed ones (inter-ocular units)


def lip_open_ratio(points: np.ndarray) -> np.ndarray:
    """LivePortrait's lip-open ratio on iBUG-68 points ``(...,68,3)``: inner-lip gap at the middle
    (62–66) over the outer mouth-corner distance (48–54). 0 when closed."""
    p = np.asarray(points, dtype=np.float64)
    up, lo = geometry.INNER_LIP_MIDLINE
    left, right = geometry.OUTER_LIP_CORNERS
    gap = np.linalg.norm(p[..., up, :] - p[..., lo, :], axis=-1)
    width = np.linalg.norm(p[..., left, :] - p[..., right, :], axis=-1)
    return gap / np.maximum(width, 1e-9)


def eye_open_ratios(points: np.ndarray) -> np.ndarray:
    """LivePortrait's eye-open ratios ``(..., 2)``: lid gap over eye width, image-left eye (36–41)
    first. Our 68-point stand-in for its 203-point ratio is the eye aspect ratio."""
    return geometry.eye_openness(points)


def mouth_state(points: np.ndarray, reference: np.ndarray, scales: Sequence[float]) -> np.ndarray:
    """Scaled mouth features ``(..., 4)`` of ``points`` (…×68×3) relative to ``reference`` (68×3).

    Features (from :func:`geometry.mouth_features`, all scale- and pose-free), each divided by its
    entry of ``scales``: inner-lip opening minus the reference's (inter-ocular units); roundness
    (opening / inner width) minus the reference's; mouth-corner width ÷ the reference's − 1; visible
    lip thickness ÷ the reference's − 1 (negative when the lips are pressed).
    """
    m = geometry.mouth_features(points)
    r = geometry.mouth_features(reference)
    feats = np.stack(
        [
            m.opening - r.opening,
            m.roundness - r.roundness,
            m.width / max(float(r.width), 1e-9) - 1.0,
            m.lip_thickness / max(float(r.lip_thickness), 1e-9) - 1.0,
        ],
        -1,
    )
    return feats / np.asarray(scales, dtype=np.float64)


def _softmax_nearest(z: np.ndarray, zr: np.ndarray, sigma: float) -> np.ndarray:
    """B×N Gaussian soft assignment ``softmax_r(−‖z − z_r‖² / 2σ²)`` (z B×F, zr N×F)."""
    logits = -((z[:, None, :] - zr[None, :, :]) ** 2).sum(-1) / (2.0 * sigma**2)
    logits -= logits.max(1, keepdims=True)
    w = np.exp(logits)
    return w / w.sum(1, keepdims=True)


def mouth_blend_weights(
    canonical: np.ndarray,
    templates: np.ndarray,
    identity: np.ndarray,
    *,
    labels: Sequence[str] | None = None,
    scales: Sequence[float] = MOUTH_SCALES,
    sigma: float = BLEND_SIGMA,
    min_open_gap: float = MIN_OPEN_GAP,
) -> np.ndarray:
    """B×N weights (rows sum to 1) of N template mouths for B target mouths.

    ``canonical`` B×68×3 are the frames' canonical points, ``templates`` N×68×3 the portrait wearing
    each reference's expression (``identity + ε_r``), ``identity`` the portrait's own canonical points,
    ``labels`` the templates' names. z and z_r are the :func:`mouth_state` features of a frame and of
    template r, relative to the portrait's own mouth; o and o_r their inner-lip openings minus the
    portrait's (inter-ocular units). With closed templates C = {None, M} and open ones O = {R, O}:

    1. shape within each group: ``w^C_r = softmax_{r∈C}(−‖z − z_r‖²/2σ²)``, likewise ``w^O``;
    2. the openings those blends show: ``o_C = Σ w^C_r·o_r``, ``o_O = Σ w^O_r·o_r``;
    3. how open the frame is between them: ``a = clip((o − o_C)/(o_O − o_C), 0, 1)``;
    4. ``w = (1 − a)·w^C ⊕ a·w^O``.

    The weights follow the mouth opening linearly, so the expression morphs with every syllable
    instead of jumping from a closed to an open template at half-open, and a frame shaped like a
    template takes (almost) all of that template. When the labels do not name at least one closed
    and one open template, or the open blend is not at least ``min_open_gap`` more open than the
    closed one, the weights are the Gaussian soft assignment over all templates (step 1 on one group).
    """
    z = mouth_state(canonical, identity, scales)  # B×4
    zr = mouth_state(templates, identity, scales)  # N×4
    names = list(labels) if labels is not None else []
    closed = [i for i, name in enumerate(names) if name in CLOSED_LABELS]
    opened = [i for i, name in enumerate(names) if name in OPEN_LABELS]
    w_all = _softmax_nearest(z, zr, sigma)
    if not closed or not opened:
        return w_all
    o, o_r = z[:, 0] * scales[0], zr[:, 0] * scales[0]  # openings, inter-ocular units
    w_c = _softmax_nearest(z, zr[closed], sigma)  # B×|C|
    w_o = _softmax_nearest(z, zr[opened], sigma)  # B×|O|
    o_c, o_o = w_c @ o_r[closed], w_o @ o_r[opened]  # B each
    gap = o_o - o_c
    a = np.clip((o - o_c) / np.where(gap > min_open_gap, gap, 1.0), 0.0, 1.0)[:, None]
    w = np.zeros_like(w_all)
    w[:, closed] = (1.0 - a) * w_c
    w[:, opened] = a * w_o
    return np.where((gap > min_open_gap)[:, None], w, w_all)


__all__ = [
    "BLEND_SIGMA",
    "CLOSED_LABELS",
    "MIN_OPEN_GAP",
    "MOUTH_SCALES",
    "OPEN_LABELS",
    "eye_open_ratios",
    "lip_open_ratio",
    "mouth_blend_weights",
    "mouth_state",
]
