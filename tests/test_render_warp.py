"""The `warp` renderer: identity, still background, mouth and eye response, batching, degenerate
targets, ISPs and paste-back, on the example portrait (offline, CPU)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from talkinghead import geometry, media
from talkinghead.render import compose
from talkinghead.render.base import FrameTargets, ReferenceFrame, Renderer
from talkinghead.render.warp import WarpConfig, WarpRenderer, isp_targets


@pytest.fixture(scope="module")
def portrait(examples_dir) -> tuple[np.ndarray, np.ndarray]:
    from talkinghead.face import get_landmarker

    image = media.load_image(examples_dir / "portrait_astronaut.png")
    return image, get_landmarker("mediapipe").detect(image).points


@pytest.fixture(scope="module")
def renderer() -> WarpRenderer:
    return WarpRenderer(device="cpu")


@pytest.fixture(scope="module")
def source(renderer, portrait):
    return renderer.prepare(*portrait)


@pytest.fixture(scope="module")
def painter(renderer) -> WarpRenderer:
    return renderer


@pytest.fixture(scope="module")
def painted_source(renderer, source):
    """A closed-mouth portrait (the example with its smile closed by the renderer), so the painted
    interior (cavity, teeth) is tested too."""
    gap = float(geometry.mouth_features(source.landmarks).opening)
    closed = FrameTargets.sweep(source, openings=np.array([-gap]))
    image = renderer.paste_back(renderer.render(source, closed)[0], source)
    points = geometry.transform_points(closed.landmarks[0], geometry.invert_affine(source.transform))
    src = renderer.prepare(image, points)
    assert src.cache["warp"].mouth.paint
    return src


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10.0 * np.log10(255.0**2 / mse)


def mouth_box(source, opening: float = 0.4, pad: float = 0.05) -> tuple[slice, slice]:
    """Pixels of the lips at their widest target opening (the chin and what it uncovers excluded)."""
    pts = FrameTargets.sweep(source, openings=np.array([opening])).landmarks[0, 48:68, :2]
    iod = np.linalg.norm(source.landmarks[45, :2] - source.landmarks[36, :2])
    (x0, y0), (x1, y1) = pts.min(0) - pad * iod, pts.max(0) + pad * iod
    return slice(int(y0), int(y1)), slice(int(x0), int(x1))


def dark_pixels(frame: np.ndarray, box: tuple[slice, slice], level: float = 70.0) -> int:
    return int((frame[box].astype(np.float64).mean(-1) < level).sum())


def test_implements_the_renderer_protocol(renderer) -> None:
    assert isinstance(renderer, Renderer)
    assert renderer.name == "warp"


def test_config_is_validated() -> None:
    with pytest.raises(ValueError, match="method"):
        WarpConfig(method="mesh")
    with pytest.raises(ValueError):
        WarpConfig(grid_step=0)


@pytest.mark.parametrize("method", ["tps", "first_order"])
def test_own_landmarks_give_back_the_portrait(portrait, method) -> None:
    r = WarpRenderer(config=WarpConfig(method=method), device="cpu")
    src = r.prepare(*portrait)
    frame = r.render(src, FrameTargets.still(src, src.identity[None]))[0]
    assert frame.shape == (src.size, src.size, 3) and frame.dtype == np.uint8
    assert psnr(frame, src.crop) >= 40.0


def test_background_outside_the_head_stays_still(renderer, source) -> None:
    n = 12
    targets = FrameTargets.sweep(
        source,
        openings=np.linspace(0.0, 0.35, n),
        yaw_deg=15.0 * np.sin(np.linspace(0, 2 * np.pi, n)),
        eye_open=np.linspace(1.0, 0.0, n),
    )
    frames = renderer.render(source, targets)
    outside = compose.head_support(source) == 0
    assert outside.mean() > 0.1  # a real background is left to check
    change = np.abs(frames.astype(np.int16) - source.crop.astype(np.int16))[:, outside]
    assert change.mean() <= 1.0
    assert change.max() == 0  # by construction: the displacement is zero outside the support
    # and the head did move
    inside = compose.head_support(source) > 0.99
    assert np.abs(frames[-1].astype(np.int16) - source.crop)[inside].mean() > 2.0


@pytest.mark.parametrize("which", ["painted", "reused"])
def test_more_opening_shows_more_mouth(which, renderer, source, painter, painted_source) -> None:
    r, src = (painter, painted_source) if which == "painted" else (renderer, source)
    openings = np.array([0.0, 0.1, 0.2, 0.3, 0.4])
    frames = r.render(src, FrameTargets.sweep(src, openings=openings))
    box = mouth_box(src)
    dark = [dark_pixels(f, box) for f in frames]
    assert all(b > a for a, b in zip(dark, dark[1:], strict=False)), dark
    assert dark[-1] > dark[0] + 200
    assert np.isfinite(frames.astype(np.float64)).all()


def test_painted_interior_has_teeth_and_a_dark_cavity(painter, painted_source) -> None:
    frame = painter.render(painted_source, FrameTargets.sweep(painted_source, openings=np.array([0.3])))[0]
    lm = FrameTargets.sweep(painted_source, openings=np.array([0.3])).landmarks[0]
    # pixels strictly inside the target's inner lips
    import cv2

    inside = np.zeros(frame.shape[:2], np.uint8)
    cv2.fillPoly(inside, [np.round(lm[60:68, :2]).astype(np.int32)], 1)
    inside = cv2.erode(inside, np.ones((3, 3), np.uint8)).astype(bool)
    luma = frame[inside].astype(np.float64) @ np.array([0.299, 0.587, 0.114])
    assert (luma < 50).mean() > 0.25  # cavity
    assert (luma > 120).mean() > 0.03  # teeth
    red = frame[inside][luma < 80].astype(np.float64)
    assert (red[:, 0] >= red[:, 1]).mean() > 0.9  # a reddish cavity, not a grey hole


def test_lips_closed_over_teeth_meet_at_a_seam(renderer, source) -> None:
    """The example smiles with its teeth. Closed by the targets, its lips meet at a shadowed seam,
    as closed lips do, each lip sampled from its own lip, instead of merging into one pink smear
    with the teeth squeezed in between (seam 12 grey levels under the lips before, against 58);
    the lips keep the portrait's lip colour."""
    from talkinghead.render.mouth import skin_and_lips

    gap = float(geometry.mouth_features(source.landmarks).opening)
    targets = FrameTargets.sweep(source, openings=np.array([-gap]))
    frame = renderer.render(source, targets)[0].astype(np.float64)
    lm = targets.landmarks[0, :, :2]
    luma = frame @ np.array([0.299, 0.587, 0.114])
    seam = int(round(0.5 * (lm[62, 1] + lm[66, 1])))
    depths, middles = [], []
    for x in np.linspace(lm[61, 0], lm[63, 0], 7).round().astype(int):
        lips = luma[int(np.floor(lm[51, 1])) : int(np.ceil(lm[57, 1])) + 1, x]
        depths.append(np.median(lips) - luma[seam - 2 : seam + 3, x].min())
        middles.append(np.median(lips))
    assert 30.0 <= np.mean(depths) <= 90.0, depths
    _, lip_rgb = skin_and_lips(source.crop, source.landmarks)
    assert np.median(middles) == pytest.approx(float(lip_rgb @ np.array([0.299, 0.587, 0.114])), rel=0.15)


