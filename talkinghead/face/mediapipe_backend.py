"""Embedded landmark backend: MediaPipe Face Mesh (models shipped inside the wheel, offline).

The mesh (468 points, + 10 iris points with ``refine_landmarks``) is mapped to iBUG-68 through
:mod:`talkinghead.face.mediapipe68`. MediaPipe's z is relative depth in units of the image
width, so ``z_px = z · width`` puts it in pixels like x.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

import numpy as np

from talkinghead.face.landmarker import Landmarker
from talkinghead.face.mediapipe68 import mesh_to_68
from talkinghead.face.plausibility import is_plausible_layout
from talkinghead.face.types import FaceCandidate, check_image, points_bbox

log = logging.getLogger(__name__)

MAX_FACES = 6  # faces counted in one image
MIN_DETECTION_CONFIDENCE = 0.5  # MediaPipe's face-detector threshold
MIN_TRACKING_CONFIDENCE = 0.5  # below this video mode re-runs the detector
COUNT_SAMPLES = 5  # frames of a clip checked in image mode to know how many faces to track


def _face_mesh(*, static: bool, max_faces: int):
    import mediapipe as mp

    return mp.solutions.face_mesh.FaceMesh(
        static_image_mode=static,
        max_num_faces=max_faces,
        # The attention model re-fits eyes and lips: blinks close (eye aspect ratio 0.05–0.07 on
        # real blinks instead of ≥ 0.16) and inner lips follow the lips, not the teeth; same speed.
        refine_landmarks=True,
        min_detection_confidence=MIN_DETECTION_CONFIDENCE,
        min_tracking_confidence=MIN_TRACKING_CONFIDENCE,
    )


def _meshes(result, width: int, height: int) -> list[np.ndarray]:
    """MediaPipe result → list of 478×3 float32 pixel arrays."""
    out = []
    for face in result.multi_face_landmarks or ():
        a = np.array([(p.x, p.y, p.z) for p in face.landmark], dtype=np.float32)
        out.append(a * np.array([width, height, width], dtype=np.float32))
    return out


class MediaPipeLandmarker(Landmarker):
    """MediaPipe Face Mesh in image mode for :meth:`detect`, video mode for :meth:`track`."""

    name = "mediapipe"

    def __init__(self) -> None:
        self._lock = threading.Lock()  # one MediaPipe graph processes one image at a time
        self._static = None

    def meshes(self, image: np.ndarray) -> list[np.ndarray]:
        """Raw 478×3 pixel meshes of every face MediaPipe finds in an RGB uint8 image."""
        with self._lock:
            if self._static is None:
                self._static = _face_mesh(static=True, max_faces=MAX_FACES)
            result = self._static.process(image)
        return _meshes(result, image.shape[1], image.shape[0])

    def faces(self, image: np.ndarray) -> list[FaceCandidate]:
        return _candidates(self.meshes(image))

    def faces_per_frame(self, frames: np.ndarray | Sequence[np.ndarray], what: str) -> list[list[FaceCandidate]]:
        # Video mode re-runs the face detector only while fewer than max_num_faces faces are
        # tracked, so asking for more faces than the clip holds costs a detector pass per frame.
        # Count the faces on a few frames first and track exactly that many.
        n = len(frames)
        sample = np.unique(np.linspace(0, n - 1, min(COUNT_SAMPLES, n)).round().astype(int))
        counts = [len(self.faces(check_image(frames[i], f"frame {i} of {what}"))) for i in sample]
        max_faces = int(np.clip(max(counts), 1, MAX_FACES))
        mesh = _face_mesh(static=False, max_faces=max_faces)  # per call: tracking state is per clip
        try:
            out = []
            for i in range(n):
                frame = check_image(frames[i], f"frame {i} of {what}")
                out.append(_candidates(_meshes(mesh.process(frame), frame.shape[1], frame.shape[0])))
        finally:
            mesh.close()
        return out

    def close(self) -> None:
        with self._lock:
            if self._static is not None:
                self._static.close()
                self._static = None


def _candidates(meshes: list[np.ndarray]) -> list[FaceCandidate]:
    out = []
    for mesh in meshes:
        points = mesh_to_68(mesh)
        if is_plausible_layout(points):
            out.append(FaceCandidate(points, points_bbox(mesh)))
        else:
            log.debug("discarded an implausible face mesh at %s", points_bbox(mesh))
    return out
