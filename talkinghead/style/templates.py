"""Key motion templates None / M / R / O and their retrieval (paper §3.2, §5.4.3, Fig. 6).

The paper splits syllables into *closed* ones (a short vowel ending in a consonant) — the
**None** case (mouth closed and relaxed) and the **M** case (lips pressed together, as in
m/b/p) — and *open* ones (ending in a vowel) — the **R** case (mouth open, lips spread /
unrounded, as in "ah", "ee") and the **O** case (mouth open, lips rounded, as in "oh", "oo").
Each template is "plotted as a reference style pattern" and the most similar frames of the clip
are retrieved by similarity search.

Here a template is a target in a scale- and pose-free feature space (all measured on the
canonical, pose-removed face) *relative to the clip person's own neutral face and own range*,
so a wide-mouthed singer and a small-mouthed speaker are treated alike:

* ``open``   inner-lip opening above the neutral's ÷ the clip's opening range (its 95th
  percentile above neutral, floored at ``min_opening_range`` inter-ocular units so that a mouth
  that never opens is not stretched to "wide open"): 0 = closed as at rest, 1 = as wide as this
  person opens it.
* ``jaw``    nose–chin distance ÷ the neutral's − 1, ÷ the clip's jaw-drop range (floored at
  ``min_jaw_range``): separates a vowel's dropped jaw from lips parted over closed teeth (a smile).
* ``spread`` mouth-corner width ÷ the neutral width − 1: > 0 spread (R), < 0 rounded (O). (The
  inner-lip aspect ratio ``geometry.mouth_features().roundness`` looked like the natural O/R
  measure but does not separate them on real clips: a wide "ah" is as tall for its width as an
  "oh"; the mouth-corner width does.)
* ``press``  1 − visible lip thickness ÷ the neutral's: > 0 when the lips are pressed or rolled
  in (M).
* ``gap``    inner-lip opening in inter-ocular units, the one absolute feature: it tells when a
  clip's "most closed" mouth is still open, so None and M can say they are unsure.
* ``eyes``   eye openness ÷ the clip's open-eye level (85th percentile): a reference image
  should not catch a blink or a look down.
* ``rest``   RMS distance of brows and eyes from the neutral's (inter-ocular units): None is a
  relaxed face, not a frown with closed lips.

Each template term is "near v", "at least v" or "at most v" with a tolerance. The template fit
is the sum of squared tolerance-scaled misses and ``confidence = exp(−fit/2)`` (1 when every
term is met). Retrieval adds soft penalties that prefer sharp, near-frontal frames at a still
moment of the mouth, a small bonus for exceeding a rewarded one-sided target (the most
characteristic frame wins), and assigns the four templates to four distinct frames with the
Hungarian algorithm on the cost matrix.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from talkinghead import geometry
from talkinghead.style.config import StyleConfig
from talkinghead.style.track import StyleTrack

FEATURES = ("open", "jaw", "spread", "press", "gap", "eyes", "rest")
LABELS = ("None", "M", "R", "O")
_EXCESS_BONUS = 0.25  # ranking bonus per tolerance a rewarded target is exceeded by (capped at 2)
_REST_POINTS = list(geometry.RIGHT_BROW + geometry.LEFT_BROW + geometry.RIGHT_EYE + geometry.LEFT_EYE)


@dataclass(frozen=True)
class Term:
    """One condition of a template on one feature."""

    feature: str  # one of FEATURES
    kind: Literal["near", "at_least", "at_most"]
    value: float  # target in the feature's units
    tolerance: float  # a miss of one tolerance costs 1 (squared)
    reward: bool = False  # going beyond a one-sided target ranks a frame higher

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
        """How far beyond a rewarded one-sided target, in tolerances, capped at 2 (else 0)."""
        if not self.reward or self.kind == "near":
            return np.zeros_like(x)
        d = x - self.value if self.kind == "at_least" else self.value - x
        return np.clip(d / self.tolerance, 0.0, 2.0)


@dataclass(frozen=True)
class MotionTemplate:
    """A key motion template (paper Fig. 6)."""

    label: str  # "None" | "M" | "R" | "O"
    syllable: str  # "closed" | "open" (paper §5.4.3)
    description: str  # what the frame shows, for people
    hint: str  # what a clip needs to have such a frame
    terms: tuple[Term, ...]


_EYES_OPEN = Term("eyes", "at_least", 0.8, 0.15)

TEMPLATES: tuple[MotionTemplate, ...] = (
    MotionTemplate(
        "None",
        "closed",
        "mouth closed and relaxed",
        "moments where the person rests with the mouth closed",
        (
            Term("open", "at_most", 0.0, 0.1, reward=True),
            Term("gap", "at_most", 0.05, 0.03),
            Term("jaw", "near", 0.0, 0.3),
            Term("spread", "near", 0.0, 0.05),
            Term("press", "near", 0.0, 0.08),
            Term("rest", "at_most", 0.015, 0.015),
            _EYES_OPEN,
        ),
    ),
    MotionTemplate(
        "M",
        "closed",
        "lips pressed together (m, b, p)",
        "words with m, b or p, where the lips press together",
        (
            Term("open", "at_most", 0.0, 0.08),
            Term("gap", "at_most", 0.04, 0.03),
            Term("press", "at_least", 0.08, 0.04, reward=True),
            Term("spread", "near", 0.0, 0.08),
            _EYES_OPEN,
        ),
    ),
    MotionTemplate(
        "R",
        "open",
        "mouth open with spread lips (ah, ee)",
        "open vowels such as 'ah' or 'ee', with the mouth clearly open",
        (
            Term("open", "at_least", 0.8, 0.25, reward=True),
            Term("jaw", "at_least", 0.5, 0.3, reward=True),
            Term("spread", "at_least", 0.0, 0.05, reward=True),
            _EYES_OPEN,
        ),
    ),
    MotionTemplate(
        "O",
        "open",
        "mouth open with rounded lips (oh, oo)",
        "rounded vowels such as 'oh' or 'oo'",
        (
            Term("open", "at_least", 0.3, 0.15, reward=True),
            Term("spread", "at_most", -0.05, 0.04, reward=True),
            _EYES_OPEN,
        ),
    ),
)


def _jaw_length(canonical: np.ndarray) -> np.ndarray:
    """Nose tip (33) to chin (8) distance of ``(...,68,3)`` canonical points."""
    c = np.asarray(canonical)
    return np.linalg.norm(c[..., 8, :] - c[..., 33, :], axis=-1)


@dataclass(frozen=True)
class ClipNormaliser:
    """The clip person's own neutral face and ranges: the scale of the relative features."""

    neutral: np.ndarray  # 68×3 canonical neutral face
    opening: float  # neutral inner-lip opening, inter-ocular units
    width: float  # neutral mouth-corner width
    thickness: float  # neutral visible lip thickness
    jaw: float  # neutral nose–chin distance
    eye_open: float  # the clip's open-eye level: 85th percentile of the eye aspect ratio
    opening_range: float  # the clip's opening range above neutral (floored)
    jaw_range: float  # the clip's jaw-drop range, fraction of the neutral nose–chin distance (floored)

    def features(self, canonical: np.ndarray, mouth: np.ndarray, eye_open: np.ndarray) -> np.ndarray:
        """Canonical ``T×68×3``, mouth features ``T×5``, EAR ``T×2`` → ``T×7`` (FEATURES order)."""
        opening, width, _inner, _roundness, thick = np.moveaxis(np.asarray(mouth, dtype=np.float64), -1, 0)
        rest = np.sqrt(((canonical[:, _REST_POINTS] - self.neutral[_REST_POINTS]) ** 2).sum(-1).mean(-1))
        return np.stack(
            [
                (opening - self.opening) / self.opening_range,
                (_jaw_length(canonical) / self.jaw - 1.0) / self.jaw_range,
                width / self.width - 1.0,
                1.0 - thick / self.thickness,
                opening,
                np.asarray(eye_open).mean(-1) / self.eye_open,
                rest,
            ],
            -1,
        )


