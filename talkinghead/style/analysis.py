"""Style clip analysis: everything the pipeline needs to know about a style clip.

``analyse_style`` (a video) and ``analyse_track`` (a landmark track) return a
:class:`StyleAnalysis`: the per-frame :class:`~talkinghead.style.track.StyleTrack`, the clip
person's neutral face, the four style reference frames None / M / R / O (paper §3.2, §5.4.3),
the style motion φ_s (paper §4), the head-pose track and the blink statistics.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from talkinghead import geometry, media, viz
from talkinghead.errors import InputError
from talkinghead.face import Landmarker, get_landmarker
from talkinghead.face.tracking import fill_gaps
from talkinghead.face.types import NoFaceError, VideoLandmarks
from talkinghead.render.base import ReferenceFrame
from talkinghead.style import blinks as blinks_mod
from talkinghead.style import pose as pose_mod
from talkinghead.style.config import StyleConfig
from talkinghead.style.templates import FEATURES, TEMPLATES, ClipNormaliser, Retrieval, clip_normaliser, retrieve
from talkinghead.style.track import StyleTrack, build_track, face_frames

log = logging.getLogger(__name__)

_STILL_IMAGE = "The style clip has a single frame (a still image?): a style clip must be a video; "
_UPLOAD_HINT = (
    "upload a video of a few seconds where one person's face is clearly visible, "
    "roughly toward the camera, while they talk or sing"
)


@dataclass(frozen=True)
class StyleReference:
    """One style reference frame (paper §3.2 "Style Reference Images")."""

    label: str  # "None" | "M" | "R" | "O"
    frame_index: int  # index in the analysed clip
    time: float  # seconds
    crop: np.ndarray  # S×S×3 uint8, face aligned with geometry.align_face (a drawn facial map without video)
    landmarks: np.ndarray  # 68×3 in crop pixels
    score: float  # template fit including the frame-quality penalty, exp(−cost/2) ∈ (0, 1]
    confidence: float  # how well the frame matches the template alone, exp(−fit/2) ∈ (0, 1]
    low_confidence: bool  # confidence under StyleConfig.low_confidence: the clip has no good match
    expression: np.ndarray  # 68×3 canonical-frame expression relative to the clip person's neutral
    pose: geometry.Pose  # pose in crop pixels
    turn: np.ndarray = field(default_factory=lambda: np.eye(3))  # 3×3 rotation relative to the clip's mean pose

    def to_render(self) -> ReferenceFrame:
        return ReferenceFrame(
            label=self.label,
            crop=self.crop,
            landmarks=self.landmarks,
            expression=self.expression,
            pose=self.pose,
            turn=self.turn,
        )


@dataclass(frozen=True)
class StyleAnalysis:
    """What the pipeline knows about a style clip."""

    track: StyleTrack
    neutral: np.ndarray  # 68×3 canonical: the clip person's own neutral face
    references: list[StyleReference]  # None, M, R, O
    warnings: list[str]  # user-facing notices
    blinks: blinks_mod.BlinkStats  # detected blink events and rate
    normaliser: ClipNormaliser  # neutral face and ranges behind the relative features
    retrieval: Retrieval  # per-frame relative features and template fits
    config: StyleConfig
    pose_deltas: np.ndarray = field(repr=False)  # T×7 smoothed head motion (pose.clip_pose_deltas)
    backend: str = "track"  # landmark backend that produced the track

    @property
    def mouth_opening(self) -> np.ndarray:
        """``T`` relative mouth opening (0 = neutral, 1 = the clip's wide open), for plots."""
        return self.retrieval.features[:, FEATURES.index("open")]

    def phi_s(self, fps: float | None = None) -> np.ndarray:
        """Style motion φ_s (paper §4), ``T_out×68×3`` float32 in the canonical identity-normalised
        space: ``canonical_face() + (canonical_t − neutral)``, i.e. the clip's expressions worn by
        the canonical face. Invalid frames are interpolated; resampled to ``fps`` (default: the
        clip's)."""
        track = self.track
        keep = track.valid if track.valid.any() else track.found
        motion = geometry.canonical_face()[None] + fill_gaps(track.canonical, keep) - self.neutral[None]
        if fps is not None and abs(fps - track.fps) > 1e-9:
            if not fps > 0:
                raise ValueError(f"fps must be > 0, got {fps}")
            motion = pose_mod.resample(motion, track.fps, fps)
        return motion.astype(np.float32)

    def pose_track(
        self, n_frames: int, fps: float, *, strength: float = 1.0, seed: int = 0
    ) -> pose_mod.PoseTrack:
        """The clip's smoothed head motion retimed to ``n_frames`` at ``fps`` (looped with
        cross-fades when longer than the clip); ``strength`` 0 = still head, 1 = as in the clip."""
        return pose_mod.pose_track(
            self.pose_deltas,
            self.track.fps,
            n_frames,
            fps,
            strength=strength,
            seed=seed,
            crossfade_s=self.config.crossfade_s,
        )

    def blink_schedule(self, n_frames: int, fps: float, *, seed: int = 0, enabled: bool = True) -> np.ndarray:
        """``n_frames`` eye openness in [0, 1] (1 = open) with the clip's blink rate and duration."""
        return blinks_mod.blink_schedule(
            self.blinks, n_frames, fps, seed=seed, enabled=enabled, config=self.config
        )


def _no_face_message(n_frames: int, n_found: int, n_valid: int, config: StyleConfig) -> str:
    if n_found == 0:
        return f"No face found in any of the {n_frames} frames of the style clip: {_UPLOAD_HINT}."
    return (
        f"Only {n_valid} of the {n_frames} frames of the style clip show a usable face "
        f"({n_found} with a face; the others are too turned away or blurred), and at least "
        f"{config.min_valid_frames} are needed: {_UPLOAD_HINT}."
    )


def _facial_map(points: np.ndarray, size: int) -> np.ndarray:
    """A drawn facial map as the crop of a reference when there is no video frame."""
    return viz.render_facial_map(points, size, fit=False)


def _reference(
    label: str,
    index: int,
    track: StyleTrack,
    neutral: np.ndarray,
    frames: np.ndarray | None,
    score: float,
    confidence: float,
    config: StyleConfig,
    turn_angles: np.ndarray,
) -> StyleReference:
    pts = track.points[index]
    if frames is not None:
        crop, m = geometry.align_face(frames[index], pts, config.crop)
    else:
        m = geometry.crop_transform(pts, config.crop)
        crop = None
    crop_pts = geometry.transform_points(pts, m)
    if crop is None:
        crop = _facial_map(crop_pts, config.crop.size)
    return StyleReference(
        label=label,
        frame_index=int(index),
        time=float(track.times[index]),
        crop=crop,
        landmarks=crop_pts,
        score=float(score),
        confidence=float(confidence),
        low_confidence=bool(confidence < config.low_confidence),
        expression=track.canonical[index] - neutral,
        pose=geometry.fit_pose(crop_pts),
        turn=geometry.angles_to_rotation(*turn_angles),
    )


def analyse_track(
    landmarks: VideoLandmarks,
    fps: float,
    frames: np.ndarray | None = None,
    *,
    config: StyleConfig | None = None,
    warnings: list[str] | None = None,
) -> StyleAnalysis:
    """Analyse a landmark track (``T×68×3`` image pixels at ``fps``); ``frames`` (T×H×W×3 uint8,
    optional) give the sharpness measure and the reference crops; ``warnings``: notices so far."""
    config = config or StyleConfig()
    points, has_face = face_frames(landmarks)
    if not fps > 0:
        raise ValueError(f"fps must be > 0, got {fps}")
    notes = list(warnings or [])
    n = len(points)
    if n < 2:
        raise InputError(_STILL_IMAGE + _UPLOAD_HINT + ".")
    if not has_face.any():
        raise InputError(_no_face_message(n, 0, 0, config))
    track, neutral = build_track(landmarks, fps, frames=frames, config=config)
    n_valid = int(track.valid.sum())
    if n_valid < max(config.min_valid_frames, len(TEMPLATES)):
        raise InputError(_no_face_message(n, int(track.found.sum()), n_valid, config))

    if n_valid < n:
        no_face = int((~track.found).sum())
        yaw, pitch = np.abs(track.angles[:, 0]), np.abs(track.angles[:, 1])
        turned = int((track.found & ((yaw > config.max_abs_yaw) | (pitch > config.max_abs_pitch))).sum())
        blurred = n - n_valid - no_face - turned
        counts = ((no_face, "without a face"), (turned, "with the face turned away"), (blurred, "blurred"))
        parts = [f"{k} {what}" for k, what in counts if k > 0]
        notes.append(f"{n - n_valid} of {n} frames of the style clip were skipped ({', '.join(parts)}).")
    multi = float(np.mean(track.n_faces[track.found] > 1))
    if multi > 0.1:
        notes.append(
            f"The style clip shows more than one face ({100 * multi:.0f}% of frames); the largest face was "
            "followed. For a clean style, upload a clip with one person."
        )

    valid = track.valid
    normaliser = clip_normaliser(neutral, track.canonical[valid], track.mouth[valid], track.eye_open[valid], config)
    result = retrieve(track, normaliser, config)
    picks = zip(TEMPLATES, result.indices, result.score, result.confidence, strict=True)
    # Head motion from every frame with a face: a turned head is part of the style.
    deltas = pose_mod.clip_pose_deltas(track.rotations, track.translation, track.scale, fps, config.pose_smoothing_s)
    references = [
        _reference(tpl.label, idx, track, neutral, frames, score, conf, config, deltas[idx, :3])
        for tpl, idx, score, conf in picks
    ]
    for tpl, ref in zip(TEMPLATES, references, strict=True):
        if ref.low_confidence:
            notes.append(
                f"The style clip has no clear '{tpl.label}' frame ({tpl.description}); the closest one "
                f"(at {ref.time:.2f} s, confidence {ref.confidence:.2f}) is used. For a stronger style, "
                f"use a clip with {tpl.hint}."
            )
    blink_stats = blinks_mod.detect_blinks(track.eye_open, track.found, fps, config)
    for note in notes:
        log.info("style clip: %s", note)
    return StyleAnalysis(
        track=track,
        neutral=neutral,
        references=references,
        warnings=notes,
        blinks=blink_stats,
        normaliser=normaliser,
        retrieval=result,
        config=config,
        backend=landmarks.backend,
        pose_deltas=deltas,
    )


def _load_clip(source: str | Path | media.VideoClip, config: StyleConfig) -> tuple[np.ndarray, float, list[str]]:
    """Frames (T×H×W×3 uint8), fps and notices from a path or an already loaded clip."""
    notes: list[str] = []
    clip = media.load_video(source, max_seconds=config.max_seconds) if isinstance(source, (str, Path)) else source
    frames, fps = clip.frames, float(clip.fps)
    if frames is None or len(frames) < 2:
        raise InputError(_STILL_IMAGE + _UPLOAD_HINT + ".")
    cap = int(np.floor(config.max_seconds * fps + 1e-6))
    truncated = clip.truncated
    if len(frames) > cap:
        frames, truncated = frames[:cap], True
    if truncated:
        notes.append(
            f"The style clip is longer than {config.max_seconds:g} s; only its first "
            f"{config.max_seconds:g} s were analysed."
        )
    return frames, fps, notes


def analyse_style(
    clip_or_path: str | Path | media.VideoClip,
    *,
    config: StyleConfig | None = None,
    landmarker: Landmarker | None = None,
) -> StyleAnalysis:
    """Analyse a style clip (a path or a ``media.VideoClip``): landmarks of every frame (up to
    ``config.max_seconds``), the style track, reference frames, φ_s, pose track and blinks.

    Raises :class:`InputError` with a user-facing message for a still image, a clip without a
    usable face, or too few usable frames.
    """
    config = config or StyleConfig()
    frames, fps, notes = _load_clip(clip_or_path, config)
    landmarker = get_landmarker(backend=config.backend) if landmarker is None else landmarker
    try:
        video_landmarks = landmarker.track(frames, fps, what="the style clip")
    except NoFaceError as exc:  # the landmarker's message asks for an image; this one counts the frames
        raise InputError(_no_face_message(len(frames), 0, 0, config)) from exc
    return analyse_track(video_landmarks, fps, frames, config=config, warnings=notes)
