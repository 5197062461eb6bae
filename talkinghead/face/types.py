"""Landmark results and the interface every landmark backend implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from talkinghead.errors import InputError
from talkinghead.face.humanness import looks_like_animal


@dataclass(frozen=True)
class Detection:
    """The largest face of one image."""

    points: np.ndarray  # 68×3 float32, image pixels: x right, y down, z away from the camera
    n_faces: int  # how many human faces the backend found in the image
    bbox: tuple[float, float, float, float]  # (x0, y0, x1, y1) of the 68 points, pixels
    backend: str  # "mediapipe" or "fan"


@dataclass(frozen=True)
class VideoLandmarks:
    """One face followed through a clip."""

    points: np.ndarray  # T×68×3 float32, smoothed; frames without the face are interpolated
    found: np.ndarray  # T bool: the face was detected in this frame (not interpolated)
    n_faces: np.ndarray  # T int: how many faces the backend found in each frame
    backend: str  # "mediapipe" or "fan"


@dataclass(frozen=True)
class FaceCandidate:
    """One face found in one frame, before the largest/tracked one is chosen."""

    points: np.ndarray  # 68×3 float32, image pixels
    bbox: tuple[float, float, float, float]  # box used to rank and track faces, pixels

    @property
    def area(self) -> float:
        x0, y0, x1, y1 = self.bbox
        return max(0.0, x1 - x0) * max(0.0, y1 - y0)


def points_bbox(points: np.ndarray) -> tuple[float, float, float, float]:
    """Tight (x0, y0, x1, y1) box of ``N×2|3`` points."""
    p = np.asarray(points)
    return (float(p[:, 0].min()), float(p[:, 1].min()), float(p[:, 0].max()), float(p[:, 1].max()))


def check_image(image: np.ndarray, what: str) -> np.ndarray:
    """A C-contiguous H×W×3 uint8 view of ``image`` or an :class:`InputError`."""
    a = np.asarray(image)
    if a.dtype != np.uint8 or a.ndim != 3 or a.shape[2] != 3:
        raise InputError(
            f"{what} must be an RGB image (H×W×3 uint8), got an array of shape {a.shape} and "
            f"dtype {a.dtype}: load it with talkinghead.media.load_image."
        )
    if min(a.shape[:2]) < 16:
        raise InputError(f"{what} is only {a.shape[1]}×{a.shape[0]} pixels: upload a larger image.")
    return np.ascontiguousarray(a)


def no_face_error(what: str) -> InputError:
    return InputError(
        f"No face found in {what}: upload an image where one human face is clearly visible, "
        "roughly frontal and not too small."
    )


def animal_face_error(what: str) -> InputError:
    return InputError(
        f"No human face found in {what} (the face in it looks like an animal's): upload a photo "
        "where one person's face is clearly visible."
    )


class Landmarker(ABC):
    """A landmark backend. Implementations are safe to call from several threads at once."""

    name: str

    @abstractmethod
    def faces(self, image: np.ndarray) -> list[FaceCandidate]:
        """All plausible human faces of one RGB image (already checked), any order."""

    def detect(self, image: np.ndarray, *, what: str = "the image") -> Detection:
        """68×3 landmarks of the largest face of ``image`` (H×W×3 uint8 RGB).

        ``what`` names the image in the error message ("the portrait").
        Raises :class:`InputError` when there is no face, or only animal faces that the
        backend fitted a human mesh to (:mod:`talkinghead.face.humanness`).
        """
        image = check_image(image, what)
        faces = self.faces(image)
        if not faces:
            raise no_face_error(what)
        faces = [f for f in faces if not looks_like_animal(image, f.points)]
        if not faces:
            raise animal_face_error(what)
        best = max(faces, key=lambda f: f.area)
        return Detection(best.points.astype(np.float32), len(faces), best.bbox, self.name)

    def track(
        self, frames: np.ndarray | Sequence[np.ndarray], fps: float, *, what: str = "the video"
    ) -> VideoLandmarks:
        """Landmarks of one face through a clip (T×H×W×3 uint8 RGB frames), smoothed.

        The face followed is the largest and most persistent one; frames where it is missing
        are interpolated from their neighbours. Raises :class:`InputError` when no frame has a face.
        """
        from talkinghead.face.tracking import follow_face, smooth_track

        if not np.isfinite(fps) or fps <= 0:
            raise InputError(f"The frame rate of {what} is {fps}: it must be a positive number.")
        if len(frames) == 0:
            raise InputError(f"{what} has no frames: upload a video with at least one frame.")
        per_frame = self.faces_per_frame(frames, what)
        track = follow_face(per_frame)
        if track is None:
            raise no_face_error(what)
        points, found = track
        smoothed = smooth_track(points, found, fps)
        n_faces = np.array([len(f) for f in per_frame], dtype=np.int64)
        return VideoLandmarks(smoothed.astype(np.float32), found, n_faces, self.name)

    def faces_per_frame(self, frames: np.ndarray | Sequence[np.ndarray], what: str) -> list[list[FaceCandidate]]:
        """All faces of every frame. Backends override this with a faster video path."""
        return [self.faces(check_image(f, f"frame {i} of {what}")) for i, f in enumerate(frames)]
