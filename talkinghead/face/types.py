"""Landmark results, the input check and the user-facing errors shared by every landmark backend."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from talkinghead.errors import InputError


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


class NoFaceError(InputError):
    """No face at all in an image or a clip: its own type, so a caller that knows more (a style
    clip's frame counts) can tell it from other input errors and say it in its own words."""


def no_face_error(what: str) -> NoFaceError:
    return NoFaceError(
        f"No face found in {what}: upload an image where one human face is clearly visible, "
        "roughly frontal and not too small."
    )


def animal_face_error(what: str) -> InputError:
    return InputError(
        f"No human face found in {what} (the face in it looks like an animal's): upload a photo "
        "where one person's face is clearly visible."
    )


def small_face_error(what: str, height: float, good_height: float) -> InputError:
    return InputError(
        f"The face in {what} is only {height:.0f} px tall (brows to chin): too small to animate. "
        f"Upload a photo where the face is at least {good_height:.0f} px tall."
    )
