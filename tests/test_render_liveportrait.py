"""The `liveportrait` renderer with random weights: interface, shapes, conventions, mouth blend, selection.

Random weights make the images noise, so these tests check what does not depend on training: the
Renderer protocol, shapes and dtypes, batching, the keypoint maths (pose convention, identity pose,
translation, scale, retargeting), the mouth-state soft assignment, and how the renderer is found
and loaded through the weights registry. Most tests use a tiny architecture; one slow test runs the
full-size networks on CPU.
"""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import numpy as np
import pytest
import torch
from huggingface_hub import constants as hub_constants
from safetensors.torch import save_file

from talkinghead import geometry, hub, weights
from talkinghead.errors import InputError
from talkinghead.networks.liveportrait import build_liveportrait, keypoints
from talkinghead.networks.liveportrait import configs as C
from talkinghead.render import liveportrait
from talkinghead.render.base import FrameTargets, ReferenceFrame, Renderer
from talkinghead.render.expression_blend import lip_open_ratio, mouth_blend_weights
from talkinghead.render.liveportrait import WEIGHT_NAMES, LivePortraitRenderer, LivePortraitRendererConfig
from talkinghead.render.pose_conversion import lp_rotation, pixel_shift_to_keypoints

# Full-size keypoint count, bins and MLPs; small convolutions; F downsamples 256² to 16² so W and G
# run on 16² maps and G's 128² output is resized to the 512² crop.
TINY = C.LivePortraitConfig(
    appearance=C.AppearanceFeatureExtractorConfig(
        block_expansion=4, num_down_blocks=4, max_features=16, reshape_channel=4, reshape_depth=4, num_resblocks=1
    ),
    motion=C.TINY_MOTION,
    warping=C.WarpingNetworkConfig(
        block_expansion=4,
        max_features=16,
        num_down_blocks=2,
        reshape_channel=4,
        dense_motion=C.DenseMotionConfig(block_expansion=4, max_features=16, num_blocks=2, reshape_depth=4, compress=2),
    ),
    generator=C.SpadeGeneratorConfig(block_expansion=4, num_down_blocks=2, out_channels=4, hidden=8),
)
LABELS = ("None", "M", "R", "O")
# LivePortrait's own cropper (``parse_rect_from_landmark``): a square box around the landmarks,
# scaled by this, then shifted up by this × its side.
UPSTREAM_CROP_SCALE = 2.3
UPSTREAM_CROP_SHIFT_UP = 0.125


# ---------------------------------------------------------------- fixtures and builders


