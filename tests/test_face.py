"""Face landmarks: the MediaPipe 468→68 table on a real portrait, face counting, no-face errors,
video tracking through a lost frame, smoothing, backend selection and the drawing helpers."""

from __future__ import annotations

import numpy as np
import pytest
import skimage.data

from talkinghead import geometry, runtime
from talkinghead.errors import InputError
from talkinghead.face import backend_choice, get_landmarker
from talkinghead.face.mediapipe68 import MP_TO_68
from talkinghead.face.plausibility import MIRROR_68, is_plausible_layout
from talkinghead.face.tracking import follow_face, smooth_track
from talkinghead.face.types import FaceCandidate, NoFaceError, points_bbox


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    return skimage.data.astronaut()


@pytest.fixture(scope="module")
def mp_lm():
    return get_landmarker("mediapipe")


@pytest.fixture(scope="module")
def astro_det(mp_lm, astronaut):
    return mp_lm.detect(astronaut)


def _inside(points: np.ndarray, x0: float, y0: float, x1: float, y1: float) -> bool:
    return bool(((points[:, 0] >= x0) & (points[:, 0] <= x1) & (points[:, 1] >= y0) & (points[:, 1] <= y1)).all())


# --------------------------------------------------------------------------------- 468 → 68 table


def test_table_is_a_valid_symmetric_selection():
    idx = np.asarray(MP_TO_68)
    assert idx.shape == (68,) and len(set(idx.tolist())) == 68 and idx.min() >= 0 and idx.max() < 468
    assert sorted(MIRROR_68.tolist()) == list(range(68))
    assert (MIRROR_68[MIRROR_68] == np.arange(68)).all()


def test_astronaut_one_face_on_the_right_features(astro_det):
    det = astro_det
    p = det.points
    assert det.n_faces == 1 and det.backend == "mediapipe"
    assert p.shape == (68, 3) and p.dtype == np.float32 and np.isfinite(p).all()
    # Boxes read off the image (512², face about 95 px wide); subject's right eye is on the image left.
    assert _inside(p[36:42], 190, 93, 220, 111)
    assert _inside(p[42:48], 232, 95, 263, 113)
    assert _inside(p[48:68], 196, 132, 252, 160)
    assert _inside(p[27:36], 205, 95, 240, 136)
    assert p[17:22, 1].max() < p[36:42, 1].min() and p[22:27, 1].max() < p[42:48, 1].min()  # brows above eyes
    assert p[48:68, 1].min() > p[33, 1]  # mouth below the nose
    assert p[8, 1] > p[57, 1] > p[51, 1]  # chin below the lower lip below the upper lip
    assert p[0:8, 0].mean() < p[8, 0] < p[9:17, 0].mean()  # jaw runs from image left to right
    x0, y0, x1, y1 = det.bbox
    assert _inside(p, x0 - 1, y0 - 1, x1 + 1, y1 + 1)
    assert p[30, 2] < p[0, 2] and p[30, 2] < p[16, 2]  # nose tip nearer the camera than the jaw ends


def test_astronaut_is_frontal(astro_det):
    yaw, pitch, roll = geometry.fit_pose(astro_det.points).angles()
    assert abs(yaw) < 15 and abs(pitch) < 15 and abs(roll) < 15


def test_z_is_in_pixels(astro_det):
    p = astro_det.points.astype(np.float64)
    pose = geometry.fit_pose(p)
    depth = p[:, 2].max() - p[:, 2].min()
    assert 0.3 * pose.scale < depth < 1.5 * pose.scale  # a face is about as deep as it is wide


# ------------------------------------------------------------------------------------ no face


@pytest.mark.parametrize("kind", ["flat", "noise"])
def test_no_face_is_an_input_error(mp_lm, kind):
    rng = np.random.default_rng(0)
    image = np.full((240, 320, 3), 128, np.uint8) if kind == "flat" else rng.integers(0, 256, (240, 320, 3), np.uint8)
    with pytest.raises(NoFaceError, match=r"^No face found in the portrait: upload"):
        mp_lm.detect(image, what="the portrait")


def test_bad_image_array_is_an_input_error(mp_lm):
    with pytest.raises(InputError, match="RGB image"):
        mp_lm.detect(np.zeros((64, 64), np.float32))


# ------------------------------------------------------------------------- human or animal