def test_blink_covers_the_eye_and_keeps_the_rest(renderer, source) -> None:
    import cv2

    targets = FrameTargets.sweep(source, openings=np.zeros(3), eye_open=np.array([1.0, 0.5, 0.0]))
    frames = renderer.render(source, targets)
    assert np.array_equal(frames[0], source.crop)
    eye = np.zeros(source.crop.shape[:2], np.uint8)
    for idx in (geometry.RIGHT_EYE, geometry.LEFT_EYE):
        cv2.fillPoly(eye, [np.round(source.landmarks[list(idx), :2]).astype(np.int32)], 1)
    eye = eye.astype(bool)
    dark = [int((f[eye].astype(np.float64).mean(-1) < 90).sum()) for f in frames]
    assert dark[0] > dark[1] > dark[2], dark
    mouth = mouth_box(source)
    assert np.array_equal(frames[2][mouth], source.crop[mouth])  # a blink moves nothing else


def test_batch_equals_one_by_one(renderer, source) -> None:
    targets = FrameTargets.sweep(
        source,
        openings=np.array([0.0, 0.15, 0.3, 0.05, 0.25]),
        yaw_deg=np.array([0.0, 10.0, -12.0, 5.0, 0.0]),
        eye_open=np.array([1.0, 0.2, 1.0, 0.0, 0.7]),
    )
    batch = renderer.render(source, targets)
    single = np.concatenate([renderer.render(source, targets[i : i + 1]) for i in range(len(targets))])
    assert np.abs(batch.astype(np.int16) - single).max() <= 1


def test_still_target_renders_identical_frames(renderer, source) -> None:
    targets = FrameTargets.sweep(source, openings=np.full(4, 0.2), yaw_deg=np.full(4, 8.0))
    frames = renderer.render(source, targets)
    assert all(np.array_equal(frames[0], f) for f in frames[1:])  # no flicker


