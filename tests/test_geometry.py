"""Geometry on 68×3 landmarks: the canonical face, Umeyama/pose, eq. 1–2, features, crops."""

from __future__ import annotations

import numpy as np
import pytest

from talkinghead import geometry as g
from talkinghead.face.plausibility import MIRROR_68


def _random_rotation(rng: np.random.Generator) -> np.ndarray:
    q, r = np.linalg.qr(rng.normal(size=(3, 3)))
    q = q * np.sign(np.diag(r))
    if np.linalg.det(q) < 0:
        q[:, 0] = -q[:, 0]
    return q


@pytest.fixture(scope="module")
def can() -> np.ndarray:
    return g.canonical_face()


# ---------------------------------------------------------------------------- canonical face


def test_canonical_face_file(can):
    from importlib import resources

    with resources.files("talkinghead.data").joinpath("canonical_face_68.npy").open("rb") as fh:
        raw = np.load(fh)
    assert raw.dtype == np.float32 and raw.shape == (68, 3)
    assert can.shape == (68, 3) and np.isfinite(can).all()
    assert not can.flags.writeable


def test_canonical_face_is_normalised_symmetric_and_frontal(can):
    np.testing.assert_allclose(can.mean(0), 0.0, atol=1e-6)
    assert np.linalg.norm(can[45] - can[36]) == pytest.approx(1.0, abs=1e-6)
    mirrored = can[MIRROR_68] * [-1.0, 1.0, 1.0]
    np.testing.assert_allclose(mirrored, can, atol=1e-6)  # exact left-right symmetry about x = 0
    assert can[36, 1] == pytest.approx(can[45, 1], abs=1e-6)  # eyes level
    assert can[36, 0] < 0 < can[45, 0]  # subject's right eye on the image left
    assert can[30, 2] < can[0, 2]  # nose tip nearer the camera than the jaw ends
    assert can[8, 1] > can[57, 1] > can[33, 1] > can[39, 1] > can[19, 1]  # chin, lip, nose, eye, brow
    yaw, pitch, roll = g.fit_pose(can).angles()
    assert max(abs(yaw), abs(pitch), abs(roll)) < 1e-6


def test_canonical_face_proportions(can):
    # Typical adult proportions in outer-eye-corner units (anthropometric means ≈ these ±20 %)
    assert 0.55 < np.linalg.norm(can[54] - can[48]) < 0.8  # mouth width
    assert 1.3 < np.linalg.norm(can[16] - can[0]) < 1.8  # face width at the temples
    assert 1.0 < can[8, 1] - can[27, 1] < 1.5  # nasion to chin
    assert 0.2 < g.eye_openness(can).mean() < 0.4  # open eyes


# ------------------------------------------------------------------------------ pose fitting


@pytest.mark.parametrize("noise", [0.0, 0.01])
def test_umeyama_recovers_a_similarity(can, noise):
    rng = np.random.default_rng(3)
    for _ in range(5):
        rot, s, t = _random_rotation(rng), rng.uniform(20, 300), rng.uniform(-500, 500, 3)
        dst = s * can @ rot.T + t + rng.normal(0, noise * s, can.shape)
        s2, rot2, t2 = g.umeyama(can, dst)
        tol = 1e-9 if noise == 0 else 0.02
        assert np.linalg.det(rot2) == pytest.approx(1.0)
        np.testing.assert_allclose(rot2, rot, atol=tol)
        assert s2 == pytest.approx(s, rel=tol)
        np.testing.assert_allclose(t2, t, atol=tol * s + 1e-6)


def test_umeyama_rejects_mismatched_shapes(can):
    with pytest.raises(ValueError):
        g.umeyama(can, can[:10])


@pytest.mark.parametrize("angles", [(0, 0, 0), (25, -10, 5), (-40, 15, -20), (10, 30, 45)])
def test_fit_pose_recovers_the_pose(can, angles):
    pose = g.Pose.from_angles(*angles, translation=np.array([320.0, 240.0, 7.0]), scale=150.0)
    fitted = g.fit_pose(pose.apply(can))
    np.testing.assert_allclose(fitted.angles(), angles, atol=1e-6)
    np.testing.assert_allclose(fitted.translation, pose.translation, atol=1e-6)
    assert fitted.scale == pytest.approx(150.0)


def test_fit_pose_ignores_the_mouth(can):
    pose = g.Pose.from_angles(20, -5, 3, translation=np.array([100.0, 100.0, 0.0]), scale=90.0)
    face = can.copy()
    face[list(g.MOUTH), 1] += 0.3  # a wide-open mouth
    face[list(range(5, 12)), 1] += 0.25
    np.testing.assert_allclose(g.fit_pose(pose.apply(face)).angles(), (20, -5, 3), atol=1e-6)