def clip_normaliser(
    neutral: np.ndarray, canonical: np.ndarray, mouth: np.ndarray, eye_open: np.ndarray, config: StyleConfig
) -> ClipNormaliser:
    """Normaliser from the neutral face and the valid frames' canonical shapes, mouth features
    and eye openness."""
    n_open, n_width, _, _, n_thick = (float(v) for v in geometry.mouth_features(neutral).as_array())
    n_jaw = float(_jaw_length(neutral))
    q = config.opening_range_quantile
    top_open = float(np.quantile(mouth[:, 0], q)) if len(mouth) else n_open
    top_jaw = float(np.quantile(_jaw_length(canonical) / n_jaw - 1.0, q)) if len(canonical) else 0.0
    return ClipNormaliser(
        neutral=np.asarray(neutral, dtype=np.float64),
        opening=n_open,
        width=max(n_width, 1e-6),
        thickness=max(n_thick, 1e-6),
        jaw=max(n_jaw, 1e-6),
        eye_open=max(float(np.quantile(np.asarray(eye_open).mean(-1), 0.85)) if len(eye_open) else 0.3, 1e-6),
        opening_range=max(top_open - n_open, config.min_opening_range),
        jaw_range=max(top_jaw, config.min_jaw_range),
    )


def template_fit(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``T×7`` relative features → (fit cost, excess bonus), each ``4×T`` in LABELS order."""
    cols = {name: features[:, i] for i, name in enumerate(FEATURES)}
    fit = np.stack([sum(term.miss(cols[term.feature]) ** 2 for term in tpl.terms) for tpl in TEMPLATES])
    bonus = np.stack([sum(term.excess(cols[term.feature]) for term in tpl.terms) for tpl in TEMPLATES])
    return fit, _EXCESS_BONUS * bonus


def frame_penalty(track: StyleTrack, features: np.ndarray, config: StyleConfig) -> np.ndarray:
    """``T`` soft cost preferring sharp, near-frontal frames at a still moment of the mouth."""
    yaw, pitch = track.angles[:, 0], track.angles[:, 1]
    frontal = (yaw / config.max_abs_yaw) ** 2 + (pitch / config.max_abs_pitch) ** 2
    blur = np.clip((1.0 - track.sharpness) / (1.0 - config.min_relative_sharpness), 0.0, 1.0)
    # Mouth speed: central difference of (open, spread) per 1/25 s.
    shape = features[:, [FEATURES.index("open"), FEATURES.index("spread")]]
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
    features: np.ndarray  # T×7 relative features (FEATURES order)


def retrieve(track: StyleTrack, normaliser: ClipNormaliser, config: StyleConfig) -> Retrieval:
    """Paper §3.2 similarity search: score every valid frame against every template and assign
    one distinct frame per template (Hungarian algorithm, minimum total cost)."""
    from scipy.optimize import linear_sum_assignment

    features = normaliser.features(track.canonical, track.mouth, track.eye_open)
    fit, bonus = template_fit(features)
    penalty = frame_penalty(track, features, config)
    valid = np.flatnonzero(track.valid)
    if len(valid) < len(TEMPLATES):
        raise ValueError(f"retrieval needs at least {len(TEMPLATES)} valid frames, got {len(valid)}")
    cost = fit[:, valid] - bonus[:, valid] + penalty[None, valid]
    rows, cols = linear_sum_assignment(cost)
    chosen = valid[cols[np.argsort(rows)]]
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
