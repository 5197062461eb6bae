"""Blinks of a style clip (eye-openness dips with hysteresis) and a blink schedule of any length."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from talkinghead.style.config import StyleConfig


@dataclass(frozen=True)
class BlinkStats:
    """Blink events detected in the clip."""

    events: list[tuple[float, float]]  # (start_s, end_s) of each blink, where it is past half closed
    rate_per_min: float  # blinks per minute over the analysed duration (0 when none)
    mean_duration_s: float  # mean event length, past half closed (config default when none)
    duration_s: float  # analysed duration the rate refers to


def eye_openness_ratio(eye_open: np.ndarray, found: np.ndarray, fps: float) -> np.ndarray:
    """``T`` eye openness (mean of both eyes) ÷ a running open-eye baseline (1 = normally open).

    The baseline is the 80th percentile of the found frames within ±2 s, so slow changes (a
    smile narrowing the eyes for a while) are not read as blinks.
    """
    ear = np.asarray(eye_open, dtype=np.float64).mean(1)
    t = len(ear)
    half = max(1, int(round(2.0 * fps)))
    base = np.empty(t)
    global_base = np.quantile(ear[found], 0.8) if found.any() else 1.0
    for i in range(t):
        lo, hi = max(0, i - half), min(t, i + half + 1)
        window = ear[lo:hi][found[lo:hi]]
        base[i] = np.quantile(window, 0.8) if len(window) >= 5 else global_base
    return ear / np.maximum(base, 1e-6)


def detect_blinks(eye_open: np.ndarray, found: np.ndarray, fps: float, config: StyleConfig) -> BlinkStats:
    """Blink events: dips of the openness ratio under ``blink_close`` that rise back by at least
    ``blink_prominence`` on both sides (the hysteresis that keeps a noisy half-shut stretch from
    counting as many blinks), no wider than ``blink_max_s`` at half depth (longer closures are
    eyes shut on purpose). Each event spans the dip at half depth. Frames without a face count
    as open."""
    from scipy.signal import find_peaks

    ratio = np.where(found, eye_openness_ratio(eye_open, found, fps), 1.0)
    closure = 1.0 - ratio
    peaks, props = find_peaks(
        closure,
        height=1.0 - config.blink_close,
        prominence=config.blink_prominence,
        width=(None, config.blink_max_s * fps),
        rel_height=0.5,
    )
    events = [(float(a) / fps, float(b) / fps) for a, b in zip(props["left_ips"], props["right_ips"], strict=True)]
    duration = len(ratio) / fps
    durations = [e - s for s, e in events]
    return BlinkStats(
        events=events,
        rate_per_min=60.0 * len(events) / duration if duration > 0 else 0.0,
        mean_duration_s=float(np.mean(durations)) if durations else config.default_blink_s,
        duration_s=duration,
    )


HALF_CLOSED_SHARE = 0.5  # the share of a blink_profile during which the eyes are past half closed
HALF_CLOSED_RANGE_S = (0.05, 0.25)  # a scheduled blink lasts this long past half closed, at least and at most


def blink_profile(n: int) -> np.ndarray:
    """Eye openness over one blink of ``n`` frames: a fast close (40 %) and slower reopening, past
    half closed from 20 % to 70 % of it (:data:`HALF_CLOSED_SHARE`)."""
    if n <= 0:
        return np.ones(0)
    t = (np.arange(n) + 0.5) / n
    close = t < 0.4
    closed = np.where(close, 0.5 - 0.5 * np.cos(np.pi * t / 0.4), 0.5 + 0.5 * np.cos(np.pi * (t - 0.4) / 0.6))
    return 1.0 - closed


def blink_schedule(
    stats: BlinkStats, n_frames: int, fps: float, *, seed: int, enabled: bool, config: StyleConfig
) -> np.ndarray:
    """``n_frames`` eye openness in [0, 1] with blinks at the clip's rate and duration (each
    blink as long past half closed as the clip's are, as :func:`detect_blinks` measures both).

    Intervals are drawn from a gamma distribution (shape 3: more regular than Poisson, as real
    blinking is) with the clip's mean interval; clips with no blink use ``default_blink_rate``.
    The rate is clamped to a plausible 4–45 per minute.
    """
    if n_frames < 0 or not fps > 0:
        raise ValueError(f"blink_schedule needs n_frames ≥ 0 and fps > 0, got {n_frames}, {fps}")
    out = np.ones(n_frames)
    if not enabled or n_frames == 0:
        return out
    rate = stats.rate_per_min if stats.events else config.default_blink_rate
    rate = float(np.clip(rate, 4.0, 45.0))
    mean_interval = 60.0 / rate
    half_closed = float(np.clip(stats.mean_duration_s, *HALF_CLOSED_RANGE_S))
    length = max(2, int(round(half_closed / HALF_CLOSED_SHARE * fps)))
    rng = np.random.default_rng(seed)
    shape = 3.0
    t = rng.uniform(0.3, 1.0) * mean_interval  # first blink not at frame 0
    profile = blink_profile(length)
    while True:
        start = int(round(t * fps))
        if start >= n_frames:
            break
        end = min(n_frames, start + length)
        out[start:end] = np.minimum(out[start:end], profile[: end - start])
        t += max(rng.gamma(shape, mean_interval / shape), length / fps + 0.3)
    return out