@pytest.fixture(scope="module")
def monkey(media_dir) -> np.ndarray:
    from talkinghead import media

    return media.load_image(media_dir / "portraits" / "lp_s22.jpg")


def test_monkey_is_not_a_human_face(mp_lm, monkey):
    with pytest.raises(InputError, match=r"^No human face found in the portrait .*upload a photo where one person"):
        mp_lm.detect(monkey, what="the portrait")


def test_monkey_fails_both_cues_with_a_margin(mp_lm, monkey):
    """Both cues, each on its own side of its threshold by a margin (measured: fur 0.89, logit 1.02)."""
    from talkinghead.face import humanness

    (face,) = mp_lm.faces(monkey)
    cues = humanness.assess(monkey, face.points)
    assert cues.is_animal
    assert cues.fur >= humanness.FUR_MIN + 0.15
    assert cues.detector_logit < humanness.DETECTOR_LOGIT_MAX - 0.2


@pytest.mark.parametrize("name", ["hallo_ref1", "lp_s1", "lp_s10", "lp_s2"])
def test_real_portraits_are_human(mp_lm, media_dir, name):
    """A painting, a photo, a painting in three-quarter view and a black-and-white photo."""
    from talkinghead import media
    from talkinghead.face import humanness

    image = media.load_image(media_dir / "portraits" / f"{name}.jpg")
    det = mp_lm.detect(image, what="the portrait")
    assert det.n_faces == 1
    cues = humanness.assess(image, det.points, always_detector=True)
    assert cues.fur <= humanness.FUR_MIN - 0.3  # measured ≤ 0.11
    assert cues.detector_logit >= humanness.DETECTOR_LOGIT_MAX + 0.5  # measured ≥ 2.27


# Frames of every style clip: blinks (b), wide-open mouths (o), turned heads (t) and plain ones.
STYLE_FRAMES = {
    "dt_M030_front_neutral_level1_001": (0, 5, 90),  # o, closed mouth
    "dt_W009_front_happy_level3_001": (48, 107),  # b, o
    "lp_d10": (100, 333, 362),  # o, b, t
    "lp_d14": (51, 86, 321),  # b, t
    "lp_d3": (58, 141, 265, 316),  # b, grimace, t 24°, o
    "sad_WDA_KatieHill_000": (36, 172, 199),  # t 22° with hair over a cheek, b, bright background
    "st_Obama_clip3": (439, 580),  # b, t
    "st_furious_talk1_clip2": (10, 122, 144),  # t 37–40°, o
    "st_happyenglish_clip2": (194, 305, 389),  # b, b + o, t 24°
}


@pytest.mark.parametrize("clip", sorted(STYLE_FRAMES))
def test_style_clip_frames_are_human(mp_lm, media_dir, clip):
    from talkinghead import media

    indices = STYLE_FRAMES[clip]
    frames = media.load_video(media_dir / "style_clips" / f"{clip}.mp4", max_frames=max(indices) + 1, with_audio=False)
    for i in indices:
        det = mp_lm.detect(frames.frames[i], what=f"frame {i} of {clip}")
        assert det.n_faces == 1


def test_pale_cheeks_alone_do_not_make_an_animal(mp_lm, astronaut, astro_det):
    """Cue 1 fires on a person whose outer cheeks are painted white, but the face detector is
    sure of the face, so the portrait is accepted: refusing needs both cues."""
    import cv2

    from talkinghead.face import humanness

    assert humanness.fur_fraction(astronaut, astro_det.points) == 0.0
    painted = astronaut.copy()
    p = astro_det.points[:, :2].astype(np.float64)
    for jaw in humanness.BAND_JAW:
        band = np.array([p[k] + t * (p[30] - p[k]) for k in jaw for t in (0.0, 0.3)])
        cv2.fillConvexPoly(painted, cv2.convexHull(band.round().astype(np.int32)), (250, 248, 240))
    cues = humanness.assess(painted, astro_det.points, always_detector=True)
    assert cues.fur >= humanness.FUR_MIN
    assert not cues.is_animal
    det = mp_lm.detect(painted)
    assert det.n_faces == 1


def test_grey_faces_give_no_fur_evidence(astronaut, astro_det):
    from talkinghead.face import humanness

    grey = np.repeat(astronaut.mean(-1, keepdims=True), 3, -1).astype(np.uint8)
    assert humanness.fur_fraction(grey, astro_det.points) == 0.0