def portrait(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A noise image with the canonical face posed in it (slightly turned): (image, 68×3 landmarks)."""
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 256, (560, 480, 3), dtype=np.uint8)
    pose = geometry.Pose.from_angles(6.0, -4.0, 3.0, translation=np.array([240.0, 270.0, 0.0]), scale=120.0)
    return image, pose.apply(geometry.canonical_face())


def planted_expressions() -> dict[str, np.ndarray]:
    """68×3 canonical expressions for the four templates on the canonical face (inter-ocular units)."""
    face = geometry.canonical_face()
    out = {label: np.zeros((68, 3)) for label in LABELS}
    # M: outer lip contour pressed toward the inner lips (thinner visible lips, mouth still closed).
    for outer, inner in ((range(49, 54), 62), (range(55, 60), 66)):
        for i in outer:
            out["M"][i, 1] = 0.6 * (face[inner, 1] - face[i, 1])
    lower = [55, 56, 57, 58, 59, 65, 66, 67, *range(5, 12)]
    # R: jaw and lower lip drop, corners pulled apart (open, spread).
    out["R"][lower, 1] += 0.25
    for left, right in ((48, 54), (60, 64)):
        out["R"][left, 0] -= 0.06
        out["R"][right, 0] += 0.06
    # O: jaw and lower lip drop less, corners pulled together (open, rounded).
    out["O"][lower, 1] += 0.2
    for left, right, k in ((48, 54, 0.08), (60, 64, 0.08), (49, 53, 0.04), (59, 55, 0.04)):
        out["O"][left, 0] += k
        out["O"][right, 0] -= k
    return out


def references(source, seed: int = 1) -> list[ReferenceFrame]:
    """Four references with distinct noise crops (so M tells them apart) and planted expressions."""
    rng = np.random.default_rng(seed)
    exprs = planted_expressions()
    return [
        ReferenceFrame(
            label=label,
            crop=rng.integers(0, 256, (512, 512, 3), dtype=np.uint8),
            landmarks=source.pose.apply(source.identity + exprs[label]),
            expression=exprs[label],
            pose=source.pose,
        )
        for label in LABELS
    ]


def targets_from(source, canonical, *, yaw=0.0, shift=(0.0, 0.0), zoom=1.0, eye_open=None) -> FrameTargets:
    """Targets for canonical B×68×3 frames: the portrait's pose, turned by ``yaw`` degrees (camera
    frame), shifted by ``shift`` crop pixels, scaled by ``zoom``."""
    b = len(canonical)
    turn = geometry.angles_to_rotation(yaw, 0.0, 0.0)
    return FrameTargets(
        canonical=np.array(canonical, dtype=np.float64),  # a copy: tests may poke at it
        rotation=np.repeat((turn @ source.pose.rotation)[None], b, 0),
        translation=np.repeat((source.pose.translation + np.array([*shift, 0.0]))[None], b, 0),
        scale=np.full(b, source.pose.scale * zoom),
        eye_open=np.ones(b) if eye_open is None else np.asarray(eye_open, dtype=np.float64),
    )


def keypoint_config(**changes) -> LivePortraitRendererConfig:
    return dataclasses.replace(LivePortraitRendererConfig(), **changes)


@pytest.fixture(scope="module")
def tiny() -> LivePortraitRenderer:
    return LivePortraitRenderer.random(device="cpu", seed=0, architecture=TINY)


@pytest.fixture(scope="module")
def prepared(tiny):
    image, landmarks = portrait()
    source = tiny.prepare(image, landmarks)
    return source, references(source)


def with_config(renderer: LivePortraitRenderer, **changes) -> LivePortraitRenderer:
    """The same networks under another runtime config."""
    return LivePortraitRenderer(nets=renderer.nets, device=renderer.device, config=keypoint_config(**changes))


# ---------------------------------------------------------------- interface, shapes, batching


def test_protocol_shapes_and_finite_outputs(tiny, prepared):
    source, refs = prepared
    assert isinstance(tiny, Renderer) and tiny.name == "liveportrait"
    assert source.crop.shape == (512, 512, 3)
    prep = source.cache[liveportrait.CACHE_KEY]
    assert prep.feature.shape == (1, 4, 4, 16, 16) and prep.kp_source.shape == (1, 21, 3)
    assert torch.isfinite(prep.feature).all() and torch.isfinite(prep.kp_source).all()

    decoded = []
    hook = tiny.nets.generator.register_forward_hook(lambda m, i, o: decoded.append(o))
    try:
        isps = tiny.render_isps(source, refs)
        exprs = planted_expressions()
        canonical = np.stack([source.identity, source.identity + exprs["R"], source.identity + exprs["O"]])
        frames = tiny.render(source, targets_from(source, canonical, yaw=8.0, eye_open=[1.0, 0.4, 0.0]), refs)
        plain = tiny.render(source, targets_from(source, canonical[:1]))
    finally:
        hook.remove()
    assert len(isps) == 4 and all(i.shape == (512, 512, 3) and i.dtype == np.uint8 for i in isps)
    assert frames.shape == (3, 512, 512, 3) and frames.dtype == np.uint8
    assert plain.shape == (1, 512, 512, 3)
    assert all(torch.isfinite(o).all() for o in decoded)  # no NaN reached the uint8 conversion
    assert frames.std() > 1.0 and len({isp.tobytes() for isp in isps}) == 4  # not constant, refs differ
    assert tiny.render_isps(source, []) == []
    assert tiny.render(source, targets_from(source, canonical[:0])).shape == (0, 512, 512, 3)


def test_batch_equals_one_by_one(tiny, prepared):
    source, refs = prepared
    exprs = planted_expressions()
    canonical = np.stack([source.identity + 0.5 * exprs[label] for label in LABELS])
    targets = targets_from(source, canonical, yaw=-5.0, eye_open=[1.0, 0.7, 0.2, 1.0])
    together = with_config(tiny, batch_size=3).render(source, targets, refs)  # chunks of 3 and 1
    for i in range(len(targets)):
        alone = tiny.render(source, targets[i : i + 1], refs)[0]
        assert np.abs(alone.astype(int) - together[i].astype(int)).max() <= 1


def test_reference_motion_is_computed_once_per_crop(tiny, prepared, monkeypatch):
    source, refs = prepared
    tiny.isp_keypoints(source, refs)  # fills the cache
    calls = []
    original = tiny.nets.motion.forward
    monkeypatch.setattr(tiny.nets.motion, "forward", lambda x: calls.append(len(x)) or original(x))
    tiny.driving_keypoints(source, targets_from(source, source.identity[None]), refs)
    assert calls == []  # all four references cached
    extra = dataclasses.replace(refs[0], crop=np.ascontiguousarray(refs[0].crop[::-1]))
    tiny.isp_keypoints(source, [*refs, extra])
    assert calls == [1]  # only the new crop went through M


def test_bad_inputs_raise(tiny, prepared):
    source, refs = prepared
    bad = targets_from(source, source.identity[None])
    bad.canonical[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        tiny.render(source, bad)
    grey = dataclasses.replace(refs[0], crop=np.zeros((512, 512), np.uint8))
    with pytest.raises(ValueError, match="uint8 RGB"):
        tiny.render_isps(source, [grey])


# ---------------------------------------------------------------- conventions


@pytest.mark.parametrize("yaw, pitch, roll", [(0, 0, 0), (20, 0, 0), (0, 15, 0), (0, 0, -25), (-30, 12, 7)])
def test_rotation_convention_matches_liveportrait(yaw, pitch, roll):
    """Same (yaw, pitch, roll) → LivePortrait's row-vector matrix is our column-vector matrix transposed,
    so a canonical point lands at the same place in both conventions."""
    ours = geometry.angles_to_rotation(yaw, pitch, roll)
    deg = [torch.tensor([float(a)]) for a in (pitch, yaw, roll)]
    theirs = keypoints.rotation_matrix(*deg)[0].double().numpy()
    np.testing.assert_allclose(theirs, ours.T, atol=1e-6)
    face = geometry.canonical_face()
    np.testing.assert_allclose(face @ theirs, face @ ours.T, atol=1e-6)


def test_pose_bins_to_rotation():
    """66 bins of 3° from −97.5°: a logit peak at bin i means (−97.5 + 3i)°, and the matrix built from
    peaked yaw/pitch/roll bins is our rotation of those angles, transposed."""
    def peaked(i: int) -> torch.Tensor:
        logits = torch.full((1, 66), -30.0)
        logits[0, i] = 30.0
        return logits

    pitch, yaw, roll = (keypoints.bins_to_degrees(peaked(i)) for i in (30, 40, 26))
    assert [round(float(a), 4) for a in (pitch, yaw, roll)] == [-7.5, 22.5, -19.5]
    np.testing.assert_allclose(
        keypoints.rotation_matrix(pitch, yaw, roll)[0].double().numpy(),
        geometry.angles_to_rotation(22.5, -7.5, -19.5).T,
        atol=1e-5,
    )


def test_lp_rotation_is_relative_to_the_portrait():
    base_angles = (4.0, -6.0, 2.0)  # M's (pitch, yaw, roll) of the portrait
    base = keypoints.rotation_matrix(*(torch.tensor([a]) for a in base_angles))
    ours_source = geometry.angles_to_rotation(-3.0, 5.0, 1.0)  # our landmark fit of the portrait
    same = lp_rotation(base, ours_source, ours_source[None])
    torch.testing.assert_close(same, base, atol=1e-6, rtol=0)  # identity rotation → the source's pose

    turn = geometry.angles_to_rotation(20.0, 0.0, 0.0)  # head turns 20° yaw in the camera frame
    got = lp_rotation(base, ours_source, (turn @ ours_source)[None])
    expected = base[0].double().numpy() @ turn.T  # R_lp,s·ΔRᵀ
    np.testing.assert_allclose(got[0].double().numpy(), expected, atol=1e-6)

    # Frontal portrait: the relative turn is exactly LivePortrait's own angles (or yaw, pitch negated).
    eye = torch.eye(3)[None]
    for yaw, pitch, roll in ((20.0, 0.0, 0.0), (0.0, 15.0, 0.0), (0.0, 0.0, 10.0)):
        ours = geometry.angles_to_rotation(yaw, pitch, roll)[None]
        straight = lp_rotation(eye, np.eye(3), ours)
        flipped = lp_rotation(eye, np.eye(3), ours, flip_depth=True)
        angles = [torch.tensor([a]) for a in (pitch, yaw, roll)]
        torch.testing.assert_close(straight, keypoints.rotation_matrix(*angles))
        torch.testing.assert_close(flipped, keypoints.rotation_matrix(-angles[0], -angles[1], angles[2]))


def test_source_pose_targets_give_the_source_keypoints(tiny, prepared):
    """Targets with the portrait's own pose, shape and open eyes drive exactly x_s (before stitching),
    and the stitched keypoints are the stitching MLP's correction of x_s."""
    source, _ = prepared
    prep = source.cache[liveportrait.CACHE_KEY]
    still = FrameTargets.still(source, np.repeat(source.identity[None], 2, 0))
    kp = tiny.driving_keypoints(source, still, stitch=False)
    torch.testing.assert_close(kp, prep.kp_source.expand(2, -1, -1), atol=1e-6, rtol=0)
    stitched = tiny.driving_keypoints(source, still)
    expected = keypoints.apply_stitching(tiny.nets.stitching.stitching, prep.kp_source, prep.kp_source)
    torch.testing.assert_close(stitched, expected.expand(2, -1, -1), atol=1e-6, rtol=0)
    turned = tiny.driving_keypoints(source, targets_from(source, source.identity[None], yaw=15.0), stitch=False)
    assert (turned - prep.kp_source).abs().max() > 1e-2


