"""Key motion templates None / M / R / O and their retrieval (paper §3.2, §5.4.3, Fig. 6).

The paper splits syllables into *closed* ones (a short vowel ending in a consonant) — the
**None** case (mouth closed and relaxed) and the **M** case (lips pressed together, as in
m/b/p) — and *open* ones (ending in a vowel) — the **R** case (mouth open, lips spread /
unrounded, as in "ah", "ee") and the **O** case (mouth open, lips rounded, as in "oh", "oo").
Each template is "plotted as a reference style pattern" and the most similar frames of the clip
are retrieved by similarity search.

Here a template is a target in a scale- and pose-free mouth-feature space measured *relative to
the clip person's own neutral mouth and own range*, so a wide-mouthed singer and a
small-mouthed speaker are treated alike:

* ``open``   inner-lip opening above the neutral's, ÷ the clip's opening range (its 95th
  percentile above neutral, floored at ``min_opening_range`` inter-ocular units so that a mouth
  that never opens is not stretched to "wide open"): 0 = closed as at rest, 1 = as wide as
  this person opens it.
* ``spread`` mouth-corner width ÷ the neutral width − 1: > 0 spread (R), < 0 rounded (O).
* ``press``  1 − visible lip thickness ÷ the neutral's: > 0 when the lips are pressed or
  rolled in (M).
* ``round``  inner-lip opening ÷ inner-lip width (geometry.mouth_features.roundness): a tall,
  narrow opening (O) against a wide slit (R). Already a shape ratio.
* ``eyes``   eye openness ÷ the neutral's: a reference image should not catch a blink.

Each template term is "near v", "at least v" or "at most v" with a tolerance; the template
fit is the sum of squared tolerance-scaled misses, and ``confidence = exp(−fit/2)`` (1 when every
term is met). Retrieval adds soft penalties that prefer sharp, near-frontal frames at a still
peak of the mouth movement, a small bonus for exceeding one-sided targets (the most
characteristic frame wins), and assigns the four templates to four distinct frames with the
Hungarian algorithm on the cost matrix.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from talkinghead.style.config import StyleConfig
from talkinghead.style.track import StyleTrack

FEATURES = ("open", "spread", "press", "round", "eyes")
LABELS = ("None", "M", "R", "O")
_EXCESS_BONUS = 0.25  # ranking bonus per tolerance a one-sided target is exceeded by (capped at 2)


@dataclass(frozen=True)
class Term:
    """One condition of a template on one relative mouth feature."""

    feature: str  # one of FEATURES
    kind: Literal["near", "at_least", "at_most"]
    value: float  # target in the feature's units
    tolerance: float  # a miss of one tolerance costs 1 (squared)

    def miss(self, x: np.ndarray) -> np.ndarray:
        """Tolerance-scaled shortfall (≥ 0)."""
        if self.kind == "near":
            d = np.abs(x - self.value)
        elif self.kind == "at_least":
            d = np.maximum(self.value - x, 0.0)
        else:
            d = np.maximum(x - self.value, 0.0)
        return d / self.tolerance

    def excess(self, x: np.ndarray) -> np.ndarray:
        """How far beyond a one-sided target, in tolerances (0 for "near" terms), capped at 2."""
        if self.kind == "near":
            return np.zeros_like(x)
        d = x - self.value if self.kind == "at_least" else self.value - x
        return np.clip(d / self.tolerance, 0.0, 2.0)


@dataclass(frozen=True)
class MotionTemplate:
    """A key motion template (paper Fig. 6)."""

    label: str  # "None" | "M" | "R" | "O"
    syllable: str  # "closed" | "open" (paper §5.4.3)
    description: str  # what the frame shows, for people
    hint: str  # what to upload when the clip has no such frame
    terms: tuple[Term, ...]


_EYES_OPEN = Term("eyes", "at_least", 0.8, 0.15)

TEMPLATES: tuple[MotionTemplate, ...] = (
    MotionTemplate(
        "None",
        "closed",
        "mouth closed and relaxed",
        "a moment where the person rests with the mouth closed",
        (
            Term("open", "near", 0.0, 0.08),
            Term("spread", "near", 0.0, 0.05),
            Term("press", "near", 0.0, 0.12),
            _EYES_OPEN,
        ),
    ),
    MotionTemplate(
        "M",
        "closed",
        "lips pressed together (m, b, p)",
        "words with m, b or p, where the lips press together",
        (
            Term("open", "at_most", 0.03, 0.05),
            Term("press", "at_least", 0.25, 0.10),
            Term("spread", "near", 0.0, 0.10),
            _EYES_OPEN,
        ),
    ),
    MotionTemplate(
        "R",
        "open",
        "mouth open with spread lips (ah, ee)",
        "open vowels such as 'ah' or 'ee' with the mouth clearly open",
        (
            Term("open", "at_least", 0.7, 0.2),
            Term("spread", "at_least", 0.04, 0.04),
            Term("round", "at_most", 0.45, 0.15),
            _EYES_OPEN,
        ),
    ),
    MotionTemplate(
        "O",
        "open",
        "mouth open with rounded lips (oh, oo)",
        "rounded vowels such as 'oh' or 'oo'",
        (
            Term("open", "at_least", 0.45, 0.2),
            Term("spread", "at_most", -0.08, 0.05),
            Term("round", "at_least", 0.6, 0.2),
            _EYES_OPEN,
        ),
    ),
)


@dataclass(frozen=True)
class MouthNormaliser:
    """The clip person's own neutral mouth and opening range (the scale of the relative features)."""

    opening: float  # neutral inner-lip opening, inter-ocular units
    width: float  # neutral mouth-corner width
    thickness: float  # neutral visible lip thickness
    eye_open: float  # neutral eye aspect ratio (mean of both eyes)
    opening_range: float  # the clip's opening range above neutral (floored)

    def features(self, mouth: np.ndarray, eye_open: np.ndarray) -> np.ndarray:
        """``T×5`` geometry mouth features + ``T×2`` EAR → ``T×5`` relative features (FEATURES order)."""
        opening, width, _inner, roundness, thick = np.moveaxis(np.asarray(mouth, dtype=np.float64), -1, 0)
        return np.stack(
            [
                (opening - self.opening) / self.opening_range,
                width / self.width - 1.0,
                1.0 - thick / self.thickness,
                roundness,
                np.asarray(eye_open).mean(-1) / self.eye_open,
            ],
            -1,
        )


