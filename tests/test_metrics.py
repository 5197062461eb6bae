"""Metrics: the paper's style metrics against the authors' reference vectors, every metric on tiny
hand-computed arrays, and invariants (identity, symmetry, translation, scale)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from talkinghead import metrics as M
from talkinghead.errors import InputError
from talkinghead.geometry import canonical_face
from talkinghead.style.pose import PoseTrack

# ---------------------------------------------------------------------------------------------
# Reference vectors from the authors' released scripts (../shared/reference/style_metrics)

VARIANTS = {"as_coded": "authors", "running_mean_fixed": "fixed"}


@pytest.fixture(scope="module")
def reference(shared_dir: Path) -> dict:
    folder = shared_dir / "reference" / "style_metrics"
    if not (folder / "cases.json").is_file() or not (folder / "grid.json").is_file():
        pytest.skip("../shared/reference/style_metrics/ is absent: reference vectors unavailable")
    cases = json.loads((folder / "cases.json").read_text())["cases"]
    grid = json.loads((folder / "grid.json").read_text())["cases"]
    for case in cases:
        case["gt_array"] = np.asarray(case["gt"], np.float64)
        case["gen_array"] = np.asarray(case["gen"], np.float64)
    return {"cases": cases, "grid": grid}


def _style_for(case: dict, variant: str) -> np.ndarray:
    """The authors' fixed numbers window the style over the generated length (their quirk Q3);
    our fixed variant windows each sequence over its own length, so cut the style to T_gen."""
    gt = case["gt_array"]
    return gt if variant == "authors" else gt[: case["T_gen"]]


def _assert_matches(got: np.ndarray, expected: np.ndarray, what: str) -> None:
    """Relative 1e-9, or absolute 1e-9 where the expected value is float round-off of 0."""
    small = np.abs(expected) < 1e-9
    err = np.abs(got - expected)
    assert np.all(err[small] <= 1e-9), what
    rel = err[~small] / np.abs(expected[~small])
    assert np.all(rel <= 1e-9), f"{what}: worst relative error {rel.max():.3g}"


def test_grid_reproduces_every_reference_value(reference: dict) -> None:
    """All 20,976 finite (case, L, s, variant, metric) values of grid.json."""
    n = 0
    for case, grid in zip(reference["cases"], reference["grid"], strict=True):
        assert case["name"] == grid["name"]
        gen = case["gen_array"]
        assert grid["L_values"] == list(range(10, case["T_gen"] + 1))
        assert grid["s_values"] == list(range(1, 20))
        for key, variant in VARIANTS.items():
            for metric in M.STYLE_METRICS:
                expected = np.asarray(grid[key][metric], np.float64)
                got = M.style_metric_grid(
                    gen,
                    _style_for(case, variant),
                    metric=metric,
                    windows=grid["L_values"],
                    strides=grid["s_values"],
                    variant=variant,
                )
                assert np.isfinite(expected).all()
                _assert_matches(got, expected, f"{case['name']} {key} {metric}")
                n += expected.size
    assert n == 20976


def test_selected_pairs_and_released_nan(reference: dict) -> None:
    """cases.json per-pair values through style_metric; (100, 1) is NaN as released."""
    for case in reference["cases"]:
        for key, variant in VARIANTS.items():
            for pair in case["results"][key]["per_pair"]:
                for metric in M.STYLE_METRICS:
                    got = M.style_metric(
                        case["gen_array"],
                        _style_for(case, variant),
                        metric=metric,
                        window=pair["L"],
                        stride=pair["s"],
                        variant=variant,
                    )
                    if pair[metric] is None:
                        assert pair["L"] > case["T_gen"] and math.isnan(got)
                    else:
                        _assert_matches(np.array(got), np.array(pair[metric]), f"{case['name']} {pair}")


def test_full_averages_and_released_nan_aggregate(reference: dict) -> None:
    for case in reference["cases"]:
        for key, variant in VARIANTS.items():
            averages = case["results"][key]["full_average"]
            for metric in M.STYLE_METRICS:
                grid = M.style_metric_grid(case["gen_array"], _style_for(case, variant), metric=metric, variant=variant)
                assert grid.shape == (91, 19)
                assert np.isnan(grid[case["T_gen"] - 10 + 1 :]).all()  # every L > T_gen
                assert math.isnan(grid.mean())  # the released final score (quirk Q4)
                assert averages["default_grid_as_released"][metric] is None
                feasible = averages["feasible_pairs_only"]
                assert np.count_nonzero(np.isfinite(grid)) == feasible["n_pairs"]
                _assert_matches(np.array(np.nanmean(grid)), np.array(feasible[metric]), f"{case['name']} {key}")


def test_fixed_variant_windows_the_style_over_its_own_length(reference: dict) -> None:
    """Uncut style sequences reproduce extra_fixed_gt_own_length (the cases with T_gt > T_gen)."""
    checked = 0
    for case in reference["cases"]:
        extra = case["results"].get("extra_fixed_gt_own_length")
        if extra is None:
            continue
        for pair in extra["per_pair"]:
            for metric in M.STYLE_METRICS:
                got = M.style_metric(
                    case["gen_array"], case["gt_array"], metric=metric, window=pair["L"], stride=pair["s"]
                )
                if pair[metric] is None:
                    assert math.isnan(got)
                else:
                    _assert_matches(np.array(got), np.array(pair[metric]), case["name"])
                    checked += 1
        lo, hi = extra["full_average"]["feasible_pairs_only"]["L_range"]
        for metric in M.STYLE_METRICS:
            grid = M.style_metric_grid(case["gen_array"], case["gt_array"], metric=metric, windows=range(lo, hi + 1))
            _assert_matches(
                np.array(grid.mean()), np.array(extra["full_average"]["feasible_pairs_only"][metric]), "avg"
            )
    assert checked == 2 * 5 * 3


def test_released_values_never_below_fixed_and_identical_gives_zero(reference: dict) -> None:
    for case in reference["cases"]:
        for metric in M.STYLE_METRICS:
            fixed = M.style_metric_grid(
                case["gen_array"], _style_for(case, "fixed"), metric=metric, windows=range(10, case["T_gen"] + 1)
            )
            authors = M.style_metric_grid(
                case["gen_array"],
                case["gt_array"],
                metric=metric,
                windows=range(10, case["T_gen"] + 1),
                variant="authors",
            )
            assert np.all(authors >= fixed - 1e-12)
            if case["name"] == "identical":
                # the released bug (Q1): not 0 as soon as there are 2 generated windows to average
                windows = np.arange(10, case["T_gen"] + 1)[:, None]
                several = case["T_gen"] - windows >= np.arange(1, 20)[None, :]
                assert np.all(fixed == 0.0)
                assert np.all(authors[several] > 0.0) and np.all(authors[~several] == 0.0)
            if case["name"] == "translated":
                assert np.all(np.abs(fixed) < 1e-12)


def test_authors_variant_rejects_a_style_shorter_than_the_generated(reference: dict) -> None:
    case = next(c for c in reference["cases"] if c["T_gt"] > c["T_gen"])
    with pytest.raises(InputError, match="at least as long"):
        M.style_metric(case["gt_array"], case["gen_array"], metric="sld", window=10, stride=1, variant="authors")
    # the fixed variant handles it
    assert math.isfinite(M.style_metric(case["gt_array"], case["gen_array"], metric="sld", window=10, stride=1))


# ---------------------------------------------------------------------------------------------
# Tiny hand-computed sequences
#
# Face B: point p at (p mod 11, p div 11) — x-extent 10 px, bounding-box corner (0, 0) — with the
# inner lips 60..67 replaced by a hexagon of area 6 px²: rectangle 4..6 × 3..5 (4) plus two
# triangles of base 2 and height 1 (1 each). B1 is B with point 60 moved by (3, −4): 5 px.

INNER_HEXAGON = [(3, 4), (4, 3), (5, 3), (6, 3), (7, 4), (6, 5), (5, 5), (4, 5)]


def _face() -> np.ndarray:
    p = np.arange(68)
    face = np.stack([p % 11, p // 11], axis=1).astype(np.float64)
    face[60:68] = INNER_HEXAGON
    return face


def _moved() -> np.ndarray:
    face = _face()
    face[60] += (3.0, -4.0)  # (3, 4) → (6, 0): stays inside the bounding box
    return face


# Per-frame distances between B1 and B, by hand:
#  SLD: one of 68 points moves 5 px / width 10 = 0.5 → 100 · 0.5 / 68
#  SMD: the mouth centroid moves 5/20 px; the moved point is then 19/20 · 5 off, the other 19
#       mouth points 1/20 · 5 each → (19/20 · 5 + 19 · 5/20) / 20 = 0.475 px
E_SLD = 100 * 0.5 / 68
E_SMD = 0.475


def test_style_metrics_by_hand() -> None:
    b, b1 = _face(), _moved()
    style = np.stack([b, b, b])
    gen_late = np.stack([b, b1, b])  # generated windows (b, b1), (b1, b) — each one bad frame
    gen_early = np.stack([b1, b, b])  # windows (b1, b), (b, b) — the second is a perfect match

    # window 2, stride 1: starts {0, 1} in both; every style window is (b, b)
    assert M.style_metric(gen_late, style, metric="sld", window=2, stride=1) == pytest.approx(E_SLD / 2, rel=1e-12)
    assert M.style_metric(gen_late, style, metric="smd", window=2, stride=1) == pytest.approx(E_SMD / 2, rel=1e-12)
    assert M.style_metric(gen_early, style, metric="sld", window=2, stride=1) == 0.0
    # released running mean: candidates E/2 then (E/2 + 0)/2 → minimum E/4
    assert M.style_metric(gen_early, style, metric="sld", window=2, stride=1, variant="authors") == pytest.approx(
        E_SLD / 4, rel=1e-12
    )
    assert M.style_metric(gen_early, style, metric="smd", window=2, stride=1, variant="authors") == pytest.approx(
        E_SMD / 4, rel=1e-12
    )

    # SLV: the style does not move; generated velocities are (b − b1)/10 on point 60 (0.5 → E_SLD),
    # then 0. A 2-frame window holds one velocity: candidates E and 0.
    assert M.style_metric(gen_early, style, metric="slv", window=2, stride=1) == 0.0
    assert M.style_metric(gen_early, style, metric="slv", window=2, stride=1, variant="authors") == pytest.approx(
        E_SLD / 2, rel=1e-12
    )
    # window 3 = the whole clip: one pair of windows, two velocities (E, 0) → E/2, both variants
    for variant in ("fixed", "authors"):
        assert M.style_metric(gen_early, style, metric="slv", window=3, stride=1, variant=variant) == pytest.approx(
            E_SLD / 2, rel=1e-12
        )
        assert M.style_metric(gen_early, style, metric="sld", window=3, stride=1, variant=variant) == pytest.approx(
            E_SLD / 3, rel=1e-12
        )
    # stride 2 on 3 frames with window 2: starts {0} only
    assert M.style_metric(gen_early, style, metric="sld", window=2, stride=2) == pytest.approx(E_SLD / 2, rel=1e-12)
    # too long a window: no window fits, NaN as released
    assert math.isnan(M.style_metric(gen_early, style, metric="sld", window=4, stride=1))


def test_frame_distance_matrix_by_hand() -> None:
    b, b1 = _face(), _moved()
    d = M.frame_distance_matrix(np.stack([b, b1]), np.stack([b, b, b1]), metric="smd")
    assert d.shape == (3, 2)
    np.testing.assert_allclose(d, [[0, E_SMD], [0, E_SMD], [E_SMD, 0]], atol=1e-12)
    v = M.frame_distance_matrix(np.stack([b, b1]), np.stack([b, b, b1]), metric="slv")
    np.testing.assert_allclose(v, [[E_SLD], [0]], atol=1e-12)


def test_style_scores_shrinks_a_too_long_window_and_never_returns_nan() -> None:
    b, b1 = _face(), _moved()
    scores = M.style_scores(np.stack([b1, b, b]), np.stack([b, b, b, b]))
    assert scores["window"] == 3 and scores["stride"] == M.DEFAULT_STRIDE
    assert "shrunk from 25 to 3" in scores["note"] and "generated" in scores["note"]
    assert scores["sld"] == pytest.approx(E_SLD / 3, rel=1e-12)
    assert scores["slv"] == pytest.approx(E_SLD / 2, rel=1e-12)
    assert scores["smd"] == pytest.approx(E_SMD / 3, rel=1e-12)

    long = np.stack([b] * 40)
    full = M.style_scores(long, long)
    assert full["note"] == "" and full["window"] == 25
    assert full["sld"] == full["slv"] == full["smd"] == 0.0
    with pytest.raises(InputError, match="at least 2"):
        M.style_scores(long[:1], long)


def test_frame_metrics_by_hand() -> None:
    b, b1 = _face(), _moved()
    gen, ref = np.stack([b1, b]), np.stack([b, b])
    assert M.lmd(gen, ref) == pytest.approx(E_SMD / 2, rel=1e-12)
    assert M.landmark_distance(gen, ref) == pytest.approx(E_SLD / 2, rel=1e-12)
    # only the jaw and lip points (37 of them; point 60 is a lip point), mean over the 2 frames
    assert M.landmark_distance(gen, ref, points=M.JAW_LIPS) == pytest.approx(100 * 0.5 / 37 / 2, rel=1e-12)
    assert M.landmark_distance(gen, ref, points=[60]) == pytest.approx(100 * 0.5 / 2, rel=1e-12)
    # one velocity: point 60 moves by (−3, 4) in the generated, 0 in the reference: 5/10 = 0.5
    assert M.velocity_difference(gen, ref) == pytest.approx(E_SLD, rel=1e-12)

    # open mouth: hexagon of area 6 px²; lowering 65..67 by 1 px gives 4 + 2 · 1.5 = 9 px².
    opened = b.copy()
    opened[65:68, 1] += 1.0
    np.testing.assert_allclose(M.open_mouth_area(np.stack([b, opened])), [6 / 100, 9 / 100], rtol=1e-12)
    # D-A = 100 · (|9 − 6| + 0) / (6 + 6) = 25 %
    assert M.mouth_area_difference(np.stack([opened, b]), np.stack([b, b])) == pytest.approx(25.0, rel=1e-12)
    # relative to the reference, so not symmetric: 100 · 3 / (9 + 6) = 20 %
    assert M.mouth_area_difference(np.stack([b, b]), np.stack([opened, b])) == pytest.approx(20.0, rel=1e-12)

    scores = M.frame_scores(np.stack([opened, b]), np.stack([b, b]))
    assert set(scores) == {"lmd", "d_l", "d_v", "d_a"} and scores["d_a"] == pytest.approx(25.0)

    closed = b.copy()
    closed[65:68] = closed[61:64][::-1]  # lower inner lip on the upper one (y = 3) …
    closed[60, 1] = closed[64, 1] = 3.0  # … and the corners too: a flat polygon, area 0
    assert M.open_mouth_area(closed[None])[0] == 0.0
    with pytest.raises(InputError, match="closed in every frame"):
        M.mouth_area_difference(np.stack([b, b]), np.stack([closed, closed]))


def test_lip_sync_measures_by_hand() -> None:
    opening = np.array([0.0, 1.0, 0.0, 0.0])
    energy = np.array([1.0, 0.0, 0.0, 0.0])  # the mouth opens one frame after the sound
    lags, corr = M.lag_correlations(opening, energy, 1)
    assert lags.tolist() == [-1, 0, 1]
    # lag −1: energy[1:] is constant → 0; lag 0: means 1/4, dot −1/4, both norms² 3/4 → −1/3; lag 1: 1
    np.testing.assert_allclose(corr, [0.0, -1.0 / 3.0, 1.0], atol=1e-12)
    # 40 ms at 25 fps = 1 frame; 80 ms would be 2 frames, too many for 4 frames (overlap < 3)
    assert M.mouth_opening_energy_correlation(opening, energy, fps=25, max_lag_ms=40) == pytest.approx(1.0)
    assert M.mouth_opening_energy_correlation(opening, energy, fps=25, max_lag_ms=39) == pytest.approx(-1 / 3)
    with pytest.raises(InputError, match="too short"):
        M.mouth_opening_energy_correlation(opening, energy, fps=25)

    # default 80 ms = ±2 frames at 25 fps: a 2-frame delay is found, a 3-frame one is not
    rng = np.random.default_rng(0)
    e = rng.random(100)
    assert M.mouth_opening_energy_correlation(np.roll(e, 2), e, fps=25) > 0.95
    assert M.mouth_opening_energy_correlation(np.roll(e, 3), e, fps=25) < 0.5
    assert M.mouth_opening_energy_correlation(np.zeros(100), e, fps=25) == 0.0

    opening = np.array([0.3, 0.2, 0.1, 0.0, 0.0, 0.2, 0.3, 0.01])
    silent = np.array([False, False, True, True, True, True, False, True])
    # silent runs: frames 2..5 (4 frames) and 7 (1 frame, too short); skip 2 settling frames →
    # frames 4, 5 → closed, open
    assert M.silence_closure_rate(opening, silent) == 0.5
    # no settling: frames 2..5 → open, closed, closed, open
    assert M.silence_closure_rate(opening, silent, settle_frames=0) == 0.5
    # every silent frame: 2, 3, 4, 5, 7 → closed 3, 4, 7
    assert M.silence_closure_rate(opening, silent, settle_frames=0, min_silence_frames=1) == pytest.approx(0.6)
    assert M.silence_closure_rate(opening, silent, threshold=0.25) == 1.0
    with pytest.raises(InputError, match="No silent stretch"):
        M.silence_closure_rate(opening, np.zeros(8, bool))
    with pytest.raises(InputError, match="boolean"):
        M.silence_closure_rate(opening, silent.astype(int))


# ---------------------------------------------------------------------------------------------
# CPBD


def _edge_image(profile: list[int]) -> np.ndarray:
    """64×64 grey image whose every row is 0 up to column 31, then ``profile``, then its last
    value; the bottom-left pixel is 1, far below every threshold, so that one gradient angle is
    not 0 (the ported code measures no width at all when every angle is 0)."""
    row = np.zeros(64, np.uint8)
    row[32 : 32 + len(profile)] = profile
    row[32 + len(profile) :] = profile[-1]
    image = np.tile(row, (64, 1))
    image[63, 0] = 1
    return image


def test_cpbd_by_hand() -> None:
    # 0 | 100 | 200: Sobel response (I[c+1] − I[c−1])/2 = 50, 100, 50 → one thinned edge column
    # (32). Intensity rises (angle 0); the ramp stops at once on both sides → width 1 + 1 = 2.
    # Contrast 200 > 50 → just-noticeable width 3: P_blur = 1 − exp(−(2/3)^3.6) = 0.207 → bucket
    # 21 ≤ 63: every edge counts as sharp → CPBD 1.
    sharp = _edge_image([100, 200])
    assert 1 - math.exp(-((2 / 3) ** 3.6)) == pytest.approx(0.2073, abs=1e-4)
    assert M.cpbd(sharp) == 1.0
    # 0 | 20 120 180 | 200: response 10, 60, 80, 40, 10 → edge at column 33 (80), the ramp goes
    # one more pixel each way → width 2 + 2 = 4: P_blur = 1 − exp(−(4/3)^3.6) = 0.940 → bucket 94
    # > 63: every edge is blurred → CPBD 0.
    blurred = _edge_image([20, 120, 180, 200])
    assert 1 - math.exp(-((4 / 3) ** 3.6)) == pytest.approx(0.940, abs=1e-3)
    assert M.cpbd(blurred) == 0.0
    # RGB goes through Pillow's luma; a grey RGB image scores as its grey channel
    assert M.cpbd(np.repeat(sharp[..., None], 3, axis=2)) == 1.0
    assert M.cpbd(np.full((64, 64), 128, np.uint8)) == 0.0  # no edge block
    pure = sharp.copy()
    pure[63, 0] = 0
    assert M.cpbd(pure) == 0.0  # the port's quirk: every gradient angle is 0 → no widths
    with pytest.raises(InputError, match="64×64 blocks"):
        M.cpbd(np.zeros((63, 200), np.uint8))
    with pytest.raises(InputError, match="uint8"):
        M.cpbd(sharp.astype(np.float32))


def _cpbd_scene() -> np.ndarray:
    """192×256 checkerboard and diagonal stripes, box-blurred by 1, 3, 5, 9 px in four column
    bands; integer arithmetic only, so it is bit-identical everywhere."""
    y, x = np.mgrid[0:192, 0:256]
    img = np.where(((x // 12) + (y // 12)) % 2 == 0, 30, 220).astype(np.int64)
    img = np.where(y >= 128, np.where(((x + 2 * y) // 10) % 2 == 0, 60, 180), img)
    out = img.copy()
    for band, k in enumerate((1, 3, 5, 9)):
        c = np.cumsum(np.pad(img, ((0, 0), (k // 2 + 1, k // 2)), mode="edge"), axis=1)
        out[:, 64 * band : 64 * (band + 1)] = ((c[:, k:] - c[:, :-k]) // k)[:, 64 * band : 64 * (band + 1)]
    return out.astype(np.uint8)


def test_cpbd_matches_the_reference_package() -> None:
    """Values of ``cpbd.compute`` (PyPI cpbd 1.0.7, scikit-image 0.26) on the same image."""
    scene = _cpbd_scene()
    assert int(scene.astype(np.int64).sum()) == 6051317
    assert M.cpbd(scene) == pytest.approx(0.4680672268907563, abs=1e-12)
    expected_bands = [1.0, 0.9981447124304267, 1.0, 0.0]
    for band, expected in enumerate(expected_bands):
        assert M.cpbd(np.ascontiguousarray(scene[:, 64 * band : 64 * (band + 1)])) == pytest.approx(expected, abs=1e-12)


# ---------------------------------------------------------------------------------------------
# Invariants on plausible talking sequences


def _talking(t: int, seed: int, *, depth: bool = False) -> np.ndarray:
    """A canonical face in a 512² frame with mouth motion, head drift and per-point jitter."""
    rng = np.random.default_rng(seed)
    face = canonical_face()[:, : 3 if depth else 2] * 90.0
    frames = np.repeat(face[None], t, axis=0)
    opening = 8.0 * (1 + np.sin(np.arange(t) / 2.0 + seed))
    frames[:, 56:60, 1] += opening[:, None]  # lower outer lip
    frames[:, 65:68, 1] += opening[:, None]  # lower inner lip
    frames[:, :, :2] += 256.0 + rng.normal(0, 4, (t, 1, 2)).cumsum(0)
    frames += rng.normal(0, 0.6, frames.shape)
    return frames


def test_identical_sequences_score_zero() -> None:
    a = _talking(30, 1)
    for metric in M.STYLE_METRICS:
        assert M.style_metric(a, a, metric=metric, window=10, stride=3) == 0.0
    assert M.lmd(a, a) == M.landmark_distance(a, a) == M.velocity_difference(a, a) == 0.0
    assert M.mouth_area_difference(a, a) == 0.0


def test_symmetric_frame_metrics() -> None:
    a, b = _talking(20, 1), _talking(20, 2)
    for f in (M.lmd, M.landmark_distance, M.velocity_difference):
        assert f(a, b) == pytest.approx(f(b, a), rel=1e-12) and f(a, b) > 0


def test_per_frame_translation_of_either_input_changes_nothing() -> None:
    a, b = _talking(24, 1), _talking(30, 2)
    rng = np.random.default_rng(5)
    a2 = a + rng.normal(0, 30, (24, 1, 2))
    b2 = b + rng.normal(0, 30, (30, 1, 2))
    for metric in M.STYLE_METRICS:
        for variant in ("fixed", "authors"):
            want = M.style_metric(a, b, metric=metric, window=8, stride=2, variant=variant)
            assert M.style_metric(a2, b2, metric=metric, window=8, stride=2, variant=variant) == pytest.approx(
                want, rel=1e-9
            )
    b, b2 = b[:24], b2[:24]
    for f in (M.lmd, M.landmark_distance, M.velocity_difference, M.mouth_area_difference):
        assert f(a2, b2) == pytest.approx(f(a, b), rel=1e-9)
        assert f(a2, b) == pytest.approx(f(a, b), rel=1e-9)


def test_scale_behaviour() -> None:
    """SLD, SLV, D-L, D-V, D-A divide by the face width; SMD and LMD are in pixels."""
    a, b = _talking(20, 3), _talking(20, 4)
    c = 1.7
    for metric, power in (("sld", 0), ("slv", 0), ("smd", 1)):
        want = M.style_metric(a, b, metric=metric, window=6, stride=2)
        assert M.style_metric(c * a, c * b, metric=metric, window=6, stride=2) == pytest.approx(
            c**power * want, rel=1e-9
        )
    assert M.lmd(c * a, c * b) == pytest.approx(c * M.lmd(a, b), rel=1e-9)
    for f in (M.landmark_distance, M.velocity_difference, M.mouth_area_difference):
        assert f(c * a, c * b) == pytest.approx(f(a, b), rel=1e-9)
    # D-L and D-A normalise every frame on its own: a per-frame zoom of one input is free
    zoom = np.linspace(0.8, 1.2, 20)[:, None, None]
    assert M.landmark_distance(zoom * a, b) == pytest.approx(M.landmark_distance(a, b), rel=1e-9)
    assert M.mouth_area_difference(zoom * a, b) == pytest.approx(M.mouth_area_difference(a, b), rel=1e-9)


def test_depth_is_ignored() -> None:
    a3, b3 = _talking(20, 1, depth=True), _talking(26, 2, depth=True)
    a2, b2 = a3[..., :2], b3[..., :2]
    assert M.style_scores(a3, b3, window=8, stride=2) == M.style_scores(a2, b2, window=8, stride=2)
    assert M.frame_scores(a3, b3[:20]) == M.frame_scores(a2, b2[:20])


def test_variants_agree_with_a_single_generated_window_and_fixed_is_never_worse() -> None:
    gen, style = _talking(25, 6), _talking(40, 7)
    for metric in M.STYLE_METRICS:
        # stride > T_gen − window: one generated window, nothing to take a running mean over
        fixed = M.style_metric(gen, style[:25], metric=metric, window=12, stride=14)
        authors = M.style_metric(gen, style, metric=metric, window=12, stride=14, variant="authors")
        assert fixed == pytest.approx(authors, rel=1e-12)
        grid_fixed = M.style_metric_grid(gen, style[:25], metric=metric, windows=range(2, 26), strides=range(1, 6))
        grid_authors = M.style_metric_grid(
            gen, style, metric=metric, windows=range(2, 26), strides=range(1, 6), variant="authors"
        )
        assert np.isfinite(grid_fixed).all() and np.all(grid_authors >= grid_fixed - 1e-12)
        # the grid agrees with one call per cell
        assert grid_fixed[8, 2] == pytest.approx(
            M.style_metric(gen, style[:25], metric=metric, window=10, stride=3), rel=1e-12
        )


def test_a_planted_style_window_is_found() -> None:
    """The minimum over generated windows: a generated clip that contains the style clip scores 0."""
    style = _talking(20, 8)
    gen = np.concatenate([_talking(13, 9), style, _talking(7, 10)])
    for metric in M.STYLE_METRICS:
        # generated starts 0, 13, 26; style start 0 → the window at 13 is an exact match
        assert M.style_metric(gen, style, metric=metric, window=20, stride=13) == 0.0
        assert M.style_metric(gen, style, metric=metric, window=20, stride=5) > 0.0


# ---------------------------------------------------------------------------------------------
# The scores a request reports (canonical-frame motion)


def _head(angles: list[list[float]], log_scale: list[float]) -> PoseTrack:
    t = len(angles)
    return PoseTrack(np.array(angles), np.zeros((t, 3)), np.array(log_scale), fps=25.0)


def test_with_head_motion_rotates_and_scales_each_frame():
    phi = np.repeat(canonical_face()[None], 3, 0)
    track = _head([[0.0, 0.0, 0.0], [0.0, 0.0, 90.0], [0.0, 0.0, 0.0]], np.log([1.0, 1.0, 2.0]).tolist())
    out = M.with_head_motion(phi, track)
    np.testing.assert_allclose(out[0], phi[0], atol=1e-12)
    # roll +90°: (x, y) → (−y, x), the face turned a quarter clockwise on screen
    np.testing.assert_allclose(out[1][:, 0], -phi[1][:, 1], atol=1e-12)
    np.testing.assert_allclose(out[1][:, 1], phi[1][:, 0], atol=1e-12)
    np.testing.assert_allclose(out[2], 2.0 * phi[2], atol=1e-12)
    np.testing.assert_array_equal(M.with_head_motion(phi, None), phi)
    with pytest.raises(ValueError, match="frames"):
        M.with_head_motion(phi[:2], track)


def test_request_scores_are_the_style_metrics_in_crop_pixels():
    gen_px, style_px = _talking(30, 2, depth=True), _talking(40, 1, depth=True)
    unstyled, style = gen_px / M.METRIC_SCALE, style_px / M.METRIC_SCALE  # canonical-frame units
    styled = style[:30]  # the clip's own first 30 frames
    still = _head([[0.0, 0.0, 0.0]] * 40, [0.0] * 40)
    scores = M.request_scores(unstyled, styled, style, head=_head([[0.0, 0.0, 0.0]] * 30, [0.0] * 30), style_head=still)
    assert set(scores) == {"before", "after", "before_with_head", "after_with_head"}
    in_pixels = M.style_scores(gen_px, style_px)
    assert scores["before"] == {name.upper(): pytest.approx(in_pixels[name]) for name in M.STYLE_METRICS}
    # a still head on both sides: the scores with head motion are the pose-free ones
    assert scores["before_with_head"] == pytest.approx(scores["before"])
    assert scores["after_with_head"] == pytest.approx(scores["after"])
    assert scores["after"]["SMD"] < scores["before"]["SMD"]


# ---------------------------------------------------------------------------------------------
# Bad input


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda a: M.style_metric(a[:, :60], a, metric="sld", window=5, stride=1), r"\(T, 68, 2\)"),
        (lambda a: M.style_metric(a, a, metric="lmd", window=5, stride=1), "Unknown style metric"),
        (lambda a: M.style_metric(a, a, metric="sld", window=1, stride=1), "at least 2"),
        (lambda a: M.style_metric(a, a, metric="sld", window=5, stride=0), "stride"),
        (lambda a: M.style_metric(a, a, metric="sld", window=5.0, stride=1), "window"),
        (lambda a: M.style_metric(a, a, metric="sld", window=5, stride=1, variant="paper"), "variant"),
        (lambda a: M.style_metric_grid(a, a, metric="sld", windows=[]), "at least one"),
        (lambda a: M.lmd(a, a[:-1]), "same frame count"),
        (lambda a: M.velocity_difference(a[:1], a[:1]), "at least 2"),
        (lambda a: M.landmark_distance(a, a, points=[68]), "0..67"),
        (lambda a: M.lmd(np.where(np.arange(68)[None, :, None] == 3, np.nan, a), a), "NaN"),
        (lambda a: M.landmark_distance(a * np.array([0.0, 1.0]), a), "zero face width"),
    ],
)
def test_bad_input_says_what_to_do(call, message: str) -> None:
    with pytest.raises(InputError, match=message):
        call(_talking(10, 0))