def test_degenerate_targets_raise_or_clamp(renderer, source) -> None:
    good = FrameTargets.sweep(source, openings=np.array([0.1]))
    holed = np.where(np.arange(68)[None, :, None] == 5, np.nan, good.canonical)
    nan = FrameTargets(**{**vars(good), "canonical": holed})
    with pytest.raises(ValueError, match="NaN"):
        renderer.render(source, nan)
    collapsed = FrameTargets(**{**vars(good), "scale": good.scale * 1e-4})
    with pytest.raises(ValueError, match="collapsed"):
        renderer.render(source, collapsed)
    squashed = FrameTargets(**{**vars(good), "canonical": np.zeros_like(good.canonical)})
    with pytest.raises(ValueError, match="collapsed"):
        renderer.render(source, squashed)
    wild = good.canonical.copy()
    wild[0, 48:68] += np.array([5.0, 40.0, 0.0])  # lips thrown far out of the face
    far = FrameTargets(
        canonical=wild,
        rotation=geometry.angles_to_rotation(80.0, 0.0, 0.0)[None],
        translation=good.translation + 1e4,
        scale=good.scale * 3.0,
        eye_open=np.array([7.0]),
    )
    frame = renderer.render(source, far)
    assert frame.shape == (1, source.size, source.size, 3) and frame.dtype == np.uint8
    clamped = renderer.clamp_targets(source, far)
    yaw = geometry.rotation_to_angles(clamped.rotation[0] @ source.pose.rotation.T)[0]
    assert abs(yaw) <= renderer.config.max_rotation_deg + 1e-6
    assert np.linalg.norm(clamped.canonical - source.identity, axis=-1).max() <= renderer.config.max_expression + 1e-9
    assert clamped.eye_open[0] == 1.0


def least_jacobian(smap: np.ndarray) -> float:
    """The least Jacobian determinant of a B×h×w×2 backward map: under 1 the source is stretched,
    under 0 the warp folds it over itself."""
    dx, dy = np.gradient(smap, axis=2), np.gradient(smap, axis=1)
    return float((dx[..., 0] * dy[..., 1] - dx[..., 1] * dy[..., 0]).min())


def test_a_turned_portrait_turns_less_out_of_the_picture(renderer, source, media_dir) -> None:
    """A 2-D warp cannot show what a turn uncovers. The three-quarter painting, whose nose hides
    its far cheek, may turn out of the picture's plane by a few degrees, the frontal example by
    over ten; turns in the plane (roll) keep their own limit, and both together are shortened
    further. Within the limits the warp does not fold the face over itself (its map's Jacobian
    stays positive); without them, yaw or pitch of 12° fold the painting's nose over its cheek,
    and a tilt of 20°, or of 12° with a turn of 12°, the top of the hair."""
    import dataclasses

    from scipy.spatial.transform import Rotation

    from talkinghead.face import get_landmarker
    from talkinghead.render.warp import turn_limit

    image = media.load_image(media_dir / "portraits" / "lp_s10.jpg")
    points = get_landmarker("mediapipe").detect(image).points
    turned = renderer.prepare(image, points)
    frontal_limit, turned_limit = (renderer._prepared(s).max_swing_deg for s in (source, turned))
    assert frontal_limit >= 10.0 and turned_limit <= 4.0
    assert turn_limit(turned, fold_ratio=0.0, ceiling=20.0) == 20.0

    def folding(rend: WarpRenderer, src, turns: list[tuple[float, float, float]]) -> float:
        """The most folded point of the warp (the least Jacobian determinant of its map) over
        ``turns`` (yaw, pitch, roll in degrees from the portrait's), after clamping."""
        sweep = FrameTargets.sweep(src, openings=np.zeros(len(turns)))
        targets = dataclasses.replace(
            sweep, rotation=np.stack([geometry.angles_to_rotation(*t) @ src.pose.rotation for t in turns])
        )
        clamped = rend.clamp_targets(src, targets)
        limits = (rend._prepared(src).max_swing_deg, rend.config.max_roll_deg)
        for rotation, (yaw, pitch, tilt) in zip(clamped.rotation, turns):
            rel = Rotation.from_matrix(rotation @ src.pose.rotation.T).as_quat()
            roll = np.degrees(2 * np.arctan2(abs(rel[2]), rel[3]))  # the twist about the view axis
            swing = np.degrees(2 * np.arccos(min(1.0, np.hypot(rel[2], rel[3]))))
            assert np.hypot(swing / limits[0], roll / limits[1]) <= 1.0 + 1e-6
            if yaw == pitch == 0:  # a tilt alone comes through up to its limit
                assert roll == pytest.approx(min(abs(tilt), limits[1]), abs=0.2)
        return least_jacobian(rend.sample_map(src, clamped).numpy())

    turns = [(12, 0, 0), (-12, 0, 0), (0, 12, 0), (0, -12, 0)]
    unlimited = WarpRenderer(config=WarpConfig(fold_ratio=0.0, max_roll_deg=20.0), device="cpu")
    assert folding(renderer, source, turns) > 0.2
    assert folding(renderer, turned, turns) > -0.3  # -0.1: a sliver at the nose's edge
    assert folding(unlimited, turned, turns) < -1.0
    tilts = [(0, 0, 20), (0, 0, -20)]
    assert folding(renderer, source, tilts) > 0.1
    assert folding(unlimited, source, tilts) < -0.2
    both = [(12, 0, 12), (-12, 0, -12), (0, -12, 12)]  # each within its limit, together past them
    assert folding(renderer, source, both) > -0.05
    assert folding(unlimited, source, both) < -0.3