def test_translation_and_scale(tiny, prepared):
    """A shift of the face in crop pixels shifts every keypoint by the matching keypoint units; a zoom
    scales the keypoints about their centroid, which stays put."""
    source, _ = prepared
    r = with_config(tiny, lip_retargeting=False, eye_retargeting=False)
    one = source.identity[None]
    kp0 = r.driving_keypoints(source, targets_from(source, one), stitch=False)
    moved = r.driving_keypoints(source, targets_from(source, one, shift=(12.0, -8.0)), stitch=False)
    step = pixel_shift_to_keypoints(np.array([12.0, -8.0]), 512, tiny.feature_size)
    delta = (moved - kp0)[0].double().numpy()
    np.testing.assert_allclose(delta[:, :2], np.broadcast_to(step, (21, 2)), atol=1e-5)
    np.testing.assert_allclose(delta[:, 2], 0.0, atol=1e-6)
    assert step[0] == pytest.approx(12.0 * 2 / (512 * 15 / 16))  # 16 feature cells in TINY

    zoomed = r.driving_keypoints(source, targets_from(source, one, zoom=1.2), stitch=False)
    torch.testing.assert_close(zoomed[..., :2].mean(1), kp0[..., :2].mean(1), atol=1e-5, rtol=0)
    spread = lambda kp: (kp[..., :2] - kp[..., :2].mean(1, keepdim=True)).norm(dim=-1).mean()  # noqa: E731
    assert float(spread(zoomed) / spread(kp0)) == pytest.approx(1.2, rel=1e-4)


