"""StyleTrack: per-frame geometry of a style clip (pose, canonical shape, mouth, eyes, sharpness).

Every analysed frame keeps its index (the track has one row per clip frame). Frames where no face
was found are filled by interpolation from their neighbours, so downstream code never meets NaN,
and are marked ``found=False, valid=False``; only valid frames are used for statistics and
retrieval.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from talkinghead import geometry
from talkinghead.face.tracking import fill_gaps
from talkinghead.face.types import VideoLandmarks
from talkinghead.style.config import StyleConfig


@dataclass(frozen=True)
class StyleTrack:
    """Per-frame measurements of one style clip (T = analysed frames)."""

    points: np.ndarray  # T×68×3 landmarks, image pixels
    angles: np.ndarray  # T×3 head (yaw, pitch, roll), degrees (geometry.rotation_to_angles)
    rotations: np.ndarray  # T×3×3 head rotation R of X = s·X_can·Rᵀ + τ
    translation: np.ndarray  # T×3 τ, image pixels
    scale: np.ndarray  # T s, image pixels per inter-ocular unit
    canonical: np.ndarray  # T×68×3 the face with its pose removed (inter-ocular units)
    expression: np.ndarray  # T×68×3 canonical − the clip person's neutral (identity removed)
    mouth: np.ndarray  # T×5 geometry.mouth_features: opening, width, inner_width, roundness, lip_thickness
    eye_open: np.ndarray  # T×2 eye aspect ratio (right, left) of the canonical face
    sharpness: np.ndarray  # T Laplacian variance of the aligned face crop ÷ clip median (1 = typical)
    found: np.ndarray  # T bool, the landmarker found a face
    valid: np.ndarray  # T bool, found, not too profile, not too blurred: used for statistics/retrieval
    n_faces: np.ndarray  # T int, faces the landmarker saw (it follows the largest)
    times: np.ndarray  # T seconds, frame i at i / fps
    fps: float

    def __len__(self) -> int:
        return len(self.times)

    @property
    def duration(self) -> float:
        return len(self.times) / self.fps


def face_frames(landmarks: VideoLandmarks) -> tuple[np.ndarray, np.ndarray]:
    """The track's points as ``T×68×3`` float64 (a ``ValueError`` for any other shape) and the ``T``
    frames with a face: found by the landmarker, with finite points."""
    points = np.asarray(landmarks.points, dtype=np.float64)
    if points.ndim != 3 or points.shape[1:] != (geometry.N_POINTS, 3):
        raise ValueError(f"a style track needs T×68×3 landmarks, got {points.shape}")
    return points, np.asarray(landmarks.found, dtype=bool) & np.isfinite(points).all(axis=(1, 2))


def nearest_kept(mask: np.ndarray) -> np.ndarray:
    """For every row, the index of the nearest row where ``mask`` is True (at least one must be)."""
    kept = np.flatnonzero(mask)
    return kept[np.abs(np.arange(len(mask))[:, None] - kept[None]).argmin(1)]


def face_sharpness(frame: np.ndarray, points: np.ndarray, size: int) -> float:
    """Variance of the Laplacian of a ``size²`` grey crop aligned on the face (scale-free focus measure)."""
    import cv2

    spec = geometry.CropSpec(size=size)
    m = geometry.crop_transform(points, spec)
    grey = cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2GRAY)
    crop = cv2.warpAffine(grey, m, (size, size), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REFLECT101)
    return float(cv2.Laplacian(crop, cv2.CV_64F).var())


def _poses(points: np.ndarray, found: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rigid pose per frame (Umeyama on geometry.RIGID); rows without a face get identity/zeros."""
    t = len(points)
    rot = np.repeat(np.eye(3)[None], t, 0)
    trans = np.zeros((t, 3))
    scale = np.ones(t)
    for i in np.flatnonzero(found):
        pose = geometry.fit_pose(points[i])
        rot[i], trans[i], scale[i] = pose.rotation, pose.translation, pose.scale
    return rot, trans, scale


def _angles(rotations: np.ndarray) -> np.ndarray:
    return np.array([geometry.rotation_to_angles(r) for r in rotations]).reshape(-1, 3)


_PRESSED_OUTLIER = 0.92  # closed frames with lips thinner than this × the median are pressed, not neutral


def neutral_face(
    canonical: np.ndarray, mouth: np.ndarray, eye_open: np.ndarray, valid: np.ndarray, config: StyleConfig
) -> tuple[np.ndarray, np.ndarray]:
    """The clip person's own neutral face (68×3 canonical) and the frame indices it was taken from.

    Neutral = element-wise median canonical shape over the valid frames whose mouth is the most
    closed (the lowest ``neutral_quantile`` of inner-lip opening, at least 5 frames: speech
    closes the lips only briefly, so a larger share would mix in parted lips), whose eyes are
    open (at least 85 % of the clip's open-eye level, its 85th percentile), leaving out clearly
    pressed lips (visible lip thickness under 92 % of those frames' median: m/b/p closures).
    This is what None (paper §5.4.3) and all clip-relative features are measured against; M is
    told from it by thinner lips. (Keeping only the thicker-lipped half of the closed frames was
    tried: it selects lips that are slightly parted, which read as thicker, and made None show a
    gap on real clips.)
    """
    idx = np.flatnonzero(valid)
    ear = eye_open[idx].mean(1)
    eyes_open = ear >= 0.85 * np.quantile(ear, 0.85)
    idx = idx[eyes_open] if eyes_open.sum() >= 3 else idx
    k = min(len(idx), max(5, int(np.ceil(config.neutral_quantile * len(idx)))))
    closed = idx[np.argsort(mouth[idx, 0], kind="stable")[:k]]
    thick = mouth[closed, 4]
    relaxed = closed[thick >= _PRESSED_OUTLIER * np.median(thick)]
    return np.median(canonical[relaxed], axis=0), relaxed