def test_fit_pose_rejects_bad_input(can):
    with pytest.raises(ValueError):
        g.fit_pose(can[:60])
    bad = can.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError):
        g.fit_pose(bad)


def test_angles_round_trip():
    rng = np.random.default_rng(5)
    for yaw, pitch, roll in rng.uniform([-80, -80, -170], [80, 80, 170], (50, 3)):
        r = g.angles_to_rotation(yaw, pitch, roll)
        np.testing.assert_allclose(r @ r.T, np.eye(3), atol=1e-12)
        assert np.linalg.det(r) == pytest.approx(1.0)
        np.testing.assert_allclose(g.rotation_to_angles(r), (yaw, pitch, roll), atol=1e-9)


def test_angle_signs(can):
    """Positive yaw turns the nose toward the image's left; positive pitch moves the nose tip
    down on screen (Rx with y down, z away); positive roll turns the face clockwise on screen
    (the right eye, on the image's left, goes up)."""
    def moved(yaw=0.0, pitch=0.0, roll=0.0):
        return g.Pose.from_angles(yaw, pitch, roll, translation=np.zeros(3), scale=1.0).apply(can)

    assert moved(yaw=20)[30, 0] < moved()[30, 0]
    assert moved(pitch=20)[30, 1] > moved()[30, 1]
    assert moved(roll=20)[36, 1] < moved(roll=20)[45, 1]


# ------------------------------------------------------------------------ paper eq. 1 and 2


def test_apply_style_identity_returns_the_canonical(can):
    identity = g.Pose(np.eye(3), np.zeros(3), 1.0)
    np.testing.assert_allclose(g.apply_style(can, identity, np.zeros_like(can)), can, atol=1e-12)


def test_expression_is_the_residual(can):
    rng = np.random.default_rng(7)
    eps = np.zeros_like(can)
    eps[list(g.MOUTH)] = rng.normal(0, 0.05, (len(g.MOUTH), 3))  # expression moves the mouth only
    pose = g.Pose.from_angles(15, -8, 4, translation=np.array([200.0, 180.0, 0.0]), scale=120.0)
    face = pose.apply(can + eps)
    fitted = g.fit_pose(face)
    np.testing.assert_allclose(g.expression(face, fitted), eps, atol=1e-9)
    # eq. 2: that expression and pose on another identity
    other = can * [1.05, 0.95, 1.0]
    styled = g.apply_style(other, fitted, eps)
    np.testing.assert_allclose(styled, pose.apply(other + eps), atol=1e-9)


# ------------------------------------------------------------------------------ features


def test_mouth_features_are_pose_and_scale_free(can):
    face = can.copy()
    face[list(g.UPPER_INNER_LIP), 1] -= 0.04
    face[list(g.LOWER_INNER_LIP), 1] += 0.06
    ref = g.mouth_features(face).as_array()
    assert ref[0] == pytest.approx(g.mouth_features(can).opening + 0.1, abs=0.02)
    for angles, scale in (((30, 10, -15), 400.0), ((-20, -15, 40), 3.0)):
        posed = g.Pose.from_angles(*angles, translation=np.array([50.0, -20.0, 9.0]), scale=scale).apply(face)
        np.testing.assert_allclose(g.mouth_features(posed).as_array(), ref, rtol=1e-9)
    batch = np.stack([can, face])
    assert g.mouth_features(batch).as_array().shape == (2, 5)


def test_open_mouth_parts_the_lips_and_close_mouth_brings_them_together(can):
    opened = g.open_mouth(can, 0.2)
    assert g.mouth_features(opened).opening > g.mouth_features(can).opening + 0.15
    closed = g.close_mouth(opened)
    for up, lo in g.INNER_LIP_PAIRS:
        assert closed[lo, 1] <= closed[up, 1] + 1e-12  # no gap left between the inner lips
    rigid = list(g.RIGID)
    np.testing.assert_array_equal(closed[rigid], can[rigid])  # only the mouth and jaw move
    shut = g.close_mouth(closed)  # a closed mouth is returned unchanged
    np.testing.assert_array_equal(shut, closed)


def test_eye_openness_closes(can):
    closed = can.copy()
    for top, bottom in ((37, 41), (38, 40), (43, 47), (44, 46)):
        mid = (closed[top] + closed[bottom]) / 2
        closed[top] = closed[bottom] = mid
    assert (g.eye_openness(closed) < 0.02).all()
    assert (g.eye_openness(can) > 0.2).all()


# ------------------------------------------------------------------------------------ crops