def green_reference(painter, source, opening: float, colour=(15, 80, 25)) -> ReferenceFrame:
    """A reference frame of ``source`` with its lips opened by ``opening``, its interior painted
    flat dark green (to tell a lent interior from a synthesised one)."""
    import cv2

    sweep = FrameTargets.sweep(source, openings=np.array([opening]))
    crop, lm = painter.render(source, sweep)[0].copy(), sweep.landmarks[0]
    inner = np.zeros(crop.shape[:2], np.uint8)
    cv2.fillPoly(inner, [np.round(lm[60:68, :2]).astype(np.int32)], 1)
    crop[inner.astype(bool)] = colour
    return ReferenceFrame(label="O", crop=crop, landmarks=lm, expression=np.zeros((68, 3)), pose=source.pose)


def inner_mouth(source, opening: float) -> tuple[FrameTargets, np.ndarray]:
    """Targets opening ``source``'s lips by ``opening`` and the pixels well inside their inner lips."""
    import cv2

    targets = FrameTargets.sweep(source, openings=np.array([opening]))
    inside = np.zeros(source.crop.shape[:2], np.uint8)
    cv2.fillPoly(inside, [np.round(targets.landmarks[0, 60:68, :2]).astype(np.int32)], 1)
    return targets, cv2.erode(inside, np.ones((5, 5), np.uint8)).astype(bool)


def test_an_open_reference_lends_its_mouth_interior(painter, source, painted_source) -> None:
    """A closed portrait opening its mouth shows the widest open reference frame's own interior
    (here painted green to tell it apart), not the synthesised one; a closed reference lends none."""
    targets, inside = inner_mouth(painted_source, 0.3)
    lent = painter.render(painted_source, targets, [green_reference(painter, source, 0.35)])[0][inside].astype(float)
    assert (lent[:, 1] > lent[:, 0] + 40).mean() > 0.8  # the donor's (green) interior
    own = painter.render(painted_source, targets)[0]
    synthesised = own[inside].astype(float)
    assert (synthesised[:, 1] > synthesised[:, 0] + 40).mean() < 0.05
    gap = float(geometry.mouth_features(source.landmarks).opening)  # the sweep opens from the portrait's own
    closed = painter.render(painted_source, targets, [green_reference(painter, source, 0.05 - gap)])[0]
    np.testing.assert_array_equal(closed, own)  # too closed to lend: the synthesised interior
    # open, but what its landmarks call the gap is light (lip, blur): no inside of a mouth to lend
    light = painter.render(painted_source, targets, [green_reference(painter, source, 0.35, (150, 200, 150))])[0]
    np.testing.assert_array_equal(light, own)


def test_a_reference_seen_from_the_side_lends_no_mouth(painter, source, painted_source) -> None:
    """An open reference whose face is turned 30° away (its mouth foreshortened, mostly lip) lends
    nothing: the synthesised interior is shown. Turned 15°, it still lends."""
    from dataclasses import replace as replaced

    targets, inside = inner_mouth(painted_source, 0.3)
    own = painter.render(painted_source, targets)[0]
    front = green_reference(painter, source, 0.35)

    def turned(yaw: float) -> ReferenceFrame:
        pose = replaced(front.pose, rotation=geometry.angles_to_rotation(yaw, 0.0, 0.0) @ front.pose.rotation)
        return replaced(front, pose=pose)

    np.testing.assert_array_equal(painter.render(painted_source, targets, [turned(30.0)])[0], own)
    lent = painter.render(painted_source, targets, [turned(15.0)])[0][inside].astype(float)
    assert (lent[:, 1] > lent[:, 0] + 40).mean() > 0.8


def test_a_mouth_opened_past_its_donor_shows_a_tongue_not_a_line(painter, source, painted_source) -> None:
    """A target opening wider than the donor's gap: the donor's upper and lower parts move with
    the lips and the band of new cavity between them is painted. A thin band shows no tongue
    (nothing inside the mouth lighter than the donor); a tall one shows a tongue resting on the
    band's floor, as a mound many pixels tall, not the clipped edge of one drawn on the whole
    opening's floor (a light line, 2 pixels tall)."""
    colour = (15, 80, 25)
    donor = [green_reference(painter, source, 0.15, colour)]
    luma_of = np.array([0.299, 0.587, 0.114])

    targets, inside = inner_mouth(painted_source, 0.3)
    frame = painter.render(painted_source, targets, donor)[0].astype(np.float64)
    band = inside & ~(frame[..., 1] > frame[..., 0] + 40)  # not the donor's green
    assert band.sum() > 50  # a thin band of new cavity
    assert (frame @ luma_of)[inside].max() <= float(np.dot(colour, luma_of)) + 5.0

    targets, inside = inner_mouth(painted_source, 0.6)
    frame = painter.render(painted_source, targets, donor)[0].astype(np.float64)
    band = inside & ~(frame[..., 1] > frame[..., 0] + 40)
    lm = targets.landmarks[0]
    x = int(round((lm[48, 0] + lm[54, 0]) / 2))  # the middle of the mouth
    rows = np.nonzero(band[:, x])[0]
    assert len(rows) > 30  # a tall band
    luma = frame[rows, x] @ luma_of
    tongue = np.nonzero(luma > luma.min() + 25.0)[0]
    assert len(tongue) >= 8 and tongue[-1] >= len(rows) - 2  # tall, and down to the floor
    assert np.array_equal(tongue, np.arange(tongue[0], tongue[-1] + 1))  # one mound