def test_retargeting_moves_only_when_asked(tiny, prepared):
    source, _ = prepared
    prep = source.cache[liveportrait.CACHE_KEY]
    x_s = prep.kp_source
    exprs = planted_expressions()
    # Eyes: open → no delta; closed → exactly the eye MLP's difference.
    r = with_config(tiny, lip_retargeting=False)
    kp = r.driving_keypoints(source, targets_from(source, np.repeat(source.identity[None], 2, 0), eye_open=[1.0, 0.0]),
                             stitch=False)
    torch.testing.assert_close(kp[0], x_s[0], atol=1e-6, rtol=0)
    ratios = prep.eye_ratios
    eye = tiny.nets.stitching.eye
    closed = keypoints.retarget_eye(eye, x_s, torch.tensor([[ratios[0], ratios[1], 0.0]]).float())
    rest = keypoints.retarget_eye(eye, x_s, torch.tensor([[ratios[0], ratios[1], ratios.mean()]]).float())
    torch.testing.assert_close(kp[1], (x_s + closed - rest)[0], atol=1e-5, rtol=0)
    # Lips (no references): the motion's lip-open ratio against the portrait's own.
    r = with_config(tiny, eye_retargeting=False)
    opened = source.identity + exprs["R"]
    kp = r.driving_keypoints(source, targets_from(source, np.stack([source.identity, opened])), stitch=False)
    torch.testing.assert_close(kp[0], x_s[0], atol=1e-6, rtol=0)
    target = float(lip_open_ratio(opened))
    assert target > prep.lip_ratio + 0.2
    lip = tiny.nets.stitching.lip
    want = keypoints.retarget_lip(lip, x_s, torch.tensor([[prep.lip_ratio, target]]).float()) - keypoints.retarget_lip(
        lip, x_s, torch.tensor([[prep.lip_ratio, prep.lip_ratio]]).float()
    )
    torch.testing.assert_close(kp[1], (x_s + want)[0], atol=1e-5, rtol=0)