def test_align_face_levels_the_eyes(can):
    spec = g.CropSpec()
    pose = g.Pose.from_angles(0, 0, 25, translation=np.array([400.0, 300.0, 0.0]), scale=140.0)
    face = pose.apply(can)
    image = np.zeros((600, 800, 3), np.uint8)
    crop, m = g.align_face(image, face, spec)
    assert crop.shape == (spec.size, spec.size, 3) and m.shape == (2, 3)
    q = g.transform_points(face, m)
    eye_r, eye_l = q[36:42, :2].mean(0), q[42:48, :2].mean(0)
    assert eye_r[1] == pytest.approx(eye_l[1], abs=1e-6)  # level
    np.testing.assert_allclose((eye_r + eye_l) / 2, [0.5 * spec.size, spec.eye_y * spec.size], atol=1e-6)
    assert np.linalg.norm(q[45, :2] - q[36, :2]) == pytest.approx(spec.eye_distance * spec.size, rel=1e-6)
    # z is scaled with the crop
    assert q[30, 2] == pytest.approx(face[30, 2] * spec.eye_distance * spec.size / 140.0, rel=1e-6)


def test_align_face_moves_pixels_with_the_points(can):
    pose = g.Pose.from_angles(0, 0, -15, translation=np.array([200.0, 150.0, 0.0]), scale=80.0)
    face = pose.apply(can)
    image = np.zeros((300, 400, 3), np.uint8)
    x, y = np.round(face[30, :2]).astype(int)
    image[y - 2 : y + 3, x - 2 : x + 3] = 255  # a white dot on the nose tip
    crop, m = g.align_face(image, face, g.CropSpec(size=256))
    nx, ny = g.transform_points(face[30:31, :2], m)[0]
    ys, xs = np.nonzero(crop[..., 0] > 100)
    assert abs(xs.mean() - nx) < 1.0 and abs(ys.mean() - ny) < 1.0


def test_invert_affine_round_trips():
    rng = np.random.default_rng(11)
    m = np.hstack([rng.normal(size=(2, 2)) + 2 * np.eye(2), rng.normal(size=(2, 1)) * 50])
    pts = rng.uniform(0, 500, (68, 2))
    back = g.transform_points(g.transform_points(pts, m), g.invert_affine(m))
    np.testing.assert_allclose(back, pts, atol=1e-9)


def test_crop_transform_rejects_tiny_faces(can):
    with pytest.raises(ValueError, match="too small"):
        g.crop_transform(can * 1.0)  # eyes 1 px apart


def test_a_crop_past_the_picture_shows_a_smooth_darker_fill_not_a_mirror():
    """A face at the picture's left and bottom edges: the crop's part outside the picture holds
    the edge colours spread smoothly and darkened, never a mirrored copy of the face."""
    import cv2
    import skimage.data

    from talkinghead.face import get_landmarker

    image = skimage.data.astronaut()
    points = get_landmarker().detect(image).points
    cut = np.ascontiguousarray(image[: int(points[8, 1]) + 5, int(points[0, 0]) + 10 :])
    pts = get_landmarker().detect(cut).points
    crop, m = g.align_face(cut, pts)
    size = crop.shape[0]
    inside = cv2.warpAffine(np.ones(cut.shape[:2], np.float32), m, (size, size), borderValue=0.0)
    outside = cv2.erode((inside < 0.5).astype(np.uint8), np.ones((9, 9), np.uint8)) > 0
    assert outside.mean() > 0.2  # the test portrait really reaches past its picture
    mirrored = cv2.warpAffine(cut, m, (size, size), borderMode=cv2.BORDER_REFLECT101)

    def roughness(a: np.ndarray) -> float:  # mean gradient magnitude outside the picture
        gy, gx = np.gradient(a.astype(np.float32).mean(-1))
        return float(np.hypot(gx, gy)[outside].mean())

    assert roughness(crop) < 0.5 < 3.0 < roughness(mirrored)
    edge_colour = cut[-5:].reshape(-1, 3).mean(0)
    below = crop[outside & (np.arange(size)[:, None] > 0.9 * size)].mean(0)  # the fill under the chin
    assert (below < edge_colour).all() and (below > 0.5 * edge_colour).all()
    np.testing.assert_array_equal(crop[inside >= 1.0], cv2.warpAffine(cut, m, (size, size))[inside >= 1.0])


def test_compose_affine_applies_inner_then_outer():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(2, 3)), rng.normal(size=(2, 3))
    pts = rng.normal(size=(5, 2))
    both = g.compose_affine(a, b)
    assert np.allclose(g.transform_points(pts, both), g.transform_points(g.transform_points(pts, b), a))
    assert np.allclose(g.compose_affine(g.invert_affine(a), a), np.eye(2, 3))
