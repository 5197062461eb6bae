"""Head-pose track of a style clip: smoothed, retimed to any length by looping with cross-fades.

The clip's own head motion (a ballad's sway, a rap's bob, an opera singer's slow large turns) is
kept as a trajectory of deltas around the clip's mean pose, so it can be composed with any
portrait's pose and scaled by a user strength.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from talkinghead import geometry


@dataclass(frozen=True)
class PoseTrack:
    """Head motion for T output frames, relative to the style clip's mean pose."""

    delta_angles: np.ndarray  # T×3 (yaw, pitch, roll) degrees of R_delta = R_t·R_meanᵀ
    delta_translation: np.ndarray  # T×3 τ_t − mean τ, in inter-ocular units (÷ the clip's mean scale)
    delta_log_scale: np.ndarray  # T log(s_t / mean s)
    fps: float

    def __len__(self) -> int:
        return len(self.delta_angles)

    def rotations(self) -> np.ndarray:
        """``T×3×3`` delta rotations."""
        return np.array([geometry.angles_to_rotation(*a) for a in self.delta_angles]).reshape(-1, 3, 3)

    def apply(self, base: geometry.Pose) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Compose with a portrait's pose: rotations ``R_delta·R_base`` (T×3×3), translations
        ``τ_base + Δτ·s_base`` (T×3), scales ``s_base·exp(Δlog s)`` (T)."""
        rot = np.einsum("tij,jk->tik", self.rotations(), base.rotation)
        trans = np.asarray(base.translation, dtype=np.float64)[None] + self.delta_translation * base.scale
        scales = base.scale * np.exp(self.delta_log_scale)
        return rot, trans, scales


def _mean_rotation(rotations: np.ndarray) -> np.ndarray:
    """Chordal L2 mean of rotation matrices (projection of the arithmetic mean onto SO(3))."""
    u, _, vt = np.linalg.svd(rotations.mean(0))
    d = np.sign(np.linalg.det(u @ vt))
    return u @ np.diag([1.0, 1.0, d]) @ vt


def gaussian_smooth(values: np.ndarray, sigma_frames: float) -> np.ndarray:
    """Gaussian smoothing along axis 0 with edge reflection (no lag, no edge shrinkage)."""
    if sigma_frames <= 0 or len(values) < 3:
        return np.asarray(values, dtype=np.float64).copy()
    from scipy.ndimage import gaussian_filter1d

    return gaussian_filter1d(np.asarray(values, dtype=np.float64), sigma_frames, axis=0, mode="nearest")


def clip_pose_deltas(
    rotations: np.ndarray, translation: np.ndarray, scale: np.ndarray, fps: float, smoothing_s: float
) -> np.ndarray:
    """The clip's smoothed pose trajectory as ``T×7`` deltas: yaw, pitch, roll (deg), τ (iod units), log s."""
    mean_rot = _mean_rotation(rotations)
    delta_rot = np.einsum("tij,kj->tik", rotations, mean_rot)  # R_t·R_meanᵀ
    angles = np.array([geometry.rotation_to_angles(r) for r in delta_rot]).reshape(-1, 3)
    mean_scale = float(np.mean(scale))
    trans = (translation - translation.mean(0)) / mean_scale
    log_s = np.log(scale / mean_scale)
    deltas = np.concatenate([angles, trans, log_s[:, None]], 1)
    deltas = gaussian_smooth(deltas, smoothing_s * fps)
    return deltas - deltas.mean(0)  # zero-mean after smoothing: the portrait keeps its own mean pose


def resample(values: np.ndarray, fps_in: float, fps_out: float) -> np.ndarray:
    """Linear resampling along axis 0 from ``fps_in`` to ``fps_out`` over the same duration."""
    values = np.asarray(values, dtype=np.float64)
    n_in = len(values)
    n_out = max(1, int(round(n_in * fps_out / fps_in)))
    if n_in == 1:
        return np.repeat(values, n_out, 0)
    t_in = np.arange(n_in) / fps_in
    t_out = np.minimum(np.arange(n_out) / fps_out, t_in[-1])
    flat = values.reshape(n_in, -1)
    out = np.stack([np.interp(t_out, t_in, flat[:, j]) for j in range(flat.shape[1])], 1)
    return out.reshape((n_out,) + values.shape[1:])


def loop_with_crossfades(
    source: np.ndarray, n_frames: int, crossfade: int, rng: np.random.Generator
) -> np.ndarray:
    """Any length from a ``L×D`` trajectory without jumps.

    Shorter than the clip: its beginning. Longer: the whole clip, then segments of random length
    (a quarter of the clip up to the rest of it) starting where the trajectory best matches the
    last ``crossfade`` frames (one of the four best seams, picked with ``rng``, never the plain
    continuation), each seam blended with a raised-cosine cross-fade.
    """
    source = np.asarray(source, dtype=np.float64)
    length = len(source)
    if n_frames <= length:
        return source[:n_frames].copy()
    c = int(min(max(crossfade, 1), max(1, length // 3)))
    min_len = max(c + 1, length // 4)  # frames a segment plays, cross-fade included
    w = (0.5 - 0.5 * np.cos(np.pi * (np.arange(c) + 1) / (c + 1)))[:, None]  # 0 → 1
    unit = np.maximum(source.std(0), 1e-9)  # match seams in units of each dimension's spread
    starts = np.arange(0, max(1, length - min_len + 1))
    out, played_to = source.copy(), length
    while len(out) < n_frames:
        tail = out[-c:]
        seam = np.array([(np.abs(source[s : s + c] - tail) / unit).mean() for s in starts])
        seam[np.abs(starts + c - played_to) < c] = np.inf  # a jump, not the plain continuation
        best = starts[np.argsort(seam)[: min(4, int(np.isfinite(seam).sum()) or 1)]]
        s = int(rng.choice(best))
        end = int(rng.integers(s + min_len, length + 1))
        out[-c:] = tail * (1.0 - w) + source[s : s + c] * w
        out = np.concatenate([out, source[s + c : end]], 0)
        played_to = end
    return out[:n_frames]


def pose_track(
    deltas: np.ndarray,
    clip_fps: float,
    n_frames: int,
    fps: float,
    *,
    strength: float,
    seed: int,
    crossfade_s: float,
) -> PoseTrack:
    """Retime the clip's ``T×7`` pose deltas (see :func:`clip_pose_deltas`) to ``n_frames`` at ``fps``."""
    if n_frames < 0:
        raise ValueError(f"n_frames must be ≥ 0, got {n_frames}")
    if not fps > 0:
        raise ValueError(f"fps must be > 0, got {fps}")
    if not 0.0 <= strength:
        raise ValueError(f"strength must be ≥ 0, got {strength}")
    src = resample(deltas, clip_fps, fps)
    rng = np.random.default_rng(seed)
    out = loop_with_crossfades(src, n_frames, int(round(crossfade_s * fps)), rng) * float(strength)
    out = out.reshape(n_frames, 7)
    return PoseTrack(
        delta_angles=out[:, :3], delta_translation=out[:, 3:6], delta_log_scale=out[:, 6], fps=float(fps)
    )
