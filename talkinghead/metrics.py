"""Evaluation metrics: the paper's style metrics SLD/SLV/SMD (eq. 10), the frame metrics of its
Table 1 (LMD, D-L, D-V, D-A, CPBD) and two lip-sync measures.

All landmark metrics take iBUG-68 arrays ``(T, 68, 2)`` or ``(T, 68, 3)`` in image pixels and use
only x and y: the paper's metrics are image-plane measures (the authors' released scripts run on
dlib's 2-D points), and the depth of monocular landmarks is too noisy to score. Everything is
vectorised numpy: :func:`style_scores` of a 4 s clip against a 4 s style clip takes about 20 ms,
10 s against 10 s about 0.2 s.

Style metrics (§5.4, eq. 10)::

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

from collections.abc import Iterable, Iterator, Sequence
from typing import Literal

import numpy as np

from talkinghead.errors import InputError
from talkinghead.geometry import INNER_LIPS, JAW, MOUTH, N_POINTS

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

# MakeItTalk's D-L/D-V use the jaw and lip points only; pass this as ``points`` for that flavour.
JAW_LIPS: tuple[int, ...] = JAW + MOUTH
ALL_POINTS: tuple[int, ...] = tuple(range(N_POINTS))

# Rows of a pairwise frame-distance block are computed in chunks of at most this many floats.
_CHUNK_FLOATS = 1_000_000


# ---------------------------------------------------------------------------------------------
# Input checks and per-frame normalisations (as in the released utils.py)


def _landmarks(points: np.ndarray, what: str, *, min_frames: int = 1) -> np.ndarray:
    """``(T,68,2|3)`` → ``(T,68,2)`` float64 image-plane points, or an :class:`InputError`."""
    p = np.asarray(points)
    if p.ndim != 3 or p.shape[1] != N_POINTS or p.shape[2] not in (2, 3):
        raise InputError(
            f"{what} must be a landmark sequence of shape (T, 68, 2) or (T, 68, 3), got shape {p.shape}: "
            "pass one iBUG-68 landmark array per frame, stacked along the first axis."
        )
    if not np.issubdtype(p.dtype, np.number):
        raise InputError(f"{what} must hold numbers, got dtype {p.dtype}: pass float landmark coordinates.")
    if len(p) < min_frames:
        raise InputError(f"{what} has {len(p)} frames; this metric needs at least {min_frames}.")
    p = p[..., :2].astype(np.float64)
    if not np.isfinite(p).all():
        raise InputError(
            f"{what} contains NaN or infinite coordinates: interpolate or drop frames without a face first."
        )
    return p


def _face_width(p: np.ndarray, what: str) -> np.ndarray:
    """Per-frame x-extent of all 68 points, ``(T,)``; the released SLD/SLV divide by it."""
    width = p[:, :, 0].max(axis=1) - p[:, :, 0].min(axis=1)
    if (width <= 0).any():
        t = int(np.argmax(width <= 0))
        raise InputError(f"{what}: frame {t} has zero face width (all points share one x): check the landmarks.")
    return width


def _smd_frames(p: np.ndarray) -> np.ndarray:
    """``T×68×2`` → ``T×20×2`` mouth points centred on their centroid, pixels."""
    mouth = p[:, MOUTH[0] : MOUTH[-1] + 1]
    return mouth - mouth.mean(axis=1, keepdims=True)


def _sld_frames(p: np.ndarray, what: str) -> np.ndarray:
    """``T×68×2`` → bounding-box corner at the origin, both axes divided by the face width."""
    return (p - p.min(axis=1, keepdims=True)) / _face_width(p, what)[:, None, None]


def _slv_frames(p: np.ndarray, what: str) -> np.ndarray:
    """``T×68×2`` → ``(T−1)×68×2`` velocities of the corner-shifted points / current face width."""
    shifted = p - p.min(axis=1, keepdims=True)
    return (shifted[1:] - shifted[:-1]) / _face_width(p, what)[1:, None, None]


def _metric_frames(p: np.ndarray, metric: str, what: str) -> tuple[np.ndarray, float]:
    """Per-frame normalised points of one metric and the factor its distance is reported in."""
    if metric == "smd":
        return _smd_frames(p), 1.0
    if metric == "sld":
        return _sld_frames(p, what), 100.0
    if metric == "slv":
        return _slv_frames(p, what), 100.0
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
    g = _landmarks(generated, "The generated landmarks")
    s = _landmarks(style, "The style landmarks")
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
    g = _landmarks(generated, "The generated landmarks")
    s = _landmarks(style, "The style landmarks")
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
    g = _landmarks(generated, "The generated landmarks", min_frames=2)
    s = _landmarks(style, "The style landmarks", min_frames=2)
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
# Frame-level metrics of Table 1 (time-aligned generated vs reference)


def _aligned_pair(generated: np.ndarray, reference: np.ndarray, min_frames: int) -> tuple[np.ndarray, np.ndarray]:
    g = _landmarks(generated, "The generated landmarks", min_frames=min_frames)
    r = _landmarks(reference, "The reference landmarks", min_frames=min_frames)
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
    return float(np.sqrt(((_smd_frames(g) - _smd_frames(r)) ** 2).sum(-1)).mean())


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
    d = _sld_frames(g, "The generated landmarks")[:, idx] - _sld_frames(r, "The reference landmarks")[:, idx]
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
    d = _slv_frames(g, "The generated landmarks")[:, idx] - _slv_frames(r, "The reference landmarks")[:, idx]
    return float(100.0 * np.sqrt((d * d).sum(-1)).mean())


def open_mouth_area(landmarks: np.ndarray) -> np.ndarray:
    """Area of the inner-lip polygon (60–67, shoelace formula) of each frame divided by the
    squared face width (x-extent of the 68 points): ``(T,)``, scale- and translation-free."""
    p = _landmarks(landmarks, "The landmarks")
    lips = p[:, list(INNER_LIPS)]
    x, y = lips[..., 0], lips[..., 1]
    area = 0.5 * np.abs((x * np.roll(y, -1, axis=1) - np.roll(x, -1, axis=1) * y).sum(axis=1))
    return area / _face_width(p, "The landmarks") ** 2


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


# ---------------------------------------------------------------------------------------------
# Sharpness: CPBD (Narvekar & Karam 2011)

_CPBD_BLOCK = 64  # block side, pixels
_CPBD_EDGE_BLOCK_FRACTION = 0.002  # a block is an edge block when more than this fraction is edge
_CPBD_BETA = 3.6  # slope of the probability-of-blur-detection psychometric function
_CPBD_MAX_MARGIN = 100  # an edge side is followed for at most 101 pixels
_CPBD_JNB_LOW_CONTRAST = 5.0  # just-noticeable blur width for block contrast ≤ 50
_CPBD_JNB_HIGH_CONTRAST = 3.0  # … and for contrast > 50
_CPBD_LOW_CONTRAST_MAX = 50
_CPBD_P_JNB_BUCKET = 63  # CPBD = P(P_blur ≤ 0.63), 0.63 ≈ 1 − e^(−1): blur at the JNB width


def _grey_levels(image: np.ndarray) -> np.ndarray:
    """uint8 RGB ``H×W×3`` or grey ``H×W`` → float64 grey levels 0..255 (ITU-R 601 luma, rounded
    to integers exactly as Pillow's ``convert("L")``)."""
    a = np.asarray(image)
    if a.dtype != np.uint8 or not (a.ndim == 2 or (a.ndim == 3 and a.shape[2] == 3)):
        raise InputError(
            f"CPBD needs a uint8 RGB (H×W×3) or grey (H×W) image, got shape {a.shape} and dtype {a.dtype}."
        )
    if a.ndim == 3:
        rgb = a.astype(np.int64)
        a = (rgb[..., 0] * 19595 + rgb[..., 1] * 38470 + rgb[..., 2] * 7471 + 0x8000) >> 16
    if a.shape[0] < _CPBD_BLOCK or a.shape[1] < _CPBD_BLOCK:
        raise InputError(
            f"CPBD works on {_CPBD_BLOCK}×{_CPBD_BLOCK} blocks; the image is only {a.shape[1]}×{a.shape[0]}: "
            "score a larger frame."
        )
    return a.astype(np.float64)


def _run_left(cond: np.ndarray) -> np.ndarray:
    """Per row, the number of consecutive True values ending at each column (inclusive)."""
    cols = np.arange(cond.shape[1])
    last_false = np.maximum.accumulate(np.where(cond, -1, cols), axis=1)
    return cols - last_false


def _sobel_vertical_edges(grey: np.ndarray) -> np.ndarray:
    """Edge map for the width measurement: the thinned horizontal Sobel response, as in the
    widely used Python port of the authors' MATLAB code (``cpbd`` 1.0.7, after Octave's ``edge``)."""
    from scipy.ndimage import convolve

    kernel = np.array([[1.0, 0.0, -1.0], [2.0, 0.0, -2.0], [1.0, 0.0, -1.0]]) / 8.0
    strength = convolve(grey, kernel) ** 2  # scipy's default 'reflect' border
    strength[strength <= 2.0 * np.sqrt(strength.mean())] = 0.0  # Octave's threshold, as ported
    pad = np.pad(strength, 1)  # zero border
    horizontal = (strength > pad[1:-1, :-2]) & (strength > pad[1:-1, 2:])
    vertical = (strength > pad[:-2, 1:-1]) & (strength > pad[2:, 1:-1])
    return horizontal | vertical


def _edge_widths(edges: np.ndarray, grey: np.ndarray) -> np.ndarray:
    """Marziliano edge widths along rows at edge pixels whose gradient is horizontal, 0 elsewhere."""
    gy, gx = np.gradient(grey)
    with np.errstate(invalid="ignore"):
        angle = np.where(gx != 0, np.degrees(np.arctan2(gy, gx)), np.where(gy == np.pi / 2, 90.0, 0.0))
    widths = np.zeros_like(grey)
    if not angle.any():
        return widths
    quantised = 45.0 * np.round(angle / 45.0)
    h, w = grey.shape
    interior = np.zeros_like(edges)
    interior[1:-1, 1:-1] = edges[1:-1, 1:-1]
    left_step = np.zeros((h, w), bool)  # comparisons of column j with column j−1 (False at j = 0)
    right_step = np.zeros((h, w), bool)  # … of column j with column j+1 (False at j = w−1)
    for falling, select in ((True, interior & (np.abs(quantised) == 180)), (False, interior & (quantised == 0))):
        if not select.any():
            continue
        # Walk outward from the edge while the intensity keeps falling (angle ±180: dark to the
        # right) or rising (angle 0) — the extent of the edge's ramp on each side.
        if falling:
            left_step[:, 1:] = grey[:, :-1] > grey[:, 1:]
            right_step[:, :-1] = grey[:, 1:] < grey[:, :-1]
        else:
            left_step[:, 1:] = grey[:, :-1] < grey[:, 1:]
            right_step[:, :-1] = grey[:, 1:] > grey[:, :-1]
        run_left = _run_left(left_step)
        run_right = _run_left(right_step[:, ::-1])[:, ::-1]
        rows, cols = np.nonzero(select)
        width_left = np.minimum(run_left[rows, cols - 1], _CPBD_MAX_MARGIN) + 1
        width_right = np.minimum(run_right[rows, cols + 1], _CPBD_MAX_MARGIN) + 1
        widths[rows, cols] = width_left + width_right
    return widths


def cpbd(image: np.ndarray) -> float:
    """CPBD sharpness (Narvekar & Karam, IEEE TIP 2011) of one frame, 0..1, higher is sharper.

    The image is cut into 64×64 blocks; in blocks with enough Canny edges, the width of each Sobel
    edge (Marziliano's method) and the block's contrast give a probability that the blur is seen;
    CPBD is the fraction of edges whose probability stays at or below the just-noticeable level.

    A vectorised re-implementation of the Python port that talking-head papers use (``pip install
    cpbd``, 1.0.7, itself after the authors' MATLAB code), quirks included: widths measured along
    rows only, scikit-image's default Canny on 0..255 values, Octave's Sobel threshold as ported.
    Its numbers match that package's ``compute`` on the same grey image. Greyscale as Pillow's
    ``convert("L")``. An image with no edge block scores 0. Two quirks of that port come along:
    its thinning keeps only strict local maxima of the Sobel response, so an edge whose response
    has a flat top (a linear ramp) is skipped; and when every gradient angle of the image is
    exactly 0 (e.g. a synthetic picture of vertical steps only) no width is measured at all.
    """
    from skimage.feature import canny

    grey = _grey_levels(image)
    widths = _edge_widths(_sobel_vertical_edges(grey), grey)
    canny_edges = canny(grey)

    nby, nbx = grey.shape[0] // _CPBD_BLOCK, grey.shape[1] // _CPBD_BLOCK
    crop = (slice(0, nby * _CPBD_BLOCK), slice(0, nbx * _CPBD_BLOCK))

    def blocks(a: np.ndarray) -> np.ndarray:  # H×W → nby×nbx×64×64
        return a[crop].reshape(nby, _CPBD_BLOCK, nbx, _CPBD_BLOCK).swapaxes(1, 2)

    edge_count = blocks(canny_edges).sum(axis=(2, 3))
    is_edge_block = edge_count > _CPBD_BLOCK * _CPBD_BLOCK * _CPBD_EDGE_BLOCK_FRACTION
    g = blocks(grey)
    contrast = (g.max(axis=(2, 3)) - g.min(axis=(2, 3))).astype(np.int64)
    jnb = np.where(contrast <= _CPBD_LOW_CONTRAST_MAX, _CPBD_JNB_LOW_CONTRAST, _CPBD_JNB_HIGH_CONTRAST)

    bw = blocks(widths)
    jnb_per_pixel = np.broadcast_to(jnb[:, :, None, None], bw.shape)
    counted = (bw != 0) & is_edge_block[:, :, None, None]
    if not counted.any():
        return 0.0
    p_blur = 1.0 - np.exp(-(np.abs(bw[counted] / jnb_per_pixel[counted]) ** _CPBD_BETA))
    buckets = np.round(p_blur * 100.0)
    return float(np.count_nonzero(buckets <= _CPBD_P_JNB_BUCKET) / len(buckets))


# ---------------------------------------------------------------------------------------------
# Lip sync


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