@pytest.mark.parametrize("lent", [True, False])
def test_a_new_interior_takes_the_portraits_grain(painter, source, painted_source, lent) -> None:
    """The same portrait with film grain: the donor's flat interior (or, with no donor, the painted
    one) gets grain of about the portrait's level, and the smooth portrait's stays about as smooth."""
    from talkinghead.render.mouth import grain_level

    rng = np.random.default_rng(1)
    noisy = painted_source.image.astype(np.float64) + rng.normal(0.0, 6.0, painted_source.image.shape[:2])[..., None]
    points = geometry.transform_points(painted_source.landmarks, geometry.invert_affine(painted_source.transform))
    grainy = painter.prepare(noisy.clip(0, 255).astype(np.uint8), points)
    smooth_level, grainy_level = (grain_level(s.crop, s.landmarks) for s in (painted_source, grainy))
    assert grainy_level > 3 * smooth_level

    refs = [green_reference(painter, source, 0.35)] if lent else None
    targets, inside = inner_mouth(painted_source, 0.3)

    def level(luma: np.ndarray) -> float:  # the same robust high-pass measure, inside the new interior
        import cv2

        high = (luma - cv2.GaussianBlur(luma, (0, 0), 1.0))[inside]
        return float(1.4826 * np.median(np.abs(high - np.median(high))))

    grainy_luma, smooth_luma = (
        painter.render(s, targets, refs)[0].astype(np.float32) @ np.float32([0.299, 0.587, 0.114])
        for s in (grainy, painted_source)
    )
    # what the grain adds: the two renders differ inside the mouth by the two portraits' grain only
    assert level(grainy_luma - smooth_luma) == pytest.approx(grainy_level - smooth_level, rel=0.35)
    if lent:  # a flat donor: the interior's texture is all grain
        assert level(grainy_luma) == pytest.approx(grainy_level, rel=0.35)
        assert level(smooth_luma) < 0.5 * grainy_level


def test_colour_match_follows_the_portraits_light_and_greyness() -> None:
    from talkinghead.render.mouth import match_colours

    teeth = np.array([[230.0, 220.0, 200.0]])
    skin = np.array([200.0, 150.0, 130.0])
    same = match_colours(teeth, skin, skin)
    np.testing.assert_allclose(same, teeth)
    darker = match_colours(teeth, skin, skin * 0.5)
    assert darker.mean() == pytest.approx(0.5 * teeth.mean(), rel=0.05)
    grey = match_colours(np.array([[180.0, 60.0, 60.0]]), skin, np.array([120.0, 120.0, 120.0]))
    assert np.ptp(grey) < 1.0  # a grey portrait gets a grey interior


def test_isps_follow_the_reference_mouth(renderer, source) -> None:
    can = geometry.canonical_face()

    def ref(label: str, opening: float, yaw: float) -> ReferenceFrame:
        turn = geometry.angles_to_rotation(yaw, 0.0, 0.0) @ source.pose.rotation  # relative to the portrait's
        pose = geometry.Pose(turn, np.array([256.0, 280.0, 0.0]), 140.0)  # another image's place and size
        return ReferenceFrame(
            label=label,
            crop=np.zeros((512, 512, 3), np.uint8),
            landmarks=pose.apply(can),
            expression=geometry.open_mouth(can, opening) - can,
            pose=pose,
            turn=geometry.angles_to_rotation(yaw, 0.0, 0.0),  # relative to the clip's mean pose
        )

    refs = [ref("None", 0.0, 0.0), ref("M", 0.0, 3.0), ref("R", 0.3, -8.0), ref("O", 0.18, 0.0)]
    isps = renderer.render_isps(source, refs)
    assert len(isps) == 4 and all(i.shape == source.crop.shape and i.dtype == np.uint8 for i in isps)
    # no expression, no turn: the portrait itself above the mouth, its lips closed (eq. 2's neutral c)
    above = slice(0, int(source.landmarks[33, 1]))
    assert psnr(isps[0][above], source.crop[above]) >= 40.0
    assert geometry.mouth_features(isp_targets(source, refs[:1]).landmarks[0]).opening < 0.05
    inner = isp_targets(source, refs).landmarks[2, 60:68, :2]  # the widest mouth's inner lips
    (x0, y0), (x1, y1) = inner.min(0) - 3, inner.max(0) + 3
    box = slice(int(y0), int(y1)), slice(int(x0), int(x1))
    assert dark_pixels(isps[2], box) > dark_pixels(isps[3], box) > dark_pixels(isps[0], box)
    # eq. 2: the portrait's identity with the reference's turn on its own rotation, its place and size
    t = isp_targets(source, refs)
    assert np.allclose(t.translation, source.pose.translation) and np.allclose(t.scale, source.pose.scale)
    assert np.allclose(t.rotation[2], refs[2].turn @ source.pose.rotation)
    assert np.allclose(t.rotation[0], source.pose.rotation)  # no turn: the portrait's own orientation
    assert renderer.render_isps(source, []) == []


