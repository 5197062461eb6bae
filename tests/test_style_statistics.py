"""Style statistics on synthetic motions whose statistics are known: a mouth opened by a known amount
on half the frames, a yaw sweep, planted blinks, raised brows, rounded lips; invariance to a
similarity transform."""

from __future__ import annotations

import numpy as np
import pytest

from talkinghead import geometry
from talkinghead.errors import InputError
from talkinghead.metrics import STYLE_STATISTICS, brow_height, style_statistics
from talkinghead.style.blinks import blink_profile

FPS = 25.0
SHAPE_KEYS = ("open_p50", "open_p90", "mouth_width", "lip_rounding", "brow_height", "eye_open")


def still(n: int, face: np.ndarray | None = None) -> np.ndarray:
    """``n`` frames of one face (the canonical face by default)."""
    f = geometry.canonical_face() if face is None else face
    return np.repeat(np.asarray(f, dtype=np.float64)[None], n, axis=0)


def with_eyes(face: np.ndarray, openness: float) -> np.ndarray:
    """``face`` with both upper lids brought toward the lower ones: ``openness`` 1 = as is, 0 = shut."""
    out = np.array(face, dtype=np.float64)
    for a in (geometry.RIGHT_EYE[0], geometry.LEFT_EYE[0]):
        for up, lo in ((a + 1, a + 5), (a + 2, a + 4)):
            out[up] = out[lo] + openness * (out[up] - out[lo])
    return out


def planted_blinks(n: int, starts: list[int], length: int = 6) -> np.ndarray:
    """``n`` eye-openness values (1 = open) with a blink of ``length`` frames at each start."""
    eyes = np.ones(n)
    for s in starts:
        eyes[s : s + length] = blink_profile(length)
    return eyes


def test_keys_in_table_order() -> None:
    assert tuple(style_statistics(still(10), FPS)) == STYLE_STATISTICS


def test_mouth_opened_on_half_the_frames() -> None:
    """Half the frames closed (gap c), half opened by 0.2 (gap o ≈ c + 0.2): p50 is their midpoint
    (numpy's linear quantile between frame 49 and 50 of the sorted gaps), p90 the open gap."""
    c = geometry.canonical_face()
    opened = geometry.open_mouth(c, 0.2)
    closed_gap = float(geometry.mouth_features(c).opening)
    open_gap = float(geometry.mouth_features(opened).opening)
    assert open_gap - closed_gap == pytest.approx(0.2, rel=0.02)  # JAW_FOLLOW: the gap grows by the opening
    seq = np.concatenate([still(50), still(50, opened)])
    stats = style_statistics(seq, FPS)
    assert stats["open_p50"] == pytest.approx(0.5 * (closed_gap + open_gap), abs=1e-12)
    assert stats["open_p90"] == pytest.approx(open_gap, abs=1e-12)


def test_shape_statistics_ignore_a_similarity_transform() -> None:
    """Image points of a posed, scaled, moved face score as its canonical-frame motion."""
    rng = np.random.default_rng(0)
    c = geometry.canonical_face()
    seq = np.stack([geometry.open_mouth(c, o, rounding=r) for o, r in rng.uniform(0, 0.3, (60, 2))])
    pose = geometry.Pose.from_angles(20.0, -10.0, 5.0, translation=np.array([300.0, 200.0, 50.0]), scale=90.0)
    canonical, image = style_statistics(seq, FPS), style_statistics(pose.apply(seq), FPS)
    for key in SHAPE_KEYS:
        assert image[key] == pytest.approx(canonical[key], rel=1e-9), key


def test_yaw_sweep_gives_its_spread() -> None:
    """A sinusoidal yaw of ±15° has the spread of its angles; pitch stays still. The same from the
    rotations given and from the pose fitted to posed points."""
    t = np.arange(200)
    yaw = 15.0 * np.sin(2 * np.pi * t / 50)
    rotations = np.stack([geometry.angles_to_rotation(y, 0.0, 0.0) for y in yaw])
    seq = still(len(t))
    given = style_statistics(seq, FPS, rotations=rotations)
    assert given["yaw_std"] == pytest.approx(float(yaw.std()), rel=1e-9)
    assert given["yaw_std"] == pytest.approx(15.0 / np.sqrt(2), rel=1e-9)  # whole periods of a sine
    assert given["pitch_std"] == pytest.approx(0.0, abs=1e-9)
    posed = np.einsum("tij,pj->tpi", 80.0 * rotations, geometry.canonical_face()) + 200.0
    fitted = style_statistics(posed, FPS)
    assert fitted["yaw_std"] == pytest.approx(given["yaw_std"], rel=1e-6)
    assert fitted["pitch_std"] == pytest.approx(0.0, abs=1e-6)


def test_canonical_motion_has_no_head_motion() -> None:
    stats = style_statistics(still(30), FPS)
    assert stats["yaw_std"] == pytest.approx(0.0, abs=1e-6)
    assert stats["pitch_std"] == pytest.approx(0.0, abs=1e-6)


def test_planted_blinks_give_the_rate() -> None:
    """12 blinks in 60 s: 12 per minute, from an eye-openness signal and from the eyelids of the points."""
    n = int(60 * FPS)
    starts = list(range(60, n - 60, 120))
    assert len(starts) == 12
    eyes = planted_blinks(n, starts)
    assert style_statistics(still(n), FPS, eye_open=eyes)["blink_rate"] == pytest.approx(12.0)
    c = geometry.canonical_face()
    seq = np.stack([with_eyes(c, e) for e in eyes])
    stats = style_statistics(seq, FPS)
    assert stats["blink_rate"] == pytest.approx(12.0)
    assert stats["eye_open"] == pytest.approx(float(geometry.eye_openness(c).mean()), rel=1e-9)  # median: open
    assert np.ptp(brow_height(seq)) < 1e-12  # measured from the eye corners: a blink does not move it
    assert style_statistics(still(n), FPS)["blink_rate"] == 0.0


def test_raised_brows_raise_brow_height() -> None:
    c = geometry.canonical_face()
    raised = np.array(c)
    raised[list(geometry.RIGHT_BROW + geometry.LEFT_BROW), 1] -= 0.05  # y down: up by 0.05 inter-ocular units
    rise = style_statistics(still(5, raised), FPS)["brow_height"] - style_statistics(still(5), FPS)["brow_height"]
    # The brow sits above, a little outward and in front of the eye corners: most of a vertical rise
    # lengthens the distance (the rest turns it).
    assert 0.04 < rise <= 0.05


def test_rounded_lips_are_rounder_and_narrower() -> None:
    c = geometry.open_mouth(geometry.canonical_face(), 0.1)
    flat, round_ = (style_statistics(still(5, geometry.open_mouth(c, 0.0, rounding=r)), FPS) for r in (0.0, 0.6))
    assert round_["lip_rounding"] > flat["lip_rounding"]
    assert round_["mouth_width"] < flat["mouth_width"]


@pytest.mark.parametrize(
    ("points", "kwargs"),
    [
        (np.zeros((10, 68, 2)), {}),
        (np.zeros((1, 68, 3)), {}),
        (np.full((10, 68, 3), np.nan), {}),
        (None, {"rotations": np.zeros((9, 3, 3))}),
        (None, {"eye_open": np.ones(9)}),
    ],
)
def test_bad_inputs_are_refused(points: np.ndarray | None, kwargs: dict) -> None:
    with pytest.raises(InputError):
        style_statistics(still(10) if points is None else points, FPS, **kwargs)
    with pytest.raises(InputError):
        style_statistics(still(10), 0.0)