def test_humanness_cues_rule():
    from talkinghead.face.humanness import DETECTOR_LOGIT_MAX, FUR_MIN, HumannessCues

    assert HumannessCues(FUR_MIN, DETECTOR_LOGIT_MAX - 0.1).is_animal
    assert not HumannessCues(FUR_MIN - 0.01, -5.0).is_animal  # the detector alone never refuses
    assert not HumannessCues(1.0, DETECTOR_LOGIT_MAX).is_animal  # nor fur alone
    assert not HumannessCues(1.0, None).is_animal


def test_layout_check_rejects_broken_faces(astro_det):
    p = astro_det.points.astype(np.float64)
    assert is_plausible_layout(p)
    c, s = np.cos(np.deg2rad(60)), np.sin(np.deg2rad(60))
    rotated = p.copy()
    rotated[:, :2] = (p[:, :2] - p[:, :2].mean(0)) @ np.array([[c, s], [-s, c]]) + p[:, :2].mean(0)
    assert is_plausible_layout(rotated)  # a tilted head is still a face
    swapped = p.copy()
    swapped[:, 0] = 2 * p[:, 0].mean() - p[:, 0]  # mirrored without relabelling: eyes swapped
    assert not is_plausible_layout(swapped)
    upside = p.copy()
    upside[48:68, 1] -= 60  # mouth above the nose
    assert not is_plausible_layout(upside)
    nan = p.copy()
    nan[3, 0] = np.nan
    assert not is_plausible_layout(nan)


# ---------------------------------------------------------------------------- several faces


@pytest.mark.parametrize("big_on_left", [True, False])
def test_two_faces_counted_and_largest_chosen(mp_lm, astronaut, big_on_left):
    import cv2

    face = astronaut[30:230, 130:320]  # 200×190 crop around the face
    small = cv2.resize(face, None, fx=0.7, fy=0.7, interpolation=cv2.INTER_AREA)  # 140×133
    canvas = np.full((220, 363, 3), 200, np.uint8)
    if big_on_left:
        canvas[10:210, 10:200] = face
        canvas[30:170, 215:348] = small
    else:
        canvas[10:210, 163:353] = face
        canvas[30:170, 15:148] = small
    det = mp_lm.detect(canvas)
    assert det.n_faces == 2
    centre = (det.bbox[0] + det.bbox[2]) / 2
    assert (centre < 181) == big_on_left  # the big face was chosen
    assert np.linalg.norm(det.points[45, :2] - det.points[36, :2]) > 40


# ---------------------------------------------------------------------------------- tracking


def _shifted_clip(image: np.ndarray, n: int, step: int = 3) -> np.ndarray:
    frames = np.empty((n,) + image.shape, np.uint8)
    for t in range(n):
        frames[t] = np.roll(image, step * t, axis=1)
    return frames


def test_track_interpolates_a_lost_frame(mp_lm, astronaut):
    frames = _shifted_clip(astronaut, 11)
    frames[5] = 127  # the face vanishes in one frame
    vl = mp_lm.track(frames, 25.0)
    assert vl.points.shape == (11, 68, 3) and vl.points.dtype == np.float32
    assert vl.found.tolist() == [True] * 5 + [False] + [True] * 5
    assert vl.n_faces.tolist() == [1] * 5 + [0] + [1] * 5
    assert vl.backend == "mediapipe"
    # the face moves 3 px per frame; the filled frame sits between its neighbours
    nose = vl.points[:, 30, 0]
    assert np.allclose(np.diff(nose), 3.0, atol=1.0)
    assert abs(nose[5] - (nose[4] + nose[6]) / 2) < 1.0


def test_track_without_any_face_is_an_input_error(mp_lm):
    frames = np.full((4, 120, 160, 3), 90, np.uint8)
    with pytest.raises(NoFaceError, match="No face found in the style clip"):
        mp_lm.track(frames, 25.0, what="the style clip")


def test_track_accepts_a_list_of_frames(mp_lm, astronaut):
    frames = list(_shifted_clip(astronaut, 3))
    vl = mp_lm.track(frames, 30.0)
    assert vl.found.all() and vl.points.shape == (3, 68, 3)