POSE_LEAK_MIN_FRAMES = 25  # remove_pose_leak needs this many frames with a face …
POSE_LEAK_MIN_SD = 1.0  # … and a yaw or pitch that varies by this much (degrees, standard deviation)


def remove_pose_leak(canonical: np.ndarray, angles: np.ndarray, use: np.ndarray) -> np.ndarray:
    """``canonical`` (T×68×3, pose removed) without the part of its points that follows the head's
    yaw and pitch linearly.

    A landmarker's 3-D points are not rigid as a head turns: the jaw contour slides along the
    silhouette and depth errors shift the nose and lips sideways, so the face with its pose
    removed still moves with the pose (on four real clips with head turns, yaw and pitch explain
    55–69 % of the jaw contour's variance and 39–66 % of the nose's, against 9–46 % of the lips',
    the most where the mouth opens as the head turns). Left in,
    that motion is expression: a turned portrait wearing it has its cheek pushed out by a tenth
    of an eye distance. Per coordinate, a least-squares fit on yaw, pitch and the lips' opening and
    width (mouth_features, which a singer's head motion may follow for real) over the frames ``use``
    (T bool: a face, not turned too far); the yaw and pitch terms are subtracted, centred on those
    frames' mean pose."""
    use = np.flatnonzero(use)
    if len(use) < POSE_LEAK_MIN_FRAMES or angles[use, :2].std(0).max() < POSE_LEAK_MIN_SD:
        return canonical
    pose = angles[:, :2] - angles[use, :2].mean(0)  # T×2 yaw, pitch
    lips = geometry.mouth_features(canonical).as_array()[:, :2]  # opening, width
    lips = lips - lips[use].mean(0)
    design = np.concatenate([pose, lips, np.ones((len(pose), 1))], 1)  # T×5
    flat = canonical.reshape(len(canonical), -1)
    coef, *_ = np.linalg.lstsq(design[use], flat[use], rcond=None)  # 5×204
    return (flat - pose @ coef[:2]).reshape(canonical.shape)


def build_track(
    landmarks: VideoLandmarks, fps: float, *, frames: np.ndarray | None = None, config: StyleConfig | None = None
) -> tuple[StyleTrack, np.ndarray]:
    """Measure every frame of a landmark track (T×68×3 image pixels at ``fps``). Returns ``(track, neutral)``.

    ``frames`` (optional) T×H×W×3 uint8 for the sharpness measure. Raises ``ValueError`` when no
    frame has a face (callers turn that into a user-facing message with the counts).
    """
    config = config or StyleConfig()
    points, found = face_frames(landmarks)
    t = len(points)
    if not found.any():
        raise ValueError("no frame has a face")
    n_faces = np.asarray(landmarks.n_faces, dtype=int)
    points = fill_gaps(np.where(found[:, None, None], points, 0.0), found)

    rot, trans, scale = _poses(points, found)
    # Missing rows: interpolate τ and s; take the rotation of the nearest found frame.
    trans, scale = fill_gaps(trans, found), fill_gaps(scale, found)
    rot = rot[nearest_kept(found)]
    angles = _angles(rot)
    # Pose removed: X_can = (X − τ)·R / s  (inverse of geometry.Pose.apply)
    canonical = np.einsum("tni,tij->tnj", points - trans[:, None], rot) / scale[:, None, None]
    facing = (np.abs(angles[:, 0]) <= config.max_abs_yaw) & (np.abs(angles[:, 1]) <= config.max_abs_pitch)
    canonical = remove_pose_leak(canonical, angles, found & facing)
    mouth = geometry.mouth_features(canonical).as_array()
    eye_open = geometry.eye_openness(canonical)

    sharp = np.ones(t)
    if frames is not None:
        if len(frames) != t:
            raise ValueError(f"build_track got {len(frames)} frames for {t} landmark rows")
        raw = np.array([face_sharpness(frames[i], points[i], config.sharpness_crop) if found[i] else 0.0
                        for i in range(t)])
        med = np.median(raw[found])
        sharp = raw / med if med > 0 else np.ones(t)

    valid = (
        found
        & (np.abs(angles[:, 0]) <= config.max_abs_yaw)
        & (np.abs(angles[:, 1]) <= config.max_abs_pitch)
        & (sharp >= config.min_relative_sharpness)
    )
    if not valid.any():  # statistics need something: fall back to the found frames
        neutral_src = found
    else:
        neutral_src = valid
    neutral, _ = neutral_face(canonical, mouth, eye_open, neutral_src, config)
    track = StyleTrack(
        points=points,
        angles=angles,
        rotations=rot,
        translation=trans,
        scale=scale,
        canonical=canonical,
        expression=canonical - neutral,
        mouth=mouth,
        eye_open=eye_open,
        sharpness=sharp,
        found=found,
        valid=valid,
        n_faces=n_faces,
        times=np.arange(t) / float(fps),
        fps=float(fps),
    )
    return track, neutral