def test_paste_back_changes_only_the_head(renderer, source, portrait) -> None:
    image = portrait[0]
    frame = renderer.render(source, FrameTargets.sweep(source, openings=np.array([0.3]), yaw_deg=np.array([12.0])))[0]
    full = renderer.paste_back(frame, source)
    assert full.shape == image.shape and full.dtype == np.uint8
    changed = np.abs(full.astype(np.int16) - image).max(-1) > 0
    assert changed.any()
    # everything outside the head's (feathered) paste region is the portrait's own pixels
    plan = source.cache[compose.PASTE_KEY]
    x0, y0, x1, y1 = plan.box
    outside = np.ones(image.shape[:2], bool)
    outside[y0:y1, x0:x1] = plan.mask <= 0
    assert outside.mean() > 0.2
    assert not changed[outside].any()
    # the unmodified crop pastes back to (nearly) the portrait, and batches paste like singles
    assert psnr(renderer.paste_back(source.crop, source), image) > 30.0
    both = renderer.paste_back(np.stack([frame, source.crop]), source)
    assert np.array_equal(both[0], full)
    with pytest.raises(ValueError):
        renderer.paste_back(frame[:100], source)


def test_paste_back_works_for_any_renderer_source(portrait) -> None:
    from talkinghead.render.base import prepare_source

    src = prepare_source(*portrait)  # no warp precomputation in its cache
    full = compose.paste_back(src.crop, src)
    assert full.shape == portrait[0].shape
    assert psnr(full, portrait[0]) > 30.0


