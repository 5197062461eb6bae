"""Landmark backend: face-alignment's 3D FAN (Bulat & Tzimiropoulos 2017), iBUG-68 in 3-D.

Its weights come from the authors' site into ``$TORCH_HOME/hub/checkpoints`` on first use; it
is chosen automatically only on a CUDA GPU (on a CPU it takes 1–3.5 s per image).
FAN predicts z toward the camera (the 3DMM convention of its 300W-LP training data) in image
pixel units; we negate it so z points away from the camera like the rest of the package.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from talkinghead.errors import InputError
from talkinghead.face.landmarker import Landmarker
from talkinghead.face.plausibility import is_plausible_layout
from talkinghead.face.types import FaceCandidate

# The files face-alignment 1.5.0 loads for LandmarksType.THREE_D with its default S3FD detector.
WEIGHT_FILES = ("s3fd-619a316812.pth", "3DFAN4-7835d9f11d.pth.tar", "depth-2a464da4ea.pth.tar")
WEIGHT_HOST = "www.adrianbulat.com"  # where face-alignment downloads them from


def checkpoint_dir() -> Path:
    import torch.hub

    return Path(torch.hub.get_dir()) / "checkpoints"


def weights_present() -> bool:
    """True when every FAN weight file is already in the torch hub cache."""
    d = checkpoint_dir()
    return all((d / name).is_file() for name in WEIGHT_FILES)


class FanLandmarker(Landmarker):
    """face-alignment 3D FAN with its S3FD face detector."""

    name = "fan"

    def __init__(self, *, device: str) -> None:
        import face_alignment

        self.device = device
        self._lock = threading.Lock()  # one forward pass at a time on the shared networks
        try:
            self._fa = face_alignment.FaceAlignment(
                face_alignment.LandmarksType.THREE_D,
                device=device,
                flip_input=False,
                compile=False,  # torch.compile costs minutes on first use
            )
        except OSError as exc:  # URLError and friends: weights missing and no network
            raise InputError(
                f"The 'fan' landmark backend could not get its weights ({exc}): connect to the "
                f"internet once so face-alignment can download them into {checkpoint_dir()}, "
                "or use the embedded backend (--landmarks mediapipe)."
            ) from exc

    def faces(self, image: np.ndarray) -> list[FaceCandidate]:
        import warnings

        with self._lock, warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "No faces were detected." is an answer, not a warning
            landmarks, _, boxes = self._fa.get_landmarks_from_image(image, return_bboxes=True)
        out = []
        for pts, box in zip(landmarks or (), boxes or (), strict=True):
            p = np.asarray(pts, dtype=np.float32).copy()
            p[:, 2] = -p[:, 2]  # toward the camera → away from the camera
            if is_plausible_layout(p):
                out.append(FaceCandidate(p, tuple(float(v) for v in box[:4])))
        return out
