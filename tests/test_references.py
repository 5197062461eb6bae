"""Style clip analysis: retrieval of planted None/M/R/O frames from synthetic landmark tracks,
low-confidence flags, φ_s resampling, pose tracks of any length, blinks, and bad style clips
(no face, one face frame, a still image, a long clip, portrait orientation, two people)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from talkinghead import geometry
from talkinghead.errors import InputError
from talkinghead.face.types import VideoLandmarks
from talkinghead.render.base import ReferenceFrame
from talkinghead.style import (
    LABELS,
    PoseTrack,
    StyleConfig,
    analyse_style,
    analyse_track,
)

FPS = 25.0
SCALE = 100.0  # image pixels per inter-ocular unit
CENTRE = np.array([256.0, 256.0, 0.0])
UPPER_OUTER, LOWER_OUTER = [49, 50, 51, 52, 53], [55, 56, 57, 58, 59]


# ------------------------------------------------------------------------------ synthetic faces


def mouth_state(kind: str, amount: float = 1.0) -> np.ndarray:
    """The canonical face with a mouth state: "closed" (relaxed), "pressed" (lips thinned by
    ``0.45·amount``), "spread" / "round" (jaw dropped by 0.3·amount, corners out/in)."""
    c = geometry.canonical_face().copy()
    for a, b in geometry.INNER_LIP_PAIRS:  # close the inner lips
        mid = (c[a, 1] + c[b, 1]) / 2.0
        c[a, 1], c[b, 1] = mid - 0.004, mid + 0.004
    if kind == "closed":
        return c
    if kind == "pressed":
        f = 0.45 * amount
        c[UPPER_OUTER, 1] += f * (c[62, 1] - c[UPPER_OUTER, 1])
        c[LOWER_OUTER, 1] += f * (c[66, 1] - c[LOWER_OUTER, 1])
        return c
    drop = 0.3 * amount
    lower = LOWER_OUTER + list(geometry.LOWER_INNER_LIP)
    c[lower, 1] += drop
    c[[*geometry.OUTER_LIP_CORNERS, *geometry.INNER_LIP_CORNERS], 1] += drop / 2.0
    jaw = np.arange(4, 13)
    c[jaw, 1] += drop * np.clip(1.0 - np.abs(jaw - 8) / 5.0, 0.0, 1.0)
    factor = 1.0 + (0.12 if kind == "spread" else -0.18) * amount
    mouth = list(geometry.MOUTH)
    c[mouth, 0] *= factor
    return c


def close_eyes(c: np.ndarray, amount: float) -> np.ndarray:
    """Lower the upper eyelids (37, 38, 43, 44) toward the lower ones by ``amount`` (1 = shut)."""
    c = c.copy()
    for up, low in ((37, 41), (38, 40), (43, 47), (44, 46)):
        c[up, 1] += amount * 0.95 * (c[low, 1] - c[up, 1])
    return c


def pose(c: np.ndarray, yaw: float = 0.0, pitch: float = 0.0, roll: float = 0.0, scale: float = SCALE) -> np.ndarray:
    return scale * c @ geometry.angles_to_rotation(yaw, pitch, roll).T + CENTRE


# Planted frames (the middle of a 3-frame hold whose outer frames are turned and noisy).
PLANTED = {"None": 20, "M": 35, "R": 50, "O": 62}


def planted_track(seed: int = 0) -> np.ndarray:
    """75 frames: speech-like partial mouth shapes, a few turned closed frames, and one clean,
    frontal frame per template at PLANTED."""
    rng = np.random.default_rng(seed)
    frames = []
    for i in range(75):
        kind = rng.choice(["spread", "round"])
        c = mouth_state(str(kind), rng.uniform(0.2, 0.45))
        if i < 8:
            c = mouth_state("closed")
        yaw = rng.uniform(12.0, 20.0) * rng.choice([-1, 1])
        frames.append(pose(c + rng.normal(0, 0.004, c.shape), yaw, rng.uniform(-5, 5), rng.uniform(-4, 4)))
    states = {"None": ("closed", 1.0, 1.0), "M": ("pressed", 1.0, 0.7), "R": ("spread", 1.0, 0.8),
              "O": ("round", 1.0, 0.8)}
    for label, (kind, amount, side) in states.items():
        i = PLANTED[label]
        frames[i] = pose(mouth_state(kind, amount))
        for j in (i - 1, i + 1):
            c = mouth_state(kind, side)
            frames[j] = pose(c + rng.normal(0, 0.004, c.shape), 10.0)
    return np.array(frames)


def tracked(points: np.ndarray, found: np.ndarray | None = None) -> VideoLandmarks:
    """A landmark track as a landmarker returns it: one face in every frame unless ``found`` says otherwise."""
    found = np.ones(len(points), bool) if found is None else found
    return VideoLandmarks(points, found, (found & np.isfinite(points).all(axis=(1, 2))).astype(int), "track")


@pytest.fixture(scope="module")
def planted():
    return analyse_track(tracked(planted_track()), FPS)


def test_retrieval_finds_the_planted_frames(planted):
    refs = planted.references
    assert [r.label for r in refs] == list(LABELS)
    assert {r.label: r.frame_index for r in refs} == PLANTED
    for r in refs:
        assert not r.low_confidence and r.confidence > 0.8, (r.label, r.confidence)
        assert 0.0 < r.score <= r.confidence <= 1.0
        assert r.time == pytest.approx(r.frame_index / FPS)
    assert planted.warnings == []


def test_reference_crops_landmarks_and_render_frames(planted):
    for r in planted.references:
        assert r.crop.shape == (512, 512, 3) and r.crop.dtype == np.uint8
        assert r.crop.max() > 0  # a drawn facial map when there is no video
        assert r.landmarks.shape == (68, 3)
        assert np.allclose(r.pose.apply(planted.neutral + r.expression), r.landmarks, atol=0.05 * r.pose.scale)
        frame = r.to_render()
        assert isinstance(frame, ReferenceFrame) and frame.label == r.label
    none = planted.references[0]
    r_ref = planted.references[2]
    assert np.abs(none.expression).max() < 0.03  # None is the person's neutral
    assert r_ref.expression[57, 1] > 0.2  # R's lower lip well below the neutral's


def test_retrieval_is_scale_and_pose_free(planted):
    pts = planted_track()
    rot = geometry.angles_to_rotation(0.0, 0.0, 15.0)
    moved = 2.5 * (pts - CENTRE) @ rot.T + np.array([900.0, 700.0, 40.0])
    again = analyse_track(tracked(moved), FPS)
    assert [r.frame_index for r in again.references] == [r.frame_index for r in planted.references]


def test_a_mouth_that_never_opens_gives_low_confidence_r_and_o():
    rng = np.random.default_rng(1)
    frames = []
    for i in range(60):
        c = mouth_state("pressed", 0.8) if i % 10 == 0 else mouth_state("closed")
        frames.append(pose(c + rng.normal(0, 0.003, c.shape), rng.uniform(-8, 8)))
    a = analyse_track(tracked(np.array(frames)), FPS)
    flags = {r.label: r.low_confidence for r in a.references}
    assert flags == {"None": False, "M": False, "R": True, "O": True}
    assert len({r.frame_index for r in a.references}) == 4
    text = " ".join(a.warnings)
    assert "'R'" in text and "'O'" in text and "'M'" not in text


def test_four_distinct_frames_even_when_all_frames_are_equal():
    frames = np.repeat(pose(mouth_state("closed"))[None], 12, 0)
    a = analyse_track(tracked(frames), FPS)
    assert len({r.frame_index for r in a.references}) == 4


def test_phi_s_is_canonical_style_motion_resampled(planted):
    phi = planted.phi_s()
    assert phi.shape == (75, 68, 3) and phi.dtype == np.float32
    none = PLANTED["None"]
    assert np.allclose(phi[none], geometry.canonical_face(), atol=0.01)  # neutral → canonical face
    # R's mouth motion (lower lip down) appears on the canonical face
    assert phi[PLANTED["R"], 57, 1] - geometry.canonical_face()[57, 1] > 0.2
    phi50 = planted.phi_s(50.0)
    assert phi50.shape == (150, 68, 3)
    assert np.allclose(phi50[::2], phi, atol=1e-5)  # the original samples are kept
    assert planted.phi_s(12.5).shape == (38, 68, 3)


def test_face_motion_that_follows_the_head_turn_is_not_expression():
    """A landmarker's jaw contour slides as the head turns: planted here as a sideways shift of the
    jaw points in step with the yaw (0.004 eye distances per degree, 0.06 at 15°). The analysed
    expression keeps under a tenth of it, and the mouth's opening, which varies on its own, stays
    as planted."""
    rng = np.random.default_rng(3)
    n = 150
    yaw = 15.0 * np.sin(np.linspace(0.0, 6.0 * np.pi, n))
    amounts = rng.uniform(0.0, 0.5, n)
    frames = []
    for y, amount in zip(yaw, amounts):
        c = mouth_state("spread", amount) if amount > 0.05 else mouth_state("closed")
        c[list(geometry.JAW), 0] += 0.004 * y
        frames.append(pose(c + rng.normal(0, 0.002, c.shape), y, 0.0, 0.0))
    track = analyse_track(tracked(np.array(frames)), FPS).track
    jaw_x = track.expression[:, list(geometry.JAW), 0].mean(1)
    leak = np.polyfit(track.angles[:, 0], jaw_x, 1)[0]  # eye distances per degree
    assert abs(leak) < 0.0004, leak
    planted = np.array([geometry.mouth_features(mouth_state("spread", a) if a > 0.05 else mouth_state("closed")).opening
                        for a in amounts])
    assert np.corrcoef(track.mouth[:, 0], planted)[0, 1] > 0.98


def sway_track(seconds: float = 4.0) -> np.ndarray:
    t = np.arange(int(seconds * FPS)) / FPS
    c = mouth_state("closed")
    return np.array([pose(c, 10.0 * np.sin(2 * np.pi * 0.5 * x), 3.0 * np.sin(2 * np.pi * x)) for x in t])


def test_pose_track_any_length_without_jumps():
    a = analyse_track(tracked(sway_track()), FPS)
    clip_step = np.abs(np.diff(a.pose_track(100, FPS).delta_angles, axis=0)).max()
    assert 0.5 < clip_step < 1.5  # ±10° at 0.5 Hz: at most 10·π/25 ≈ 1.26°/frame
    for n, fps in ((30, 25.0), (1000, 25.0), (777, 60.0)):
        track = a.pose_track(n, fps, seed=3)
        assert isinstance(track, PoseTrack) and len(track) == n
        assert track.delta_angles.shape == (n, 3) and track.delta_translation.shape == (n, 3)
        steps = np.abs(np.diff(track.delta_angles, axis=0)).max()
        assert steps < 2.0 * clip_step * 25.0 / fps + 0.05, (n, fps, steps)  # seams cross-faded, no jumps
        assert np.abs(track.delta_angles[:, 0]).max() > 5.0  # the sway is there
    assert len(a.pose_track(0, 25.0)) == 0


def test_pose_track_strength_and_composition():
    a = analyse_track(tracked(sway_track()), FPS)
    base = geometry.Pose.from_angles(5.0, -3.0, 2.0, translation=np.array([256.0, 250.0, 0.0]), scale=120.0)
    still = a.pose_track(200, 30.0, strength=0.0)
    assert np.all(still.delta_angles == 0) and np.all(still.delta_translation == 0)
    rot, trans, scales = still.apply(base)
    assert np.allclose(rot, base.rotation) and np.allclose(trans, base.translation) and np.allclose(scales, 120.0)
    full, half = a.pose_track(200, 30.0), a.pose_track(200, 30.0, strength=0.5)
    assert np.allclose(half.delta_angles, 0.5 * full.delta_angles)
    rot, trans, scales = full.apply(base)
    assert rot.shape == (200, 3, 3) and np.allclose(np.einsum("tij,tkj->tik", rot, rot), np.eye(3), atol=1e-9)
    yaws = [geometry.rotation_to_angles(r)[0] for r in rot]
    assert max(yaws) - min(yaws) > 12.0  # the clip's ±10° sway around the portrait's own 5°
    with pytest.raises(ValueError):
        a.pose_track(10, 25.0, strength=-1.0)


def test_blink_detected_from_a_planted_eye_openness_dip():
    c = mouth_state("closed")
    frames = []
    for i in range(100):  # 4 s, one blink at 2.0–2.2 s
        k = i - 50
        closing = {0: 0.5, 1: 1.0, 2: 1.0, 3: 0.6, 4: 0.2}.get(k, 0.0)
        frames.append(pose(close_eyes(c, closing), yaw=2.0 * np.sin(i / 9.0)))
    a = analyse_track(tracked(np.array(frames)), FPS)
    assert len(a.blinks.events) == 1
    start, end = a.blinks.events[0]
    assert 1.9 < start < 2.1 and 2.05 < end < 2.3
    assert a.blinks.rate_per_min == pytest.approx(15.0)
    sched = a.blink_schedule(25 * 60, 25.0, seed=1)
    assert sched.shape == (1500,) and sched.min() >= 0.0 and sched.max() <= 1.0 and sched.min() < 0.2
    dips = np.flatnonzero((sched[1:] < 0.5) & (sched[:-1] >= 0.5))
    assert 5 <= len(dips) <= 35  # ≈ 15 per minute
    assert np.all(a.blink_schedule(100, 25.0, enabled=False) == 1.0)


@pytest.mark.parametrize(("rate", "half_closed", "fps"), [(15.0, 0.15, 25.0), (30.0, 0.18, 30.0), (6.0, 0.29, 25.0)])
def test_scheduled_blinks_last_as_long_as_the_clips(rate, half_closed, fps):
    """The schedule's blinks, measured by the same detector as the clip's, are as long past half
    closed as the clip's (within a frame) and come at its rate; a clip's blink of 0.15 s must not
    come out as one of 0.08 s."""
    from talkinghead.style.blinks import HALF_CLOSED_RANGE_S, BlinkStats, blink_schedule, detect_blinks
    from talkinghead.style.config import StyleConfig

    config = StyleConfig()
    events = [(1.0, 1.0 + half_closed)]
    clip = BlinkStats(events=events, rate_per_min=rate, mean_duration_s=half_closed, duration_s=60.0)
    sched = blink_schedule(clip, int(600 * fps), fps, seed=3, enabled=True, config=config)
    back = detect_blinks(sched[:, None], np.ones(len(sched), bool), fps, config)
    expected = min(half_closed, HALF_CLOSED_RANGE_S[1])  # longer closures are clamped
    assert back.mean_duration_s == pytest.approx(expected, abs=1.0 / fps)
    assert back.rate_per_min == pytest.approx(rate, rel=0.15)


def test_default_blink_rate_when_the_clip_never_blinks(planted):
    assert planted.blinks.events == []
    sched = planted.blink_schedule(30 * 60, 30.0, seed=0)
    dips = np.flatnonzero((sched[1:] < 0.5) & (sched[:-1] >= 0.5))
    assert 8 <= len(dips) <= 30  # the default 17 per minute


def test_too_few_usable_frames_and_single_frame_tracks():
    pts = planted_track()
    pts[3:] = np.nan  # a face in 3 frames only
    with pytest.raises(InputError, match=r"Only 3 of the 75 frames"):
        analyse_track(tracked(pts), FPS)
    with pytest.raises(InputError, match="single frame"):
        analyse_track(tracked(planted_track()[:1]), FPS)
    with pytest.raises(InputError, match="No face"):
        analyse_track(tracked(np.full((10, 68, 3), np.nan)), FPS)


def test_missing_and_turned_frames_are_skipped_with_a_notice():
    pts = planted_track()
    found = np.ones(75, bool)
    found[[5, 6, 40]] = False
    pts[70] = pose(mouth_state("closed"), yaw=60.0)
    a = analyse_track(tracked(pts, found), FPS)
    assert not a.track.valid[[5, 6, 40, 70]].any() and np.isfinite(a.track.canonical).all()
    assert any("4 of 75 frames" in w and "3 without a face" in w and "1 with the face turned away" in w
               for w in a.warnings)
    assert {r.label: r.frame_index for r in a.references} == PLANTED


# ------------------------------------------------------------------------------ bad video input


@pytest.fixture(scope="module")
def head() -> np.ndarray:
    import skimage.data

    return skimage.data.astronaut()[30:250, 120:340]  # the astronaut's head, 220×220


def paste(canvas: np.ndarray, image: np.ndarray, x: int, y: int, size: int) -> np.ndarray:
    import cv2

    out = canvas.copy()
    out[y : y + size, x : x + size] = cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA)
    return out


def write_clip(path: Path, frames: list[np.ndarray], fps: float = 25.0) -> Path:
    from talkinghead import media

    return media.write_video(path, np.array(frames), fps)


def grey(h: int, w: int) -> np.ndarray:
    return np.full((h, w, 3), 128, np.uint8)


def test_clip_without_a_face(tmp_path):
    path = write_clip(tmp_path / "empty.mp4", [grey(128, 128)] * 12)
    with pytest.raises(InputError, match="No face found in any of the 12 frames of the style clip"):
        analyse_style(path)


def test_clip_with_one_face_frame(tmp_path, head):
    frames = [grey(256, 256)] * 12
    frames[5] = paste(grey(256, 256), head, 20, 20, 220)
    path = write_clip(tmp_path / "one.mp4", frames)
    with pytest.raises(InputError, match=r"Only 1 of the 12 frames") as err:
        analyse_style(path)
    assert "upload a video" in str(err.value)


def test_still_image_given_as_a_clip(tmp_path, head):
    from talkinghead import media

    path = media.save_image(tmp_path / "portrait.png", paste(grey(256, 256), head, 20, 20, 220))
    with pytest.raises(InputError, match="still image"):
        analyse_style(path)


def test_long_clip_is_analysed_up_to_the_cap(tmp_path, head):
    frames = [paste(grey(256, 256), head, 18 + (i % 5), 20, 220) for i in range(100)]  # 4 s
    path = write_clip(tmp_path / "long.mp4", frames)
    a = analyse_style(path, config=StyleConfig(max_seconds=2.0))
    assert len(a.track) == 50 and a.track.duration == pytest.approx(2.0)
    assert any("longer than 2 s" in w for w in a.warnings)
    assert len({r.frame_index for r in a.references}) == 4
    assert a.references[2].low_confidence  # a still face never opens its mouth: no R


def test_portrait_orientation_clip(tmp_path, head):
    frames = [paste(grey(640, 360), head, 60 + (i % 3), 200, 240) for i in range(20)]
    a = analyse_style(write_clip(tmp_path / "portrait.mp4", frames))
    assert a.track.valid.all() and a.backend == "mediapipe"
    assert all(r.crop.shape == (512, 512, 3) for r in a.references)
    # the face sits in the middle of the 360-wide frame
    assert 120 < a.track.points[0, 30, 0] < 240 and 250 < a.track.points[0, 30, 1] < 400


def test_two_people_follow_the_larger_face_with_a_notice(tmp_path, head):
    canvas = np.zeros((256, 448, 3), np.uint8) + 90
    frames = [paste(paste(canvas, head, 10, 20, 220), head, 300, 60, 120) for _ in range(16)]
    a = analyse_style(write_clip(tmp_path / "two.mp4", frames))
    assert any("more than one face" in w for w in a.warnings)
    assert a.track.points[:, 30, 0].max() < 230  # the nose of the big face on the left


# ------------------------------------------------------------------------------ real clips


@pytest.fixture(scope="module")
def real_clip(media_dir: Path) -> Path:
    return media_dir / "style_clips" / "dt_M030_front_neutral_level1_001.mp4"


def test_real_clip_references_are_plausible(real_clip):
    a = analyse_style(real_clip)
    refs = {r.label: r for r in a.references}
    opening = a.mouth_opening
    assert len({r.frame_index for r in a.references}) == 4
    assert opening[refs["R"].frame_index] > 0.8 and opening[refs["O"].frame_index] > 0.5
    assert opening[refs["None"].frame_index] < 0.1 and opening[refs["M"].frame_index] < 0.1
    spread = a.retrieval.features[:, 2]
    assert spread[refs["R"].frame_index] > spread[refs["O"].frame_index]
    assert a.track.valid.all() and a.phi_s(30.0).shape == (113, 68, 3)


def test_refs_command_prints_the_frames_and_writes_a_contact_sheet(real_clip, tmp_path, capsys):
    from talkinghead import media
    from talkinghead.cli import main

    out = tmp_path / "sheet.png"
    assert main(["refs", str(real_clip), "-o", str(out)]) == 0
    text = capsys.readouterr().out
    for label in LABELS:
        assert f"\n{label:<6}" in text
    sheet = media.load_image(out)
    assert sheet.shape[0] > 600 and sheet.shape[1] > 1000
    assert main(["refs", str(real_clip), "-o", str(tmp_path / "sheet.txt")]) == 2