def mouth_normaliser(neutral_mouth: np.ndarray, neutral_eye: float, opening: np.ndarray,
                     config: StyleConfig) -> MouthNormaliser:
    """Normaliser from the neutral face's mouth features and the valid frames' openings."""
    n_open, n_width, _, _, n_thick = (float(v) for v in neutral_mouth)
    top = float(np.quantile(opening, config.opening_range_quantile)) if len(opening) else n_open
    return MouthNormaliser(
        opening=n_open,
        width=max(n_width, 1e-6),
        thickness=max(n_thick, 1e-6),
        eye_open=max(float(neutral_eye), 1e-6),
        opening_range=max(top - n_open, config.min_opening_range),
    )


def template_fit(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``T×5`` relative features → (fit cost, excess bonus), each ``4×T`` in LABELS order."""
    cols = {name: features[:, i] for i, name in enumerate(FEATURES)}
    fit = np.stack([sum(term.miss(cols[term.feature]) ** 2 for term in tpl.terms) for tpl in TEMPLATES])
    bonus = np.stack([sum(term.excess(cols[term.feature]) for term in tpl.terms) for tpl in TEMPLATES])
    return fit, _EXCESS_BONUS * bonus


def frame_penalty(track: StyleTrack, features: np.ndarray, config: StyleConfig) -> np.ndarray:
    """``T`` soft cost preferring sharp, near-frontal frames at a still peak of the mouth motion."""
    yaw, pitch = track.angles[:, 0], track.angles[:, 1]
    frontal = (yaw / config.max_abs_yaw) ** 2 + (pitch / config.max_abs_pitch) ** 2
    blur = np.clip((1.0 - track.sharpness) / (1.0 - config.min_relative_sharpness), 0.0, 1.0)
    # Mouth speed: central difference of (open, spread) per 1/25 s.
    shape = features[:, :2]
    diff = np.abs(np.gradient(shape, axis=0)).sum(1) if len(shape) > 1 else np.zeros(len(shape))
    speed = diff * 25.0 / track.fps
    return config.frontal_penalty * frontal + config.blur_penalty * blur + config.motion_penalty * speed


@dataclass(frozen=True)
class Retrieval:
    """Result of the similarity search: one frame per template (LABELS order)."""

    indices: np.ndarray  # 4 distinct frame indices
    confidence: np.ndarray  # 4, exp(−fit/2) of the chosen frame
    score: np.ndarray  # 4, exp(−(fit + penalty)/2): the template fit including the frame-quality penalty
    fit: np.ndarray  # 4×T template fit of every frame (inf for invalid frames)
    features: np.ndarray  # T×5 relative features


def retrieve(track: StyleTrack, normaliser: MouthNormaliser, config: StyleConfig) -> Retrieval:
    """Paper §3.2 similarity search: score every valid frame against every template and assign
    one distinct frame per template (Hungarian algorithm, minimum total cost)."""
    from scipy.optimize import linear_sum_assignment

    features = normaliser.features(track.mouth, track.eye_open)
    fit, bonus = template_fit(features)
    penalty = frame_penalty(track, features, config)
    valid = np.flatnonzero(track.valid)
    if len(valid) < len(TEMPLATES):
        raise ValueError(f"retrieval needs at least {len(TEMPLATES)} valid frames, got {len(valid)}")
    cost = fit[:, valid] - bonus[:, valid] + penalty[None, valid]
    rows, cols = linear_sum_assignment(cost)
    order = np.argsort(rows)
    chosen = valid[cols[order]]
    fit_all = np.full_like(fit, np.inf)
    fit_all[:, valid] = fit[:, valid]
    picked_fit = fit[np.arange(len(TEMPLATES)), chosen]
    return Retrieval(
        indices=chosen,
        confidence=np.exp(-0.5 * picked_fit),
        score=np.exp(-0.5 * (picked_fit + penalty[chosen])),
        fit=fit_all,
        features=features,
    )