# ---------------------------------------------------------------- mouth-state blend


def test_mouth_blend_picks_planted_templates():
    face = geometry.canonical_face()
    exprs = planted_expressions()
    templates = np.stack([face + exprs[label] for label in LABELS])
    frames, truth = [], []
    for i, label in enumerate(LABELS):
        for k in (0.8, 1.0, 1.2):
            frames.append(face + k * exprs[label])
            truth.append(i)
    for labels in (LABELS, None):  # grouped by syllable type, and the plain soft assignment
        w = mouth_blend_weights(np.stack(frames), templates, face, labels=labels)
        assert w.shape == (12, 4) and (w >= 0).all()
        np.testing.assert_allclose(w.sum(1), 1.0, atol=1e-12)
        assert list(w.argmax(1)) == truth
        assert (w[np.arange(12), truth][1::3] > 0.95).all()  # exactly a template's shape: (almost) all of it

    # Features are relative to the portrait's own mouth: the same offsets on another face pick alike.
    other = face.copy()
    other[list(geometry.MOUTH), 0] *= 1.15  # a wider mouth
    shapes = np.stack([other + e for e in exprs.values()])
    assert list(mouth_blend_weights(shapes, shapes, other, labels=LABELS).argmax(1)) == [0, 1, 2, 3]


def test_mouth_blend_follows_the_opening_smoothly():
    """Opening a closed mouth toward R or O moves the weight from the closed templates to the open one
    in proportion to the opening, without jumps."""
    face = geometry.canonical_face()
    exprs = planted_expressions()
    templates = np.stack([face + exprs[label] for label in LABELS])
    steps = np.linspace(0.0, 1.0, 21)
    for target in (2, 3):  # R, O
        frames = np.stack([face + f * exprs[LABELS[target]] for f in steps])
        w = mouth_blend_weights(frames, templates, face, labels=LABELS)
        np.testing.assert_allclose(w[:, 2:].sum(1), steps, atol=0.06)  # open share ≈ how far it opened
        assert w[-1, target] > 0.95 and w[0, 0] > 0.95
        assert np.abs(np.diff(w, axis=0)).max() < 0.2  # 5 % more opening never moves much weight
    half = mouth_blend_weights((face + 0.5 * exprs["R"])[None], templates, face, labels=LABELS)[0]
    assert half[0] > 0.4 and half[2] > 0.4

    # Open templates that are not open (a clip without open vowels): the plain soft assignment.
    flat = np.stack([face + exprs[label] for label in ("None", "M", "None", "M")])
    w = mouth_blend_weights(flat[:2], flat, face, labels=LABELS)
    np.testing.assert_allclose(w, mouth_blend_weights(flat[:2], flat, face), atol=1e-12)


def test_frames_take_the_expression_of_the_matching_reference(tiny, prepared):
    """A frame shaped like reference r's template gets r's expression ε̄ (M on r's crop) in its keypoints."""
    source, refs = prepared
    r = with_config(tiny, lip_retargeting=False, eye_retargeting=False)
    motions = r._reference_motions(source, refs)
    prep = source.cache[liveportrait.CACHE_KEY]
    exprs = planted_expressions()
    canonical = np.stack([source.identity + exprs[label] for label in LABELS])
    kp = r.driving_keypoints(source, targets_from(source, canonical), refs, stitch=False)
    templates = np.stack([source.identity + ref.expression for ref in refs])
    w = mouth_blend_weights(canonical, templates, source.identity, labels=LABELS)
    assert (np.diag(w) > 0.95).all()
    blend = torch.einsum("bn,nkj->bkj", torch.tensor(w).float(), torch.stack([m.expression for m in motions]))
    want = keypoints.pose_keypoints(prep.kp_canonical.expand(4, -1, -1), prep.rotation.expand(4, -1, -1), blend,
                            prep.scale.expand(4, -1), prep.translation.expand(4, -1))
    torch.testing.assert_close(kp, want, atol=1e-5, rtol=0)


