"""Synthetic target motion (jaw opening, lip rounding, head turn, blinks) and lip closing.

Tests, benchmarks and previews need targets with a known amount of motion without running the
audio-to-motion model; these build them from a prepared portrait. :func:`close_mouth` also gives
the ISPs a neutral (closed-lip) canonical face for portraits photographed with parted lips.
"""

from __future__ import annotations

import numpy as np

from talkinghead import geometry
from talkinghead.render.base import FrameTargets, SourceFace

# How far each point follows a jaw drop (fraction of the lip-gap increase), canonical frame.
_JAW_FOLLOW = {
    **dict(zip(range(3, 14), (0.08, 0.2, 0.38, 0.58, 0.72, 0.78, 0.72, 0.58, 0.38, 0.2, 0.08), strict=True)),
    **{65: 0.88, 66: 1.0, 67: 0.88},
    **{55: 0.72, 56: 0.88, 57: 0.95, 58: 0.88, 59: 0.72},
    **{i: -0.08 for i in (49, 50, 51, 52, 53, 61, 62, 63)},
    **{i: 0.42 for i in (48, 54, 60, 64)},
}


def open_mouth(identity: np.ndarray, opening: float, rounding: float = 0.0) -> np.ndarray:
    """``identity`` (68×3 canonical) with the lips parted by ``opening`` more inter-ocular units
    (jaw, lower lip and mouth corners follow) and the corners drawn in by ``rounding`` (an "O")."""
    c = np.array(identity, dtype=np.float64)
    for i, f in _JAW_FOLLOW.items():
        c[i, 1] += f * opening
    if rounding:
        centre_x = c[list(geometry.MOUTH), 0].mean()
        for i in geometry.MOUTH:
            c[i, 0] = centre_x + (c[i, 0] - centre_x) * (1.0 - rounding * (0.35 if i in (48, 54, 60, 64) else 0.2))
    return c


def close_mouth(identity: np.ndarray) -> np.ndarray:
    """``identity`` (68×3 canonical) with its lips brought together (jaw and lower lip raised by
    the inner-lip gap at the midline); a closed mouth is returned unchanged."""
    c = np.asarray(identity, dtype=np.float64)
    gap = float(c[66, 1] - c[62, 1])
    if gap <= 0.0:
        return c.copy()
    closed = open_mouth(c, -gap / (_JAW_FOLLOW[66] - _JAW_FOLLOW[62]))
    for up, lo in ((61, 67), (62, 66), (63, 65)):  # the inner lips meet exactly
        if closed[lo, 1] > closed[up, 1]:
            closed[[up, lo], 1] = 0.5 * (closed[up, 1] + closed[lo, 1])
    return closed


def sweep(
    source: SourceFace,
    *,
    openings: np.ndarray,
    yaw_deg: np.ndarray | None = None,
    eye_open: np.ndarray | None = None,
    rounding: float = 0.0,
) -> FrameTargets:
    """Targets: the portrait's own pose turned by ``yaw_deg`` per frame, mouth opened by ``openings``."""
    openings = np.asarray(openings, dtype=np.float64)
    b = len(openings)
    yaw = np.zeros(b) if yaw_deg is None else np.asarray(yaw_deg, dtype=np.float64)
    canonical = np.stack([open_mouth(source.identity, o, rounding) for o in openings])
    rotation = np.stack([geometry.angles_to_rotation(y, 0.0, 0.0) @ source.pose.rotation for y in yaw])
    return FrameTargets(
        canonical=canonical,
        rotation=rotation,
        translation=np.repeat(source.pose.translation[None], b, 0),
        scale=np.full(b, source.pose.scale),
        eye_open=np.ones(b) if eye_open is None else np.asarray(eye_open, dtype=np.float64),
    )
