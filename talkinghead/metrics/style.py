"""The paper's style metrics SLD, SLV and SMD (§5.4, eq. 10), and the scores a request reports::

    SLD = 1/|W_s| · Σ_{w_s ∈ W_s} min_{w_a ∈ W_a} D-L(w_s, w_a)

with the windows and per-frame normalisations of the authors' released scripts
(``aioz-ai/AudioDrivenStyleTransfer`` @ ``562e37b``, ``src/style_metrics/utils.py``):

* windows of ``L`` frames starting at ``0, s, 2s, …`` (``range(0, T − L + 1, s)``);
* a window score is the mean over its frames of a per-frame distance ``e``;
* **SMD** — ``e`` = mean Euclidean distance of the 20 mouth points (48–67), each frame centred on
  its mouth centroid, **no scaling: pixels**;
* **SLD** — ``e`` = 100 × mean distance of all 68 points after moving each frame's bounding-box
  corner to the origin and dividing x **and** y by the frame's x-extent: **% of face width**;
* **SLV** — ``e`` = 100 × mean distance of the frame-to-frame velocities of those corner-shifted
  points, each divided by the current frame's x-extent: **% of face width per frame**; a window of
  ``L`` frames holds ``L − 1`` velocities.

Because SMD is in pixels, pass both sequences in comparable frames (the paper: 512×512 video
frames; here e.g. the 512² crop of :func:`talkinghead.geometry.align_face`). SLV is per frame, so
it depends on the frame rate (the released pipeline resamples to 29.97 fps; we run at 25 fps).
The paper calls SMD a "mouth area difference", but the released code scores the mouth landmark
distance above; we follow the code.

The released scripts carry a bug: the list of frame distances is not reset for each generated
window, so their "minimum over generated windows" is a minimum of running means (identical
sequences do not score 0). The default here, ``variant="fixed"``, is eq. 10 as written;
``variant="authors"`` reproduces the released numbers bit for bit (see :func:`style_metric`).
Both are checked against reference vectors made with the authors' code.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Literal

import numpy as np

from talkinghead import geometry
from talkinghead.errors import InputError
from talkinghead.metrics.normalise import landmark_sequence, sld_frames, slv_frames, smd_frames

if TYPE_CHECKING:
    from talkinghead.style.pose import PoseTrack

StyleMetric = Literal["sld", "slv", "smd"]
Variant = Literal["fixed", "authors"]

STYLE_METRICS: tuple[StyleMetric, ...] = ("sld", "slv", "smd")

# The authors' released grid (lmd_windows.py / average_all.py): every L in 10..100 and s in 1..19.
RELEASED_WINDOWS = tuple(range(10, 101))
RELEASED_STRIDES = tuple(range(1, 20))

# style_scores defaults for our 25 fps sequences of a few seconds: a 1 s window holds a few
# syllables — long enough to show a style's mouth amplitude and rhythm, short enough that a 3 s
# clip still has 11 windows at a 0.2 s stride. (The released grid, 10–100 frames at 29.97 fps, is
# 0.33–3.3 s; it gives NaN for any clip under 100 frames.)
DEFAULT_WINDOW = 25
DEFAULT_STRIDE = 5

# Rows of a pairwise frame-distance block are computed in chunks of at most this many floats.
_CHUNK_FLOATS = 1_000_000


def _metric_frames(p: np.ndarray, metric: str, what: str) -> tuple[np.ndarray, float]:
    """Per-frame normalised points of one metric and the factor its distance is reported in."""
    if metric == "smd":
        return smd_frames(p), 1.0
    if metric == "sld":
        return sld_frames(p, what), 100.0
    if metric == "slv":
        return slv_frames(p, what), 100.0
    raise InputError(f"Unknown style metric {metric!r}: choose one of {', '.join(STYLE_METRICS)}.")


def _pairwise_mean_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``Ta×P×2``, ``Tb×P×2`` → ``Ta×Tb`` mean over points of the Euclidean distance."""
    ax, ay = np.ascontiguousarray(a[..., 0]), np.ascontiguousarray(a[..., 1])  # Ta×P
    bx, by = np.ascontiguousarray(b[..., 0]), np.ascontiguousarray(b[..., 1])  # Tb×P
    out = np.empty((len(a), len(b)))
    rows = max(1, _CHUNK_FLOATS // max(1, len(b) * a.shape[1]))
    for i in range(0, len(a), rows):
        dx = ax[i : i + rows, None] - bx[None]  # r×Tb×P
        dy = ay[i : i + rows, None] - by[None]
        dx *= dx
        dy *= dy
        dx += dy
        np.sqrt(dx, out=dx)
        out[i : i + rows] = dx.mean(axis=-1)
    return out


def frame_distance_matrix(generated: np.ndarray, style: np.ndarray, *, metric: StyleMetric) -> np.ndarray:
    """The per-frame distance ``e(i, k)`` of one style metric between every style frame ``i`` and
    every generated frame ``k``: ``T_style × T_gen`` (``(T_style−1) × (T_gen−1)`` velocities for SLV),
    in the metric's unit (see the module docstring)."""
    g = landmark_sequence(generated, "The generated landmarks")
    s = landmark_sequence(style, "The style landmarks")
    fg, factor = _metric_frames(g, metric, "The generated landmarks")
    fs, _ = _metric_frames(s, metric, "The style landmarks")
    return factor * _pairwise_mean_distance(fs, fg)



# ---------------------------------------------------------------------------------------------
# Windowed style metrics (paper eq. 10)


def _window_offset(metric: str) -> int:
    """Frames of a window that contribute no term: SLV's first frame has no previous frame."""
    return 1 if metric == "slv" else 0


def _is_int(value: object) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _check_window(window: int) -> None:
    if not _is_int(window) or window < 2:
        raise InputError(f"window must be an integer of at least 2 frames, got {window!r}.")


def _check_stride(stride: int) -> None:
    if not _is_int(stride) or stride < 1:
        raise InputError(f"stride must be a positive integer number of frames, got {stride!r}.")


def _check_variant(variant: str) -> None:
    if variant not in ("fixed", "authors"):
        raise InputError(f"variant must be 'fixed' or 'authors', got {variant!r}.")


def _prepare(generated: np.ndarray, style: np.ndarray, metric: str, variant: str) -> tuple[np.ndarray, int]:
    """The distance matrix the windows run over, and the number of frames it drops at the start."""
    _check_variant(variant)
    if metric not in STYLE_METRICS:
        raise InputError(f"Unknown style metric {metric!r}: choose one of {', '.join(STYLE_METRICS)}.")
    g = landmark_sequence(generated, "The generated landmarks")
    s = landmark_sequence(style, "The style landmarks")
    if variant == "authors":
        # Released quirk Q3: the style windows come from the generated frame count, so style
        # frames from T_gen on are never read, and a shorter style video raises in their code.
        if len(s) < len(g):
            raise InputError(
                f"variant='authors' needs a style sequence at least as long as the generated one "
                f"({len(s)} < {len(g)} frames), as the released scripts do: use variant='fixed'."
            )
        s = s[: len(g)]
    return frame_distance_matrix(g, s, metric=metric), _window_offset(metric)


def _diagonal_window_sums(distances: np.ndarray, max_terms: int) -> Iterator[tuple[int, np.ndarray]]:
    """Yield ``(n, S_n)`` for n = 1..max_terms, ``S_n[a, b] = Σ_{t<n} D[a+t, b+t]`` over every pair
    of window starts that fits; built incrementally, one slice addition per n."""
    rows, cols = distances.shape
    sums = distances.copy()
    for n in range(1, min(max_terms, rows, cols) + 1):
        if n > 1:
            sums = sums[:-1, :-1] + distances[n - 1 :, n - 1 :]
        yield n, sums


def _reduce_windows(sums: np.ndarray, n_terms: int, stride: int, variant: str) -> float:
    """Mean over style windows of the minimum over generated windows (eq. 10)."""
    scores = sums[::stride, ::stride] / n_terms  # style starts × generated starts
    if variant == "authors":
        # Released quirk Q1: the list of frame distances is not emptied per generated window, so
        # the candidate for window b_m is the running mean over windows b_0..b_m.
        scores = np.cumsum(scores, axis=1) / np.arange(1, scores.shape[1] + 1)
    return float(scores.min(axis=1).mean())


def style_metric(
    generated: np.ndarray,
    style: np.ndarray,
    *,
    metric: StyleMetric,
    window: int,
    stride: int,
    variant: Variant = "fixed",
) -> float:
    """One of the paper's style metrics, SLD, SLV or SMD (eq. 10), for one (window, stride).

    ``generated`` and ``style`` are landmark sequences ``(T, 68, 2|3)``; lower is better. Windows
    start at ``range(0, T − window + 1, stride)`` of each sequence; the score is the mean over
    style windows of the minimum over generated windows of the window's mean frame distance.

    ``variant="fixed"`` (default) is eq. 10 as written: each window pair is scored on its own,
    and the style windows run over the style sequence's own length.

    ``variant="authors"`` reproduces the released scripts bit for bit, two departures included:

    * the bug (quirk Q1): the list of frame distances is reset for each *style* window but not for
      each *generated* window, so the candidate for generated window ``b_m`` is the running mean over
      windows ``b_0..b_m`` and the "minimum" favours early windows; identical sequences do not
      score 0;
    * quirk Q3: the style windows are taken from the *generated* frame count, so style frames from
      ``T_gen`` on are ignored, and a style sequence shorter than the generated one is an error.

    The fixed variant equals the released numbers with the bug fixed (``running_mean_fixed`` in
    ``shared/reference/style_metrics``) when the style sequence has ``T_gen`` frames, i.e. pass
    ``style[:len(generated)]`` to reproduce those.

    Returns NaN when ``window`` is longer than either sequence (no window fits), as the released
    scripts do; :func:`style_scores` shrinks the window instead.
    """
    _check_window(window)
    _check_stride(stride)
    grid = style_metric_grid(generated, style, metric=metric, windows=[window], strides=[stride], variant=variant)
    return float(grid[0, 0])


def style_metric_grid(
    generated: np.ndarray,
    style: np.ndarray,
    *,
    metric: StyleMetric,
    windows: Iterable[int] = RELEASED_WINDOWS,
    strides: Iterable[int] = RELEASED_STRIDES,
    variant: Variant = "fixed",
) -> np.ndarray:
    """:func:`style_metric` for every (window, stride): ``len(windows) × len(strides)``.

    The defaults are the released grid (L = 10..100, s = 1..19). The authors' final score is the
    plain mean of this grid (NaN as soon as one window does not fit: every clip needs 100 frames);
    ``np.nanmean`` gives the mean over the pairs that fit. Costs one pass over the window lengths.
    """
    windows, strides = list(windows), list(strides)
    if not windows or not strides:
        raise InputError("style_metric_grid needs at least one window and one stride.")
    for w in windows:
        _check_window(w)
    for s in strides:
        _check_stride(s)
    distances, offset = _prepare(generated, style, metric, variant)
    out = np.full((len(windows), len(strides)), np.nan)
    rows_for: dict[int, list[int]] = {}
    for i, w in enumerate(windows):
        rows_for.setdefault(w - offset, []).append(i)
    for n, sums in _diagonal_window_sums(distances, max(rows_for)):
        for i in rows_for.get(n, ()):
            out[i] = [_reduce_windows(sums, n, s, variant) for s in strides]
    return out


def style_scores(
    generated: np.ndarray,
    style: np.ndarray,
    *,
    window: int = DEFAULT_WINDOW,
    stride: int = DEFAULT_STRIDE,
    variant: Variant = "fixed",
) -> dict[str, float | int | str]:
    """SLD, SLV and SMD of a generated landmark sequence against a style clip's landmarks.

    Returns a dict with keys ``"sld"`` (% of face width), ``"slv"`` (% of face width per frame),
    ``"smd"`` (pixels), ``"window"`` and ``"stride"`` (the frames actually used) and ``"note"``
    (empty, or why the window was shrunk).

    The defaults (25-frame window, 5-frame stride: 1 s and 0.2 s at 25 fps) suit our sequences
    of a few seconds; see ``DEFAULT_WINDOW``. When the shorter sequence has fewer frames than the
    window, the window shrinks to that length and ``"note"`` says so: the result is never NaN.
    Sequences need at least 2 frames.
    """
    _check_window(window)
    _check_stride(stride)
    _check_variant(variant)
    g = landmark_sequence(generated, "The generated landmarks", min_frames=2)
    s = landmark_sequence(style, "The style landmarks", min_frames=2)
    usable = len(g) if variant == "authors" else min(len(g), len(s))
    used, note = window, ""
    if usable < window:
        used = usable
        note = (
            f"window shrunk from {window} to {used} frames: the "
            f"{'generated' if len(g) == usable else 'style'} sequence has only {usable} frames"
        )
    scores: dict[str, float | int | str] = {
        m: style_metric(g, s, metric=m, window=used, stride=stride, variant=variant) for m in STYLE_METRICS
    }
    scores.update(window=used, stride=stride, note=note)
    return scores


# ---------------------------------------------------------------------------------------------
# The scores a request reports (canonical-frame motion, with and without head motion)

# Motion lives in the canonical frame (inter-ocular units); metrics are reported in pixels of a
# 512² aligned crop, the paper's evaluation size (§5.4: videos resized to 512×512).
METRIC_SCALE = geometry.CropSpec().eye_distance * geometry.CropSpec().size


def style_metrics(generated: np.ndarray, style: np.ndarray) -> dict[str, float]:
    """The paper's SLD, SLV, SMD (§5.4.1, eq. 10) of canonical-frame motion against the style motion."""
    scores = style_scores(generated * METRIC_SCALE, style * METRIC_SCALE)
    return {name.upper(): float(scores[name]) for name in STYLE_METRICS}


def with_head_motion(phi: np.ndarray, track: PoseTrack | None) -> np.ndarray:
    """``T×68×3`` canonical motion seen with head motion: ``s_t·φ_t·R_tᵀ + τ_t`` for the track's delta
    rotations, scales and translations (a canonical-frame pose at the origin). ``None``
    is a still head. The paper's SLD scores "mouth, eyes, head pose shapes" (§5.4.1) together."""
    phi = np.asarray(phi, dtype=np.float64)
    if track is None:
        return phi
    if len(track) != len(phi):
        raise ValueError(f"pose track has {len(track)} frames, motion {len(phi)}")
    rotations, translations, scales = track.apply(geometry.Pose.identity())
    return scales[:, None, None] * np.einsum("tpj,tij->tpi", phi, rotations) + translations[:, None]


def request_scores(
    unstyled: np.ndarray, styled: np.ndarray, style: np.ndarray, *, head: PoseTrack, style_head: PoseTrack
) -> dict[str, dict[str, float]]:
    """What a request reports: :func:`style_metrics` against the style motion ``style`` (φ_s),
    ``"before"`` / ``"after"`` the transfer on the pose-free motion (φ_mg⁰ / styled φ), and
    ``"before_with_head"`` / ``"after_with_head"`` as the video moves (a still head / the request's
    head motion ``head``, against φ_s with the clip's own head motion ``style_head``)."""
    style_with_head = with_head_motion(style, style_head)
    return {
        "before": style_metrics(unstyled, style),
        "after": style_metrics(styled, style),
        "before_with_head": style_metrics(unstyled, style_with_head),
        "after_with_head": style_metrics(with_head_motion(styled, head), style_with_head),
    }
