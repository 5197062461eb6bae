"""The renderer interface shared by the `warp` and `liveportrait` renderers.

A renderer turns a portrait and target facial motion into 512² frames of the portrait's aligned
face crop (paper §3.3 Style Mapping for ISPs, §3.4 for frames). Everything is per call: a
:class:`SourceFace` is prepared once per request and passed back in, so one renderer object can
serve concurrent requests without shared mutable state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

from talkinghead import geometry


@dataclass(frozen=True)
class SourceFace:
    """A portrait prepared for rendering (computed once per request)."""

    image: np.ndarray  # H×W×3 uint8, the full portrait
    crop: np.ndarray  # S×S×3 uint8, aligned face crop (geometry.align_face)
    transform: np.ndarray  # 2×3, full image → crop
    landmarks: np.ndarray  # 68×3 float, in crop pixels
    pose: geometry.Pose  # the portrait's pose in crop pixels
    identity: np.ndarray  # 68×3, the portrait's own canonical points (pose removed): paper's c_k
    cache: dict[str, Any] = field(default_factory=dict, compare=False)  # renderer-specific precomputation

    @property
    def size(self) -> int:
        return int(self.crop.shape[0])


@dataclass(frozen=True)
class ReferenceFrame:
    """One style reference image (None / M / R / O) as a renderer needs it."""

    label: str  # "None" | "M" | "R" | "O"
    crop: np.ndarray  # S×S×3 uint8, the reference frame aligned like a SourceFace crop
    landmarks: np.ndarray  # 68×3 in that crop's pixels
    expression: np.ndarray  # 68×3 canonical-frame expression relative to the clip person's neutral
    pose: geometry.Pose  # the reference's pose, in crop pixels
    turn: np.ndarray = field(default_factory=lambda: np.eye(3))  # 3×3 head rotation relative to the
    # clip's mean pose at this frame (the turn the frames' head motion applies to the portrait)


@dataclass(frozen=True)
class FrameTargets:
    """Target motion for B frames, in the source crop's pixel frame."""

    canonical: np.ndarray  # B×68×3, portrait identity + styled expression, pose-free (canonical frame)
    rotation: np.ndarray  # B×3×3 head rotation
    translation: np.ndarray  # B×3, crop pixels
    scale: np.ndarray  # B, crop pixels per inter-ocular unit
    eye_open: np.ndarray  # B, 1 = eyes as in the portrait, 0 = closed (blink schedule)

    def __post_init__(self) -> None:
        b = len(self.canonical)
        shapes = {
            "canonical": (self.canonical.shape, (b, 68, 3)),
            "rotation": (self.rotation.shape, (b, 3, 3)),
            "translation": (self.translation.shape, (b, 3)),
            "scale": (self.scale.shape, (b,)),
            "eye_open": (self.eye_open.shape, (b,)),
        }
        for name, (got, want) in shapes.items():
            if tuple(got) != want:
                raise ValueError(f"FrameTargets.{name} has shape {tuple(got)}, expected {want}")

    def __len__(self) -> int:
        return len(self.canonical)

    @property
    def landmarks(self) -> np.ndarray:
        """B×68×3 posed target landmarks in crop pixels: ``s·X·Rᵀ + τ``."""
        return (
            self.scale[:, None, None] * np.einsum("bnj,bij->bni", self.canonical, self.rotation)
            + self.translation[:, None, :]
        )

    def __getitem__(self, index: slice) -> FrameTargets:
        return FrameTargets(
            canonical=self.canonical[index],
            rotation=self.rotation[index],
            translation=self.translation[index],
            scale=self.scale[index],
            eye_open=self.eye_open[index],
        )

    @staticmethod
    def still(source: SourceFace, canonical: np.ndarray, eye_open: np.ndarray | None = None) -> FrameTargets:
        """Targets that keep the source's own pose for every frame of ``canonical`` (B×68×3)."""
        b = len(canonical)
        return FrameTargets(
            canonical=np.asarray(canonical, dtype=np.float64),
            rotation=np.repeat(source.pose.rotation[None], b, 0),
            translation=np.repeat(source.pose.translation[None], b, 0),
            scale=np.full(b, source.pose.scale),
            eye_open=np.ones(b) if eye_open is None else np.asarray(eye_open, dtype=np.float64),
        )

    @staticmethod
    def sweep(
        source: SourceFace,
        *,
        openings: np.ndarray,
        yaw_deg: np.ndarray | None = None,
        eye_open: np.ndarray | None = None,
        rounding: float = 0.0,
    ) -> FrameTargets:
        """Synthetic motion of known size, without the audio-to-motion model (tests, benchmarks):
        per frame, the source's own pose turned by ``yaw_deg`` and its mouth opened by ``openings``
        (:func:`geometry.open_mouth`)."""
        openings = np.asarray(openings, dtype=np.float64)
        b = len(openings)
        yaw = np.zeros(b) if yaw_deg is None else np.asarray(yaw_deg, dtype=np.float64)
        canonical = np.stack([geometry.open_mouth(source.identity, o, rounding) for o in openings])
        rotation = np.stack([geometry.angles_to_rotation(y, 0.0, 0.0) @ source.pose.rotation for y in yaw])
        return FrameTargets(
            canonical=canonical,
            rotation=rotation,
            translation=np.repeat(source.pose.translation[None], b, 0),
            scale=np.full(b, source.pose.scale),
            eye_open=np.ones(b) if eye_open is None else np.asarray(eye_open, dtype=np.float64),
        )


@runtime_checkable
class Renderer(Protocol):
    """What the pipeline calls. Implementations: ``render.warp.WarpRenderer``, ``render.liveportrait``."""

    name: str

    def prepare(self, image: np.ndarray, landmarks: np.ndarray) -> SourceFace:
        """Crop/align the portrait (landmarks: 68×3 in image pixels) and precompute what rendering needs."""
        ...

    def render_isps(self, source: SourceFace, references: list[ReferenceFrame]) -> list[np.ndarray]:
        """Paper §3.3: one Intermediate Style Pattern (S×S×3 uint8) per reference, eq. 2."""
        ...

    def render(
        self, source: SourceFace, targets: FrameTargets, references: list[ReferenceFrame] | None = None
    ) -> np.ndarray:
        """B×S×S×3 uint8 frames of the crop for B targets (batched)."""
        ...


def prepare_source(
    image: np.ndarray, landmarks: np.ndarray, spec: geometry.CropSpec = geometry.CropSpec()
) -> SourceFace:
    """The renderer-independent part of :meth:`Renderer.prepare`: crop, crop landmarks, pose, identity."""
    crop, m = geometry.align_face(image, landmarks, spec)
    pts = geometry.transform_points(landmarks, m)
    pose = geometry.fit_pose(pts)
    return SourceFace(image=image, crop=crop, transform=m, landmarks=pts, pose=pose, identity=pose.invert(pts))