def test_track_follows_the_larger_of_two_people(mp_lm, astronaut):
    import cv2

    face = astronaut[30:230, 130:320]
    small = cv2.resize(face, None, fx=0.7, fy=0.7, interpolation=cv2.INTER_AREA)
    frames = np.full((8, 220, 363, 3), 200, np.uint8)
    for t in range(8):
        frames[t, 10:210, 163 - 2 * t : 353 - 2 * t] = face  # the big face drifts left
        frames[t, 30:170, 15:148] = small
    vl = mp_lm.track(frames, 25.0)
    assert vl.found.all() and (vl.n_faces == 2).all()
    eye_x = vl.points[:, 36:48, 0].mean(1)
    assert (eye_x > 181).all()  # always the big face on the right
    assert np.allclose(np.diff(eye_x), -2.0, atol=0.7)


def test_detect_is_thread_safe(mp_lm, astronaut, astro_det):
    from concurrent.futures import ThreadPoolExecutor

    images = [astronaut, np.ascontiguousarray(astronaut[:, ::-1])] * 4
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(mp_lm.detect, images))
    for i, det in enumerate(results):
        if i % 2 == 0:
            np.testing.assert_allclose(det.points, astro_det.points, atol=1e-3)
        else:  # the mirrored image: the face mirrored back matches
            back = det.points[MIRROR_68].copy()
            back[:, 0] = astronaut.shape[1] - back[:, 0]
            assert np.abs(back[:, :2] - astro_det.points[:, :2]).mean() < 2.0


def _candidate(points: np.ndarray) -> FaceCandidate:
    return FaceCandidate(points.astype(np.float32), points_bbox(points))


def test_follow_face_keeps_the_dominant_person():
    can = geometry.canonical_face()
    big = geometry.Pose.from_angles(0, 0, 0, translation=np.array([100.0, 100, 0]), scale=60).apply(can)
    small = geometry.Pose.from_angles(0, 0, 0, translation=np.array([300.0, 100, 0]), scale=40).apply(can)
    huge = geometry.Pose.from_angles(0, 0, 0, translation=np.array([300.0, 100, 0]), scale=90).apply(can)
    per_frame = [[_candidate(big), _candidate(small)] for _ in range(10)]
    per_frame[4] = [_candidate(huge)]  # another face is larger in one frame while ours is lost
    per_frame[5] = []
    points, found = follow_face(per_frame)
    assert found.tolist() == [True] * 4 + [False, False] + [True] * 4
    assert np.allclose(points[found][:, 30, 0], 100.0)
    assert follow_face([[], []]) is None


def test_smoothing_keeps_the_mouth_and_removes_jitter():
    rng = np.random.default_rng(1)
    can = geometry.canonical_face()
    n, fps = 60, 30.0
    clean = np.empty((n, 68, 3))
    for t in range(n):
        face = can.copy()
        if 28 <= t <= 31:  # a 4-frame (0.13 s) mouth opening: lower lip and jaw drop 0.25 IOD
            face[list(range(55, 60)) + [65, 66, 67] + list(range(5, 12))] += [0, 0.25, 0]
        pose = geometry.Pose.from_angles(10 * np.sin(t / 9), 0, 0, translation=np.array([200.0 + t, 150, 0]), scale=80)
        clean[t] = pose.apply(face)
    noisy = clean + rng.normal(0, 0.6, clean.shape)
    out = smooth_track(noisy, np.ones(n, bool), fps)
    rigid = list(geometry.RIGID)
    err_in = np.abs(noisy[:, rigid] - clean[:, rigid]).mean()
    err_out = np.abs(out[:, rigid] - clean[:, rigid]).mean()
    assert err_out < 0.7 * err_in
    opening = geometry.mouth_features(out).opening
    truth = geometry.mouth_features(clean).opening
    assert opening[28:32].max() > 0.85 * truth[28:32].max()
    assert int(np.argmax(opening)) in range(28, 32)  # no lag


# --------------------------------------------------------------------------- backend choice


