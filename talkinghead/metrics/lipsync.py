"""Lip sync: lagged correlation of mouth opening with audio energy, and mouth closure in silences."""

from __future__ import annotations

import numpy as np

from talkinghead.errors import InputError


def lag_correlations(x: np.ndarray, y: np.ndarray, max_lag: int) -> tuple[np.ndarray, np.ndarray]:
    """Pearson correlation of ``x[t + k]`` with ``y[t]`` over their overlap, for every lag
    ``k = −max_lag..max_lag`` (frames). A positive k means x follows y by k frames. A lag whose
    overlap is constant in either signal scores 0 (no co-variation). Returns ``(lags, corr)``."""
    a = np.asarray(x, dtype=np.float64)
    b = np.asarray(y, dtype=np.float64)
    if a.ndim != 1 or b.ndim != 1 or len(a) != len(b):
        raise InputError(
            f"Cross-correlation needs two 1-D signals of one length, got shapes {a.shape} and {b.shape}: "
            "sample both per video frame."
        )
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise InputError("Cross-correlation signals contain NaN or infinite values: clean them first.")
    if max_lag < 0 or len(a) - max_lag < 3:
        raise InputError(
            f"Signals of {len(a)} frames are too short for lags up to ±{max_lag} frames (each lag needs 3 "
            "overlapping frames): use a longer clip or a smaller lag."
        )
    lags = np.arange(-max_lag, max_lag + 1)
    corr = np.zeros(len(lags))
    for i, k in enumerate(lags):
        xa, yb = (a[k:], b[: len(b) - k]) if k >= 0 else (a[:k], b[-k:])
        xa, yb = xa - xa.mean(), yb - yb.mean()
        denom = np.sqrt((xa * xa).sum() * (yb * yb).sum())
        corr[i] = (xa * yb).sum() / denom if denom > 0 else 0.0
    return lags, corr


def mouth_opening_energy_correlation(
    opening: np.ndarray, energy: np.ndarray, fps: float, max_lag_ms: float = 80.0
) -> float:
    """Best normalised cross-correlation between mouth opening and audio energy within ±max_lag_ms.

    ``opening`` is per video frame (e.g. :func:`talkinghead.geometry.mouth_features` ``.opening``),
    ``energy`` the audio energy at the same frames (e.g. RMS or log-energy of each frame's
    samples). Lags are whole frames up to ``max_lag_ms`` (rounded down: ±2 frames at 25 fps for the
    default 80 ms), in both directions, because audio-visual offsets of about that size are not
    perceived. Returns the maximum Pearson correlation over those lags, −1..1, higher is better
    sync; a constant signal scores 0.
    """
    if not fps > 0 or not max_lag_ms >= 0:
        raise InputError(f"fps must be positive and max_lag_ms non-negative, got {fps!r} and {max_lag_ms!r}.")
    max_lag = int(np.floor(max_lag_ms * fps / 1000.0 + 1e-9))
    _, corr = lag_correlations(opening, energy, max_lag)
    return float(corr.max())


def silence_closure_rate(
    opening: np.ndarray,
    silent_mask: np.ndarray,
    *,
    threshold: float = 0.05,
    min_silence_frames: int = 3,
    settle_frames: int = 2,
) -> float:
    """Fraction of silent frames in which the mouth is closed, 0..1, higher is better.

    ``opening`` is the per-frame inner-lip gap in inter-ocular units
    (:func:`talkinghead.geometry.mouth_features`), ``silent_mask`` True where the audio is silent.
    Only silent stretches of at least ``min_silence_frames`` frames are scored (a short gap between
    words does not close the lips), and their first ``settle_frames`` frames are skipped (the mouth
    needs a moment to close after the last sound). A frame counts as closed when
    ``opening ≤ threshold``; 0.05 inter-ocular units is about 4 px on a face whose outer eye corners
    are 80 px apart. An :class:`InputError` when no frame is left to score.
    """
    o = np.asarray(opening, dtype=np.float64)
    m = np.asarray(silent_mask)
    if o.ndim != 1 or m.shape != o.shape or m.dtype != bool:
        raise InputError(
            f"opening must be 1-D and silent_mask a boolean array of the same shape, got {o.shape} and "
            f"{m.shape} ({m.dtype})."
        )
    if min_silence_frames < 1 or settle_frames < 0:
        raise InputError("min_silence_frames must be at least 1 and settle_frames non-negative.")
    scored = np.zeros(len(o), bool)
    edges = np.diff(np.concatenate([[0], m.astype(np.int8), [0]]))
    for start, stop in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True):
        if stop - start >= min_silence_frames:
            scored[start + settle_frames : stop] = True
    if not scored.any():
        raise InputError(
            f"No silent stretch of at least {min_silence_frames} frames (after {settle_frames} settling "
            "frames) to score: use audio with pauses to measure mouth closure in silence."
        )
    return float(np.mean(o[scored] <= threshold))
