"""Evaluation metrics: the paper's style metrics SLD/SLV/SMD (eq. 10), the frame metrics of its
Table 1 (LMD, D-L, D-V, D-A, CPBD) and two lip-sync measures.

All landmark metrics take iBUG-68 arrays ``(T, 68, 2)`` or ``(T, 68, 3)`` in image pixels and use
only x and y: the paper's metrics are image-plane measures (the authors' released scripts run on
dlib's 2-D points), and the depth of monocular landmarks is too noisy to score. Everything is
vectorised numpy.

One module per job:

* :mod:`~talkinghead.metrics.style` — SLD, SLV, SMD over sliding windows, and the scores a request
  reports on canonical-frame motion (:func:`request_scores`);
* :mod:`~talkinghead.metrics.landmarks` — LMD, D-L, D-V, D-A of time-aligned sequences;
* :mod:`~talkinghead.metrics.sharpness` — CPBD;
* :mod:`~talkinghead.metrics.lipsync` — lagged correlations, opening/energy correlation, mouth
  closure in silences;
* :mod:`~talkinghead.metrics.statistics` — scale-free style statistics of one sequence (mouth
  opening, width, rounding, brow height, eyes, blinks, head turns) from ratios of 3-D distances,
  so in any similarity frame;
* :mod:`~talkinghead.metrics.normalise` — the input checks and per-frame normalisations the
  landmark metrics share.
"""

from talkinghead.metrics.landmarks import (
    ALL_POINTS,
    JAW_LIPS,
    frame_scores,
    landmark_distance,
    lmd,
    mouth_area_difference,
    open_mouth_area,
    velocity_difference,
)
from talkinghead.metrics.lipsync import lag_correlations, mouth_opening_energy_correlation, silence_closure_rate
from talkinghead.metrics.sharpness import cpbd
from talkinghead.metrics.statistics import (
    REQUEST_STATISTICS,
    STYLE_STATISTICS,
    brow_height,
    request_statistics,
    style_statistics,
)
from talkinghead.metrics.style import (
    DEFAULT_STRIDE,
    DEFAULT_WINDOW,
    METRIC_SCALE,
    RELEASED_STRIDES,
    RELEASED_WINDOWS,
    STYLE_METRICS,
    StyleMetric,
    Variant,
    frame_distance_matrix,
    request_scores,
    style_metric,
    style_metric_grid,
    style_metrics,
    style_scores,
    with_head_motion,
)

__all__ = [
    "ALL_POINTS",
    "DEFAULT_STRIDE",
    "DEFAULT_WINDOW",
    "JAW_LIPS",
    "METRIC_SCALE",
    "RELEASED_STRIDES",
    "RELEASED_WINDOWS",
    "STYLE_METRICS",
    "STYLE_STATISTICS",
    "StyleMetric",
    "Variant",
    "brow_height",
    "cpbd",
    "frame_distance_matrix",
    "frame_scores",
    "lag_correlations",
    "landmark_distance",
    "lmd",
    "mouth_area_difference",
    "mouth_opening_energy_correlation",
    "open_mouth_area",
    "request_scores",
    "silence_closure_rate",
    "style_metric",
    "style_metric_grid",
    "style_metrics",
    "style_scores",
    "style_statistics",
    "request_statistics",
    "REQUEST_STATISTICS",
    "velocity_difference",
    "with_head_motion",
]