@pytest.fixture
def fake_env(monkeypatch):
    """Backend selection with a controllable GPU, weight cache and network."""
    state = {"cuda": False, "weights": False, "reachable": False, "reached": 0}
    from talkinghead.face import fan_backend

    monkeypatch.setattr(runtime, "cuda_available", lambda: state["cuda"])
    monkeypatch.setattr(fan_backend, "weights_present", lambda: state["weights"])

    def reach(url, timeout):
        state["reached"] += 1
        return state["reachable"]

    monkeypatch.setattr(runtime, "reachable", reach)
    for var in (backend_choice.ENV_BACKEND, *runtime.OFFLINE_ENV):
        monkeypatch.delenv(var, raising=False)
    return state


def test_auto_without_gpu_is_mediapipe(fake_env):
    fake_env["weights"] = True
    name, reason = backend_choice.resolve_backend("auto")
    assert name == "mediapipe" and "no CUDA GPU" in reason


def test_auto_with_gpu_and_cached_weights_is_fan(fake_env):
    fake_env.update(cuda=True, weights=True)
    assert backend_choice.resolve_backend("auto")[0] == "fan"
    assert fake_env["reached"] == 0


def test_auto_with_gpu_downloads_only_when_online(fake_env, monkeypatch):
    fake_env.update(cuda=True, reachable=True)
    assert backend_choice.resolve_backend("auto")[0] == "fan"
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    reached = fake_env["reached"]
    name, reason = backend_choice.resolve_backend("auto")
    assert name == "mediapipe" and "offline" in reason and fake_env["reached"] == reached
    monkeypatch.delenv("HF_HUB_OFFLINE")
    fake_env["reachable"] = False
    assert backend_choice.resolve_backend("auto")[0] == "mediapipe"


def test_env_and_argument_override(fake_env, monkeypatch):
    fake_env.update(cuda=True, weights=True)
    monkeypatch.setenv(backend_choice.ENV_BACKEND, "mediapipe")
    assert backend_choice.resolve_backend("auto") == ("mediapipe", f"{backend_choice.ENV_BACKEND}=mediapipe")
    assert backend_choice.resolve_backend("fan")[0] == "fan"  # the argument beats the environment
    fake_env["cuda"] = False
    monkeypatch.setenv(backend_choice.ENV_BACKEND, "fan")
    assert backend_choice.resolve_backend("auto")[0] == "fan"
    monkeypatch.setenv(backend_choice.ENV_BACKEND, "dlib")
    with pytest.raises(InputError, match=backend_choice.ENV_BACKEND):
        backend_choice.resolve_backend("auto")
    with pytest.raises(InputError, match="Unknown landmark backend"):
        backend_choice.resolve_backend("openface")


def test_auto_falls_back_when_fan_fails_to_load(fake_env, monkeypatch, caplog):
    fake_env.update(cuda=True, weights=True)
    real = backend_choice._construct
    attempts = []

    def construct(name, device):
        if name == "fan":
            attempts.append(device)
            raise InputError("weights unavailable")
        return real(name, device)

    monkeypatch.setattr(backend_choice, "_construct", construct)
    monkeypatch.setattr(backend_choice, "_cache", {})
    monkeypatch.setattr(backend_choice, "_resolved", {})
    with caplog.at_level("INFO", logger="talkinghead.face.backend_choice"):
        lm = backend_choice.get_landmarker("auto")
    assert lm.name == "mediapipe"
    assert "fan failed to load" in caplog.text
    assert backend_choice.get_landmarker("auto") is lm and len(attempts) == 1  # not retried on every call
    with pytest.raises(InputError, match="weights unavailable"):
        backend_choice.get_landmarker("fan")


def test_landmarker_is_cached(mp_lm):
    assert get_landmarker("mediapipe") is mp_lm


def test_fan_backend_converts_depth(monkeypatch, astro_det):
    """The FAN wrapper with face-alignment's network replaced: z is negated, boxes kept."""
    import face_alignment

    from talkinghead.face.fan_backend import FanLandmarker

    fan_points = astro_det.points.copy()
    fan_points[:, 2] = -fan_points[:, 2]  # FAN's z points toward the camera

    class FakeFA:
        def __init__(self, landmarks_type, *, device, flip_input, compile):
            assert landmarks_type == face_alignment.LandmarksType.THREE_D and compile is False

        def get_landmarks_from_image(self, image, return_bboxes=False):
            return [fan_points], None, [np.array([170.0, 60.0, 280.0, 190.0, 0.99])]

    monkeypatch.setattr(face_alignment, "FaceAlignment", FakeFA)
    det = FanLandmarker(device="cpu").detect(skimage.data.astronaut())
    assert det.backend == "fan" and det.n_faces == 1
    assert det.bbox == (170.0, 60.0, 280.0, 190.0)
    np.testing.assert_allclose(det.points, astro_det.points)