def test_frame_views_show_what_paste_back_and_resizing_show(renderer, source, portrait) -> None:
    import cv2

    image = portrait[0]
    h, w = image.shape[:2]
    sweep = FrameTargets.sweep(source, openings=np.array([0.4, 0.0]), yaw_deg=np.array([15.0, -5.0]))
    frames = renderer.render(source, sweep)
    # at the portrait's own size: paste_back's pixels, in one buffer re-blended in place per frame
    view = compose.FrameView(source, full=True, size=(w, h))
    first = view(frames[0]).copy()
    assert np.array_equal(first, renderer.paste_back(frames[0], source))
    assert np.array_equal(view(frames[1]), renderer.paste_back(frames[1], source))
    assert view(frames[1]) is view.frame  # the buffer is reused: callers encode or copy it first
    # scaled views: within resampling noise of scaling the full frame, away from the head exactly it
    for size in [(w // 3 * 2, h // 3 * 2), (w * 3 // 2, h * 3 // 2)]:
        inter = cv2.INTER_AREA if size[0] < w else cv2.INTER_LINEAR
        small = compose.FrameView(source, full=True, size=size)(frames[0])
        assert small.shape == (size[1], size[0], 3)
        assert psnr(small, cv2.resize(first, size, interpolation=inter)) > 33.0
        outside = np.ones(small.shape[:2], bool)
        x0, y0, x1, y1 = compose.FrameView(source, full=True, size=size).plan.box
        outside[y0:y1, x0:x1] = False
        assert np.array_equal(small[outside], cv2.resize(image, size, interpolation=inter)[outside])
    # the face view is the crop itself, resized when asked
    face = compose.FrameView(source, full=False, size=(source.size, source.size))
    assert np.array_equal(face(frames[0]), frames[0])
    assert compose.FrameView(source, full=False, size=(128, 128))(frames[0]).shape == (128, 128, 3)


def test_a_crop_reduced_from_a_large_face_keeps_its_detail(renderer, portrait) -> None:
    import dataclasses

    import cv2

    from talkinghead.render import warp_mouth

    image, points = portrait
    small = renderer.prepare(image, points)  # the example's face is enlarged into the crop
    big = renderer.prepare(cv2.resize(image, None, fx=3, fy=3, interpolation=cv2.INTER_CUBIC), points * 3)
    assert warp_mouth.resampling(small) == "bilinear" and warp_mouth.resampling(big) == "bicubic"
    # the whole head shifted by half a pixel, then resampled either way
    shifted = FrameTargets.still(big, big.identity[None])
    shifted = FrameTargets(canonical=shifted.canonical, rotation=shifted.rotation,
                           translation=shifted.translation + np.array([[0.5, 0.5, 0.0]]),
                           scale=shifted.scale, eye_open=shifted.eye_open)
    frame = renderer.render(big, shifted)[0]
    prep = big.cache["warp"]
    big.cache["warp"] = dataclasses.replace(prep, mouth=dataclasses.replace(prep.mouth, resampling="bilinear"))
    blurred = renderer.render(big, shifted)[0]

    support = compose.head_support(big) >= 1.0  # where the whole shift applies

    def detail(a: np.ndarray) -> float:
        grey = cv2.cvtColor(a, cv2.COLOR_RGB2GRAY).astype(np.float32)
        return float(np.abs(cv2.Laplacian(grey, cv2.CV_32F))[support].mean())

    # bicubic keeps the crop's own level of detail; bilinear loses a tenth or more of it
    assert detail(frame) == pytest.approx(detail(big.crop), rel=0.05)
    assert detail(blurred) < 0.9 * detail(big.crop)


def test_prepared_cache_follows_the_device_and_config(portrait) -> None:
    r = WarpRenderer(device="cpu")
    src = r.prepare(*portrait)
    other = WarpRenderer(config=WarpConfig(grid_step=6), device=torch.device("cpu"))
    frame = other.render(src, FrameTargets.still(src, src.identity[None]))[0]
    assert src.cache["warp"].config == other.config
    assert psnr(frame, src.crop) >= 40.0


def test_isp_sheet_layout() -> None:
    from talkinghead.commands.isp import isp_sheet

    can = geometry.canonical_face()
    pose = geometry.Pose.from_angles(0.0, 0.0, 0.0, translation=np.array([256.0, 280.0, 0.0]), scale=140.0)
    refs = [
        ReferenceFrame(label, np.full((512, 512, 3), 90, np.uint8), pose.apply(can), np.zeros((68, 3)), pose)
        for label in ("None", "M", "R", "O")
    ]
    sheet = isp_sheet(refs, [np.full((512, 512, 3), 200, np.uint8)] * 4, title="t")
    assert sheet.dtype == np.uint8 and sheet.ndim == 3 and sheet.shape[1] > sheet.shape[0]
    with pytest.raises(ValueError):
        isp_sheet(refs, [])


@pytest.mark.slow
def test_isp_command_writes_a_sheet(examples_dir, media_dir, tmp_path) -> None:
    from talkinghead.cli import main

    out = tmp_path / "isp.png"
    clip = media_dir / "style_clips" / "dt_W009_front_happy_level3_001.mp4"
    assert main(["isp", str(examples_dir / "portrait_astronaut.png"), str(clip), "-o", str(out)]) == 0
    sheet = media.load_image(out)
    assert sheet.shape[0] > 600 and sheet.shape[1] > 1200
    assert main(["isp", str(examples_dir / "portrait_astronaut.png"), str(clip), "-o", str(tmp_path / "x.txt")]) == 2


def test_lattice_upsampling_is_bilinear_with_aligned_corners():
    """The two matrix products of the dense map equal torch's bilinear (align_corners) upsampling."""
    import torch
    import torch.nn.functional as F

    from talkinghead.render.warp import _linear_upsampling

    coarse = torch.randn(3, 2, 9, 13, generator=torch.Generator().manual_seed(0))
    want = F.interpolate(coarse, size=(50, 71), mode="bilinear", align_corners=True)
    got = torch.matmul(_linear_upsampling(9, 50), torch.matmul(coarse, _linear_upsampling(13, 71).T))
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)


def test_teeth_are_told_from_a_dark_gap(source) -> None:
    """The example smiles with its teeth; the same smile with a dark gap shows none, so a donor's
    interior may replace it."""
    import cv2

    from talkinghead.render.mouth import shows_teeth

    assert shows_teeth(source.crop, source.landmarks)
    dark = source.crop.copy()
    cv2.fillPoly(dark, [np.round(source.landmarks[60:68, :2]).astype(np.int32)], (40, 12, 14))
    assert not shows_teeth(dark, source.landmarks)


def _head_moved_down(source, pixels: float) -> FrameTargets:
    targets = FrameTargets.still(source, source.identity[None])
    targets.translation[:, 1] += pixels
    return targets


def test_the_pictures_edge_stays_where_it_is(renderer, portrait) -> None:
    image, points = portrait
    cut = int(points[:, 1].min() - 0.3 * np.ptp(points[:, 1]))  # the picture ends just above the brows
    top_cut = renderer.prepare(np.ascontiguousarray(image[cut:]), points - np.array([0.0, cut, 0.0]))
    frame = renderer.render(top_cut, _head_moved_down(top_cut, 40.0))[0]
    iod = float(np.linalg.norm(top_cut.landmarks[45, :2] - top_cut.landmarks[36, :2]))
    still = compose.edge_fade(top_cut, compose.EDGE_FADE * iod) == 0  # outside or on the edge
    assert still.mean() > 0.05  # the crop does reach past the picture's top
    np.testing.assert_array_equal(frame[still], top_cut.crop[still])  # nothing pulled in from outside
    assert np.abs(frame.astype(np.int16) - top_cut.crop)[compose.head_support(top_cut) > 0.99].mean() > 2.0


def test_a_far_head_slide_levels_off_before_the_background_folds(renderer, source) -> None:
    """The head slides over a background the warp can only stretch (the head's motion fades out
    just beyond it). A slight slide comes through nearly whole; a far one levels off under
    ``max_translation`` where the warp's map does not fold (its least Jacobian determinant stays
    positive). Half an eye distance, the earlier limit, folds it (at the top of the hair)."""
    import dataclasses

    def slid(rend: WarpRenderer, amount: float) -> tuple[np.ndarray, float]:
        shifts = amount * np.array([[1.0, 0.0, 0.0], [-1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, -1.0, 0.0]])
        sweep = FrameTargets.sweep(source, openings=np.zeros(4))
        targets = dataclasses.replace(sweep, translation=sweep.translation + shifts * source.pose.scale)
        clamped = rend.clamp_targets(source, targets)
        length = np.linalg.norm(clamped.translation - source.pose.translation, axis=-1) / source.pose.scale
        return length, least_jacobian(rend.sample_map(source, clamped).numpy())

    length, _ = slid(renderer, 0.05)
    assert (length >= 0.95 * 0.05).all()
    length, least = slid(renderer, 0.6)
    assert (length < renderer.config.max_translation).all() and least > 0.05
    _, least = slid(WarpRenderer(config=WarpConfig(max_translation=0.5), device="cpu"), 0.6)
    assert least < -0.5


def test_a_plain_margin_around_the_picture_stays_out_of_it(renderer, portrait) -> None:
    """A photo inside a white margin (a scan's border) is a picture whose edge is the margin's:
    a head sliding sideways stretches the picture's own background, and no margin white is pulled
    into it (treated as picture, 8000-9000 white pixels are). A plain backdrop that meets the head
    is not a margin."""
    import cv2

    image, points = portrait
    cut = int(points[:, 0].min() - 0.2 * np.ptp(points[:, 0]))  # the picture ends left of the head
    pad = 60
    picture = np.minimum(image[:, cut:], 235)  # nothing in the picture as white as the margin
    framed = np.full((picture.shape[0], picture.shape[1] + pad, 3), 255, np.uint8)
    framed[:, pad:] = picture
    assert compose.picture_box(framed) == (pad, 0, framed.shape[1], framed.shape[0])
    source = renderer.prepare(framed, points + np.array([pad - cut, 0.0, 0.0]))
    margin = np.zeros(framed.shape[:2], np.uint8)
    margin[:, :pad] = 1
    in_margin = cv2.warpAffine(margin, source.transform, (source.size,) * 2, flags=cv2.INTER_NEAREST) > 0
    for dx in (-80.0, 80.0):
        targets = FrameTargets.still(source, source.identity[None])
        targets.translation[:, 0] += dx
        frame = renderer.render(source, targets)[0]
        assert np.abs(frame.astype(np.int16) - source.crop)[compose.head_support(source) > 0.99].mean() > 2.0
        assert not (frame.min(-1) >= 245)[~in_margin].any()

    backdrop = np.full((200, 300, 3), 128, np.uint8)
    yy, xx = np.mgrid[:200, :300]
    backdrop[(xx - 150) ** 2 + (yy - 100) ** 2 < 60**2] = (200, 150, 120)  # a head in front of it
    assert compose.picture_box(backdrop) == (0, 0, 300, 200)


def test_a_head_reaching_past_the_crop_joins_the_portrait_without_a_seam(renderer, portrait) -> None:
    image, points = portrait
    pad = 200  # stripes all around: the picture goes on well past the crop's edges
    rows = (np.arange(image.shape[0] + 2 * pad) // 6 % 2 * 200 + 30).astype(np.uint8)
    framed = np.repeat(np.repeat(rows[:, None, None], image.shape[1] + 2 * pad, 1), 3, 2)
    framed[pad:-pad, pad:-pad] = image
    source = renderer.prepare(framed, points + np.array([pad, pad, 0.0]))
    frame = renderer.render(source, _head_moved_down(source, 40.0))[0]
    assert compose.head_support(source)[:8].max() > 0  # the head's support reaches the crop's top ...
    border = np.abs(frame.astype(np.int16) - source.crop)[:2]  # ... yet its edge rows stay (nearly) put,
    assert border.mean() < 1.0  # so the pasted crop meets the still portrait around it
    assert np.abs(frame.astype(np.int16) - source.crop)[compose.head_support(source) > 0.99].mean() > 2.0
