"""The interface every landmark backend implements: all faces of one image (the backend's part), and on
top of it the largest face of an image and one face followed through a clip."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

import numpy as np

from talkinghead.errors import InputError
from talkinghead.face import humanness
from talkinghead.face.tracking import follow_face, smooth_track
from talkinghead.face.types import (
    Detection,
    FaceCandidate,
    VideoLandmarks,
    animal_face_error,
    check_image,
    no_face_error,
    small_face_error,
)


class Landmarker(ABC):
    """A landmark backend. Implementations are safe to call from several threads at once."""

    name: str

    @abstractmethod
    def faces(self, image: np.ndarray) -> list[FaceCandidate]:
        """All plausible human faces of one RGB image (already checked), any order."""

    def warm_up(self) -> None:
        """Pay the first-use costs now (start-up), not in the first request: the backend's models,
        the humanness network, and scipy.signal's import for the track smoothing."""
        import scipy.signal  # noqa: F401 - imported for its import-time work

        self.faces(np.zeros((64, 64, 3), np.uint8))
        humanness.load_models()

    def detect(
        self, image: np.ndarray, *, what: str = "the image", min_height: float = 0.0, good_height: float = 0.0
    ) -> Detection:
        """68×3 landmarks of the largest face of ``image`` (H×W×3 uint8 RGB).

        ``what`` names the image in the error message ("the portrait").
        Raises :class:`InputError` when there is no face, when the largest one is less than
        ``min_height`` pixels tall, brows to chin (the message asks for ``good_height``; checked
        first, since a face of a few pixels is too small to tell a person from an animal), or
        when there are only animal faces that the backend fitted a human mesh to
        (:mod:`talkinghead.face.humanness`).
        """
        image = check_image(image, what)
        faces = self.faces(image) or self.faces_in_tiles(image)
        if not faces:
            raise no_face_error(what)
        height = float(np.ptp(max(faces, key=lambda f: f.area).points[:, 1]))
        if height < min_height:
            raise small_face_error(what, height, max(good_height, min_height))
        faces = [f for f in faces if not humanness.looks_like_animal(image, f.points)]
        if not faces:
            raise animal_face_error(what)
        best = max(faces, key=lambda f: f.area)
        return Detection(best.points.astype(np.float32), len(faces), best.bbox, self.name)

    def faces_in_tiles(self, image: np.ndarray) -> list[FaceCandidate]:
        """Faces too small for a whole-image pass, looked for in overlapping square tiles.

        Face detectors see the whole image at a fixed small size, so a face of a tenth of a
        wide picture (a panorama, a half-body painting) is missed. Tiles of the short side and
        half of it, overlapping by half, bring such a face up to a size the detector finds; the
        same face found in several tiles is kept once (its largest finding)."""
        h, w = image.shape[:2]
        found: list[FaceCandidate] = []
        for side in (min(h, w), min(h, w) // 2):
            if side < 64:
                break
            step = side // 2
            ys = sorted({*range(0, h - side + 1, step), h - side})
            xs = sorted({*range(0, w - side + 1, step), w - side})
            for y in ys:
                for x in xs:
                    for f in self.faces(np.ascontiguousarray(image[y : y + side, x : x + side])):
                        points = f.points + np.array([x, y, 0], dtype=f.points.dtype)
                        x0, y0, x1, y1 = f.bbox
                        found.append(FaceCandidate(points, (x0 + x, y0 + y, x1 + x, y1 + y)))
        kept: list[FaceCandidate] = []
        for f in sorted(found, key=lambda c: -c.area):
            cx, cy = (f.bbox[0] + f.bbox[2]) / 2, (f.bbox[1] + f.bbox[3]) / 2
            if not any(k.bbox[0] <= cx <= k.bbox[2] and k.bbox[1] <= cy <= k.bbox[3] for k in kept):
                kept.append(f)
        return kept

    def track(
        self, frames: np.ndarray | Sequence[np.ndarray], fps: float, *, what: str = "the video"
    ) -> VideoLandmarks:
        """Landmarks of one face through a clip (T×H×W×3 uint8 RGB frames), smoothed.

        The face followed is the largest and most persistent one; frames where it is missing
        are interpolated from their neighbours. Raises :class:`InputError` when no frame has a face.
        """
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