# ---------------------------------------------------------------- crop


def upstream_crop_box(landmarks: np.ndarray) -> tuple[np.ndarray, float]:
    """(centre xy, side) of the square crop LivePortrait's own cropper would take around these 68
    points (``parse_rect_from_landmark`` with scale 2.3, vy −0.125, the eye-to-mouth axis as "down")."""
    p = np.asarray(landmarks, dtype=np.float64)[:, :2]
    eyes = (p[list(geometry.RIGHT_EYE)].mean(0) + p[list(geometry.LEFT_EYE)].mean(0)) / 2
    down = p[list(geometry.MOUTH)].mean(0) - eyes
    uy = down / max(np.linalg.norm(down), 1e-9)
    ux = np.array([-uy[1], uy[0]])
    centre0 = p.mean(0)
    local = (p - centre0) @ np.stack([ux, uy]).T
    lo, hi = local.min(0), local.max(0)
    side = float((hi - lo).max()) * UPSTREAM_CROP_SCALE
    mid = (lo + hi) / 2
    centre = centre0 + ux * mid[0] + uy * mid[1] - uy * UPSTREAM_CROP_SHIFT_UP * side
    return centre, side


def test_source_crop_frames_the_face_like_liveportrait(tiny, prepared):
    """The SourceFace crop (resized to 256² for F and M) frames the face within a few percent of
    LivePortrait's own cropper applied to the same 68 points."""
    source, _ = prepared
    centre, side = upstream_crop_box(source.landmarks)
    assert 0.88 < side / source.size < 1.0
    assert abs(centre[0] / source.size - 0.5) < 0.02
    assert 0.0 < 0.5 - centre[1] / source.size < 0.1  # LivePortrait's box sits a little higher


# ---------------------------------------------------------------- full size (slow)


@pytest.mark.slow
def test_full_size_networks_on_cpu():
    """The checkpoints' architecture end to end on CPU: F and M on the portrait, M on four references
    (ISP keypoints, eq. 2), and a batch of two frames through W and G with the references blended.

    The ISP images themselves go through the same W+G decode as the frames (checked on the tiny
    networks above); decoding four more 512² images here would add about two minutes on two cores.
    """
    renderer = LivePortraitRenderer.random(device="cpu", seed=0)
    image, landmarks = portrait(seed=3)
    source = renderer.prepare(image, landmarks)
    prep = source.cache[liveportrait.CACHE_KEY]
    assert prep.feature.shape == (1, 32, 16, 64, 64) and renderer.feature_size == 64
    refs = references(source, seed=4)
    isp_kp = renderer.isp_keypoints(source, refs)
    assert isp_kp.shape == (4, 21, 3) and torch.isfinite(isp_kp).all()

    decoded = []
    hook = renderer.nets.generator.register_forward_hook(lambda m, i, o: decoded.append(o))
    try:
        exprs = planted_expressions()
        canonical = np.stack([source.identity, source.identity + exprs["O"]])
        frames = renderer.render(source, targets_from(source, canonical, yaw=10.0, eye_open=[1.0, 0.3]), refs)
    finally:
        hook.remove()
    assert [tuple(o.shape) for o in decoded] == [(2, 3, 512, 512)]
    assert torch.isfinite(decoded[0]).all()
    assert frames.shape == (2, 512, 512, 3) and frames.dtype == np.uint8
    assert frames.std() > 1.0 and not np.array_equal(frames[0], frames[1])


# ---------------------------------------------------------------- selection through the registry


