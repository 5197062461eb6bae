"""Contact sheet of a style analysis: the four reference crops, mouth close-ups and a strip plot
of mouth opening over time with the chosen frames marked."""

from __future__ import annotations

import numpy as np

from talkinghead.style.analysis import StyleAnalysis
from talkinghead.style.templates import FEATURES

_COLOURS = {"None": "#1f77b4", "M": "#d62728", "R": "#2ca02c", "O": "#ff7f0e"}


def mouth_closeup(crop: np.ndarray, landmarks: np.ndarray, width: int = 320, height: int = 192) -> np.ndarray:
    """A ``width×height`` zoom on the mouth of an aligned crop, at the scale of the mouth corners."""
    import cv2

    pts = np.asarray(landmarks)[:, :2]
    lips = pts[48:68]
    centre = (lips.min(0) + lips.max(0)) / 2.0
    scale = 0.55 * width / max(float(np.linalg.norm(pts[54] - pts[48])), 4.0)  # mouth = 55 % of the width
    m = np.array([[scale, 0.0, width / 2.0 - scale * centre[0]], [0.0, scale, height / 2.0 - scale * centre[1]]])
    return cv2.warpAffine(crop, m, (width, height), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT101)


def contact_sheet(analysis: StyleAnalysis, *, title: str = "") -> np.ndarray:
    """An RGB uint8 image: labelled crops (top), mouth close-ups (middle), opening over time (bottom)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    refs = analysis.references
    fig = Figure(figsize=(12, 8.2), dpi=100)
    canvas = FigureCanvasAgg(fig)
    grid = fig.add_gridspec(3, len(refs), height_ratios=[3.0, 1.8, 1.7], hspace=0.12, wspace=0.04)
    fig.subplots_adjust(left=0.05, right=0.98, top=0.92 if title else 0.95, bottom=0.07)
    for k, ref in enumerate(refs):
        ax = fig.add_subplot(grid[0, k])
        ax.imshow(ref.crop)
        flag = "  LOW" if ref.low_confidence else ""
        ax.set_title(
            f"{ref.label}: frame {ref.frame_index}, {ref.time:.2f} s\nscore {ref.score:.2f}, "
            f"confidence {ref.confidence:.2f}{flag}",
            fontsize=10,
            color=_COLOURS.get(ref.label, "k"),
        )
        ax.axis("off")
        ax = fig.add_subplot(grid[1, k])
        ax.imshow(mouth_closeup(ref.crop, ref.landmarks))
        ax.axis("off")
    ax = fig.add_subplot(grid[2, :])
    ax.set_title("mouth over time (grey: frames skipped)", fontsize=9, loc="left")
    track = analysis.track
    feats = analysis.retrieval.features
    opening, spread = feats[:, FEATURES.index("open")], feats[:, FEATURES.index("spread")]
    ax.plot(track.times, opening, color="k", lw=1.2, label="mouth opening (1 = clip's wide open)")
    ax.plot(track.times, spread * 5.0, color="0.55", lw=0.9, label="lip spread ×5 (+ wide, − round)")
    invalid = ~track.valid
    if invalid.any():
        ax.fill_between(track.times, -1, 2, where=invalid, color="0.85", step="mid")
    for ref in refs:
        c = _COLOURS.get(ref.label, "k")
        ax.axvline(ref.time, color=c, lw=1.5)
        ax.text(ref.time, 1.45, ref.label, color=c, ha="center", va="bottom", fontsize=10, weight="bold")
    ax.set_ylim(-1.0, 1.7)
    ax.set_xlim(track.times[0], track.times[-1] if len(track.times) > 1 else 1.0)
    ax.set_xlabel("time (s)")
    ax.legend(loc="lower right", fontsize=8, ncol=3)
    if title:
        fig.suptitle(title, fontsize=12)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()
