"""Following one face through a clip, filling the frames where it is lost, and smoothing.

Smoothing works on the decomposition the rest of the package uses (geometry module): each
frame = rigid pose (rotation, translation, scale) + points in the canonical frame. Both are
filtered with a Savitzky–Golay filter — zero-phase (the whole clip is known, so nothing lags)
and polynomial, so peaks such as a wide-open mouth keep their height far better than with a
moving average. Head pose, brows and nose get a longer window (they jitter and move slowly);
mouth, eyes and the lower jaw get a short one so speech and blinks stay sharp.
"""

from __future__ import annotations

import numpy as np

from talkinghead import geometry
from talkinghead.face.types import FaceCandidate

MIN_IOU = 0.3  # box overlap for a detection to continue a track
SLOW_WINDOW_S = 0.27  # Savitzky–Golay window for the pose, brows, nose and upper jaw (seconds)
FAST_WINDOW_S = 0.17  # window for the mouth, eyes and lower jaw: keeps lips and blinks responsive
POLYORDER = 2  # Savitzky–Golay polynomial order
FAST_POINTS = tuple(range(4, 13)) + geometry.RIGHT_EYE + geometry.LEFT_EYE + geometry.MOUTH


def _iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def follow_face(per_frame: list[list[FaceCandidate]]) -> tuple[np.ndarray, np.ndarray] | None:
    """The dominant face of a clip: ``(points T×68×3 with NaN where absent, found T bool)``.

    Detections are linked frame to frame by box overlap with each track's last box (greedy,
    best overlap first), so a track survives gaps and never jumps to another person. The
    track kept is the one with the largest total box area — big and present most of the time.
    Returns None when no frame has a face.
    """
    tracks: list[dict] = []  # {"last": bbox, "frames": {t: candidate}, "area": float}
    for t, faces in enumerate(per_frame):
        pairs = sorted(
            ((_iou(tr["last"], f.bbox), i, j) for i, tr in enumerate(tracks) for j, f in enumerate(faces)),
            reverse=True,
        )
        used_tracks, used_faces = set(), set()
        for iou, i, j in pairs:
            if iou < MIN_IOU:
                break
            if i in used_tracks or j in used_faces:
                continue
            used_tracks.add(i)
            used_faces.add(j)
            tracks[i]["last"] = faces[j].bbox
            tracks[i]["frames"][t] = faces[j]
            tracks[i]["area"] += faces[j].area
        for j, f in enumerate(faces):
            if j not in used_faces:
                tracks.append({"last": f.bbox, "frames": {t: f}, "area": f.area})
    if not tracks:
        return None
    best = max(tracks, key=lambda tr: tr["area"])
    points = np.full((len(per_frame), 68, 3), np.nan)
    for t, f in best["frames"].items():
        points[t] = f.points
    return points, ~np.isnan(points[:, 0, 0])


def _odd_window(seconds: float, fps: float, n: int) -> int:
    """Odd Savitzky–Golay window of about ``seconds``, at least POLYORDER + 2, at most n."""
    w = max(int(round(seconds * fps)) | 1, POLYORDER + 3)
    if w > n:
        w = n if n % 2 else n - 1
    return w


def _savgol(x: np.ndarray, window: int) -> np.ndarray:
    from scipy.signal import savgol_filter

    if window <= POLYORDER:
        return x
    return savgol_filter(x, window, POLYORDER, axis=0, mode="interp")


def fill_gaps(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Linear interpolation in time over rows where ``mask`` is False (edges: nearest kept row).

    ``values`` is ``T×...``; at least one row must be kept.
    """
    values = np.asarray(values, dtype=np.float64)
    mask = np.asarray(mask, dtype=bool)
    if mask.all():
        return values.copy()
    if not mask.any():
        raise ValueError("fill_gaps needs at least one kept row")
    t = np.arange(len(values))
    flat = values.reshape(len(values), -1)
    out = np.empty_like(flat)
    for j in range(flat.shape[1]):
        out[:, j] = np.interp(t, t[mask], flat[mask, j])
    return out.reshape(values.shape)


def smooth_track(points: np.ndarray, found: np.ndarray, fps: float) -> np.ndarray:
    """``T×68×3`` image points (NaN where not found) → filled and smoothed ``T×68×3``."""
    from scipy.spatial.transform import Rotation

    n = len(points)
    idx = np.flatnonzero(found)
    quats = np.zeros((n, 4))
    trans = np.zeros((n, 3))
    log_scale = np.zeros(n)
    canon = np.zeros((n, 68, 3))
    prev = None
    for t in idx:
        pose = geometry.fit_pose(points[t])
        q = Rotation.from_matrix(pose.rotation).as_quat()
        if prev is not None and q @ prev < 0:  # keep quaternions on one hemisphere
            q = -q
        prev = q
        quats[t], trans[t], log_scale[t] = q, pose.translation, np.log(pose.scale)
        canon[t] = pose.invert(points[t])
    quats, trans, log_scale, canon = (fill_gaps(a, found) for a in (quats, trans, log_scale, canon))

    slow, fast = _odd_window(SLOW_WINDOW_S, fps, n), _odd_window(FAST_WINDOW_S, fps, n)
    quats = _savgol(quats, slow)
    trans = _savgol(trans, slow)
    log_scale = _savgol(log_scale, slow)
    fast_idx = list(FAST_POINTS)
    smoothed = _savgol(canon, slow)
    smoothed[:, fast_idx] = _savgol(canon[:, fast_idx], fast)

    rot = Rotation.from_quat(quats / np.linalg.norm(quats, axis=1, keepdims=True)).as_matrix()  # T×3×3
    scale = np.exp(log_scale)
    # X = s·X_can·Rᵀ + τ per frame
    return scale[:, None, None] * np.einsum("tpj,tij->tpi", smoothed, rot) + trans[:, None, :]