@pytest.fixture
def weights_env(tmp_path, monkeypatch):
    """Empty weights folder and Hub cache, offline, a private copy of the registry."""
    local, cache = tmp_path / "weights", tmp_path / "hub"
    local.mkdir()
    cache.mkdir()
    monkeypatch.setenv("TALKINGHEAD_WEIGHTS_DIR", str(local))
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(hub_constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("TALKINGHEAD_OFFLINE", "1")
    monkeypatch.setattr(weights, "REGISTRY", dict(weights.REGISTRY))
    hub.reset_status()
    weights.clear_hash_cache()
    yield local
    hub.reset_status()
    weights.clear_hash_cache()


def write(path: Path, tensors: dict[str, torch.Tensor]) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file({k: v.detach().clone().contiguous() for k, v in tensors.items()}, str(path), metadata={"format": "pt"})
    return hashlib.sha256(path.read_bytes()).hexdigest()


def fake_hub_files(local: Path, architecture: C.LivePortraitConfig, seed: int = 7):
    """The five files in the Hub layout (stitching file flat, prefixes retarget_*_module) with random
    weights of ``architecture``; returns (nets, {filename: sha256})."""
    torch.manual_seed(seed)
    nets = build_liveportrait(architecture)
    digests = {}
    for role, module in nets.modules_by_role():
        filename = weights.get_spec(WEIGHT_NAMES[role]).filename
        digests[filename] = write(local / "liveportrait" / filename, module.state_dict())
    return nets, digests


def test_auto_falls_back_to_warp_without_weights(weights_env):
    from talkinghead.render.renderer_choice import select_renderer

    renderer, reason = select_renderer("auto")
    assert renderer.name == "warp"
    assert "5 files missing" in reason and "python -m talkinghead weights download liveportrait" in reason
    with pytest.raises(InputError, match="appearance_feature_extractor.safetensors"):
        select_renderer("liveportrait")
    with pytest.raises(weights.WeightsNotFound, match="weights download liveportrait"):
        LivePortraitRenderer.from_registry(device="cpu")


def test_corrupt_files_are_named(weights_env):
    from talkinghead.render.renderer_choice import select_renderer

    for spec in weights.specs("liveportrait"):  # right names, wrong bytes
        write(weights_env / "liveportrait" / spec.filename, {"x": torch.randn(4)})
    renderer, _ = select_renderer("auto")
    assert renderer.name == "warp"
    with pytest.raises(weights.WeightsCorrupt) as err:
        LivePortraitRenderer.from_registry(device="cpu")
    message = str(err.value)
    assert "appearance_feature_extractor.safetensors" in message and "expected sha256" in message
    assert weights.REGISTRY["liveportrait/appearance_feature_extractor"].sha256 in message


def test_auto_picks_liveportrait_with_verified_weights(weights_env, monkeypatch):
    from talkinghead.render.renderer_choice import select_renderer

    monkeypatch.setattr(liveportrait, "ARCHITECTURE", TINY)
    nets, digests = fake_hub_files(weights_env, TINY)
    for spec in weights.specs("liveportrait"):
        weights.REGISTRY[spec.name] = dataclasses.replace(spec, sha256=digests[spec.filename])
    renderer, reason = select_renderer("auto", device="cpu")
    assert isinstance(renderer, LivePortraitRenderer) and reason == "liveportrait weights present and verified"
    for (role, want), (_, got) in zip(nets.modules_by_role(), renderer.nets.modules_by_role()):
        assert not got.training, role
        for key, value in want.state_dict().items():
            torch.testing.assert_close(got.state_dict()[key], value, atol=0, rtol=0, msg=f"{role}.{key}")


def test_layout_mismatch_names_the_file(weights_env, monkeypatch):
    monkeypatch.setattr(liveportrait, "ARCHITECTURE", TINY)
    nets, _ = fake_hub_files(weights_env, TINY)
    state = nets.warping.state_dict()
    state.pop(next(iter(state)))  # one key missing
    warping = weights.get_spec(WEIGHT_NAMES["warping"]).filename
    path = weights_env / "liveportrait" / warping
    digest = write(path, state)
    for spec in weights.specs("liveportrait"):
        existing = weights_env / "liveportrait" / spec.filename
        sha = digest if spec.filename == warping else weights.file_sha256(existing)
        weights.REGISTRY[spec.name] = dataclasses.replace(spec, sha256=sha)
    with pytest.raises(weights.WeightsError, match="warping_module.safetensors"):
        LivePortraitRenderer.from_registry(device="cpu")
