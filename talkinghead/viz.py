"""Drawing 68-point landmarks: the paper's "facial map" (§3.4) over an image or on a blank canvas."""

from __future__ import annotations

import numpy as np

from talkinghead.geometry import FACIAL_MAP_LINES, N_POINTS

_SHIFT = 4  # sub-pixel bits for cv2 drawing: coordinates are multiplied by 2**_SHIFT


def _fixed(xy: np.ndarray) -> np.ndarray:
    return np.round(np.asarray(xy, dtype=np.float64) * (1 << _SHIFT)).astype(np.int32)


def draw_facial_map(
    image: np.ndarray,
    points: np.ndarray,
    *,
    color: tuple[int, int, int] = (0, 255, 0),
    thickness: int = 0,
    draw_points: bool = True,
    point_color: tuple[int, int, int] = (255, 64, 64),
) -> np.ndarray:
    """A copy of ``image`` (H×W×3 uint8 RGB) with the 68 ``points`` joined by the semantic
    polylines of :data:`talkinghead.geometry.FACIAL_MAP_LINES` (anti-aliased).

    ``thickness`` 0 picks one from the face size; only x and y of the points are used.
    """
    import cv2

    p = np.asarray(points, dtype=np.float64)
    if p.shape[-2:] not in ((N_POINTS, 2), (N_POINTS, 3)):
        raise ValueError(f"draw_facial_map needs 68×2 or 68×3 points, got {p.shape}")
    out = np.ascontiguousarray(np.asarray(image, dtype=np.uint8).copy())
    if thickness <= 0:
        size = max(np.ptp(p[:, 0]), np.ptp(p[:, 1]), 1.0)
        thickness = int(np.clip(round(size / 150), 1, 8))
    xy = _fixed(p[:, :2])
    for idx, closed in FACIAL_MAP_LINES:
        cv2.polylines(out, [xy[list(idx)]], closed, color, thickness, cv2.LINE_AA, _SHIFT)
    if draw_points:
        radius = max(1, thickness) * (1 << _SHIFT)
        for x, y in xy:
            cv2.circle(out, (int(x), int(y)), radius, point_color, -1, cv2.LINE_AA, _SHIFT)
    return out


def render_facial_map(
    points: np.ndarray,
    size: int = 512,
    *,
    margin: float = 0.12,
    color: tuple[int, int, int] = (255, 255, 255),
    background: tuple[int, int, int] = (0, 0, 0),
    thickness: int = 2,
    draw_points: bool = False,
    fit: bool = True,
) -> np.ndarray:
    """The facial map of ``points`` drawn on a blank ``size²`` RGB canvas.

    With ``fit`` the points' x–y box is scaled and centred into the canvas (keeping the aspect),
    leaving ``margin`` (fraction of the side) around; without it the points are drawn as given,
    in canvas pixels. For a sequence, fit once on all frames (e.g. the box of the whole track)
    and pass ``fit=False`` so the face does not jump.
    """
    p = np.asarray(points, dtype=np.float64)[:, :2]
    if fit:
        lo, hi = p.min(0), p.max(0)
        scale = (1.0 - 2.0 * margin) * size / max(float((hi - lo).max()), 1e-9)
        p = (p - (lo + hi) / 2.0) * scale + size / 2.0
    canvas = np.empty((size, size, 3), dtype=np.uint8)
    canvas[:] = background
    return draw_facial_map(
        canvas, p, color=color, thickness=thickness, draw_points=draw_points, point_color=color
    )