def test_fan_without_weights_offline_is_a_clear_error(monkeypatch):
    import face_alignment

    from talkinghead.face.fan_backend import FanLandmarker

    def offline(*args, **kwargs):
        raise OSError("<urlopen error [Errno -3] Temporary failure in name resolution>")

    monkeypatch.setattr(face_alignment, "FaceAlignment", offline)
    with pytest.raises(InputError, match="--landmarks mediapipe"):
        FanLandmarker(device="cpu")


# ------------------------------------------------------------------------------- drawing


def test_draw_facial_map(astronaut, astro_det):
    from talkinghead import viz

    before = astronaut.copy()
    out = viz.draw_facial_map(astronaut, astro_det.points, color=(0, 255, 0))
    assert out.shape == astronaut.shape and out.dtype == np.uint8
    np.testing.assert_array_equal(astronaut, before)  # input untouched
    changed = np.any(out != astronaut, axis=-1)
    ys, xs = np.nonzero(changed)
    x0, y0, x1, y1 = points_bbox(astro_det.points)
    assert changed.sum() > 300
    assert xs.min() >= x0 - 6 and xs.max() <= x1 + 6 and ys.min() >= y0 - 6 and ys.max() <= y1 + 6


def test_render_facial_map_fits_the_canvas():
    from talkinghead import viz

    img = viz.render_facial_map(geometry.canonical_face() * 50, 256)
    assert img.shape == (256, 256, 3)
    ys, xs = np.nonzero(img.max(-1) > 0)
    assert 20 <= xs.min() and xs.max() <= 236 and 20 <= ys.min() and ys.max() <= 236
    assert xs.max() - xs.min() > 150 or ys.max() - ys.min() > 150


# ------------------------------------------------------------------------------------ CLI


def test_cli_on_an_image(tmp_path, astronaut, capsys):
    from talkinghead import media
    from talkinghead.cli import main

    src = media.save_image(tmp_path / "astronaut.png", astronaut)
    out = tmp_path / "preview.png"
    assert main(["landmarks", str(src), "-o", str(out), "--landmarks", "mediapipe"]) == 0
    text = capsys.readouterr().out
    assert "1 face(s)" in text and "yaw" in text and "mouth opening" in text
    assert media.load_image(out).shape == astronaut.shape


def test_cli_on_a_video(tmp_path, astronaut, capsys):
    from talkinghead import media
    from talkinghead.cli import main

    src = media.write_video(tmp_path / "clip.mp4", _shifted_clip(astronaut[:256, 96:352], 6, step=2), 25.0)
    out = tmp_path / "preview.mp4"
    assert main(["landmarks", str(src), "-o", str(out), "--landmarks", "mediapipe"]) == 0
    text = capsys.readouterr().out
    assert "face found in 6/6 frames" in text and "summary:" in text
    assert len(media.load_video(out, with_audio=False)) == 6


def test_cli_without_a_face_says_so(tmp_path, capsys):
    from talkinghead import media
    from talkinghead.cli import main

    src = media.save_image(tmp_path / "wall.png", np.full((100, 100, 3), 200, np.uint8))
    assert main(["landmarks", str(src), "--landmarks", "mediapipe"]) == 2
    assert "No face found in wall.png" in capsys.readouterr().err


def test_a_face_small_in_a_wide_picture_is_found_in_tiles(mp_lm, astronaut, astro_det):
    """The astronaut in a panorama six times as wide: a whole-image pass misses the face; the
    tiles find it, at the place the astronaut alone puts it."""
    h, w = astronaut.shape[:2]
    wide = np.full((h, 6 * w, 3), (90, 110, 140), dtype=np.uint8)
    wide[:, 3 * w : 4 * w] = astronaut
    assert mp_lm.faces(wide) == []  # what made the tiles necessary
    det = mp_lm.detect(wide, what="the panorama")
    assert det.n_faces == 1
    shift = np.array([3 * w, 0, 0], dtype=np.float32)
    assert np.abs(det.points[:, :2] - (astro_det.points + shift)[:, :2]).max() < 0.02 * w
