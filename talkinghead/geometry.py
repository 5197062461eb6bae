"""Face geometry on 68×3 landmarks: rigid pose, expression, mouth edits, mouth/eye features, crop alignment.

Conventions (used by every stage):

* Landmarks are the iBUG-68 points (0–16 jaw, 17–26 brows, 27–35 nose, 36–47 eyes,
  48–59 outer lips, 60–67 inner lips) as a ``(..., 68, 3)`` float array: x to the image's
  right, y down, z away from the camera, all in pixels of the image they came from.
* The **canonical frame** is a frontal, pose-free face centred on its centroid and scaled so
  that the outer eye corners (36, 45) are one unit apart. Distances measured there are
  scale-free ("inter-ocular units").
* A :class:`Pose` maps canonical points into an image: ``X_img = s · X_can · Rᵀ + τ``.

Paper eq. 1 writes keypoints as ``C = c·R + τ + ε``. We keep the expression ε *inside* the
rotation, in the canonical frame: ``C = s·(c + ε)·Rᵀ + τ``. Then ε is pose-free and eq. 2 —
the reference's pose (R̄, τ̄) and expression ε̄ applied to the portrait's canonical points c —
is :func:`apply_style`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np

N_POINTS = 68

# iBUG-68 index groups (subject's right = image left).
JAW = tuple(range(0, 17))
RIGHT_BROW = tuple(range(17, 22))
LEFT_BROW = tuple(range(22, 27))
NOSE = tuple(range(27, 36))
RIGHT_EYE = tuple(range(36, 42))
LEFT_EYE = tuple(range(42, 48))
OUTER_LIPS = tuple(range(48, 60))
INNER_LIPS = tuple(range(60, 68))
MOUTH = OUTER_LIPS + INNER_LIPS
OUTER_LIP_CORNERS = (48, 54)
INNER_LIP_CORNERS = (60, 64)
# The inner lips' middle points, upper and lower paired column by column: their distances are the
# lip gap.
UPPER_INNER_LIP = (61, 62, 63)
LOWER_INNER_LIP = (67, 66, 65)
INNER_LIP_PAIRS = tuple(zip(UPPER_INNER_LIP, LOWER_INNER_LIP))  # (61, 67), (62, 66), (63, 65)
INNER_LIP_MIDLINE = INNER_LIP_PAIRS[1]  # (upper, lower) on the face's midline
# The opening's edges, corner to corner.
UPPER_INNER_CONTOUR = (INNER_LIP_CORNERS[0], *UPPER_INNER_LIP, INNER_LIP_CORNERS[1])
LOWER_INNER_CONTOUR = (INNER_LIP_CORNERS[0], *LOWER_INNER_LIP, INNER_LIP_CORNERS[1])

# Points that move with the skull and (almost) not with expression: nose, eye corners and the
# top of the jaw line. The rigid pose is fitted on these only, so a wide-open mouth or raised
# brows do not tilt the estimated head.
RIGID = NOSE + (36, 39, 42, 45) + (0, 1, 15, 16)

# Semantic polylines of the "facial map" (paper §3.4): consecutive points joined per group.
FACIAL_MAP_LINES: tuple[tuple[tuple[int, ...], bool], ...] = (
    (JAW, False),
    (RIGHT_BROW, False),
    (LEFT_BROW, False),
    (tuple(range(27, 31)), False),
    (tuple(range(30, 36)) + (30,), False),
    (RIGHT_EYE, True),
    (LEFT_EYE, True),
    (OUTER_LIPS, True),
    (INNER_LIPS, True),
)


@lru_cache(maxsize=1)
def canonical_face() -> np.ndarray:
    """The canonical mean face, ``68×3`` float64, frontal, in inter-ocular units.

    A generalized-Procrustes average of MediaPipe landmarks of near-frontal, closed-mouth faces,
    mirrored for exact symmetry; rebuilt by ``python -m talkinghead.face.make_canonical`` and
    shipped as package data.
    """
    with resources.files("talkinghead.data").joinpath("canonical_face_68.npy").open("rb") as fh:
        face = np.load(fh).astype(np.float64)
    if face.shape != (N_POINTS, 3):
        raise RuntimeError(f"canonical_face_68.npy has shape {face.shape}, expected (68, 3)")
    face.setflags(write=False)
    return face


def normalise_canonical(points: np.ndarray) -> np.ndarray:
    """Centre ``68×3`` points on their centroid and scale them to unit outer-eye-corner distance."""
    p = np.asarray(points, dtype=np.float64)
    p = p - p.mean(axis=0)
    return p / np.linalg.norm(p[45] - p[36])


# ---------------------------------------------------------------------------------------------
# Rigid pose


@dataclass(frozen=True)
class Pose:
    """Similarity transform from the canonical frame into an image: ``X = s·X_can·Rᵀ + τ``."""

    rotation: np.ndarray  # 3×3, orthonormal, det +1
    translation: np.ndarray  # 3, image pixels
    scale: float  # pixels per inter-ocular unit

    @classmethod
    def identity(cls) -> Pose:
        """No rotation, no translation, unit scale: the canonical frame itself."""
        return cls(np.eye(3), np.zeros(3), 1.0)

    def apply(self, canonical_points: np.ndarray) -> np.ndarray:
        """Canonical ``(...,68,3)`` → image."""
        return self.scale * np.asarray(canonical_points) @ self.rotation.T + self.translation

    def invert(self, image_points: np.ndarray) -> np.ndarray:
        """Image ``(...,68,3)`` → canonical (the pose removed)."""
        return (np.asarray(image_points) - self.translation) @ self.rotation / self.scale

    def angles(self) -> tuple[float, float, float]:
        """(yaw, pitch, roll) in degrees; see :func:`rotation_to_angles`."""
        return rotation_to_angles(self.rotation)

    @staticmethod
    def from_angles(yaw: float, pitch: float, roll: float, *, translation: np.ndarray, scale: float) -> Pose:
        return Pose(angles_to_rotation(yaw, pitch, roll), np.asarray(translation, dtype=np.float64), float(scale))


def angles_to_rotation(yaw: float, pitch: float, roll: float) -> np.ndarray:
    """``R = Rz(roll)·Ry(yaw)·Rx(pitch)``, angles in degrees.

    With x right, y down, z away from the camera: positive yaw turns the nose toward the
    image's left, positive pitch moves the nose tip down on screen, positive roll turns the
    face clockwise on screen.
    """
    y, p, r = np.deg2rad([yaw, pitch, roll])
    rx = np.array([[1, 0, 0], [0, np.cos(p), -np.sin(p)], [0, np.sin(p), np.cos(p)]])
    ry = np.array([[np.cos(y), 0, np.sin(y)], [0, 1, 0], [-np.sin(y), 0, np.cos(y)]])
    rz = np.array([[np.cos(r), -np.sin(r), 0], [np.sin(r), np.cos(r), 0], [0, 0, 1]])
    return rz @ ry @ rx


def rotation_to_angles(rotation: np.ndarray) -> tuple[float, float, float]:
    """Inverse of :func:`angles_to_rotation`: (yaw, pitch, roll) in degrees."""
    r = np.asarray(rotation, dtype=np.float64)
    yaw = np.arcsin(np.clip(-r[2, 0], -1.0, 1.0))
    pitch = np.arctan2(r[2, 1], r[2, 2])
    roll = np.arctan2(r[1, 0], r[0, 0])
    return float(np.rad2deg(yaw)), float(np.rad2deg(pitch)), float(np.rad2deg(roll))


def umeyama(src: np.ndarray, dst: np.ndarray, *, with_scale: bool = True) -> tuple[float, np.ndarray, np.ndarray]:
    """Least-squares similarity ``dst ≈ s·src·Rᵀ + t`` (Umeyama 1991). Returns ``(s, R, t)``.

    ``src`` and ``dst`` are ``N×D`` with N ≥ D. R is a proper rotation (det +1).
    """
    src = np.asarray(src, dtype=np.float64)
    dst = np.asarray(dst, dtype=np.float64)
    if src.shape != dst.shape or src.ndim != 2:
        raise ValueError(f"umeyama needs two N×D arrays of one shape, got {src.shape} and {dst.shape}")
    mu_s, mu_d = src.mean(0), dst.mean(0)
    xs, xd = src - mu_s, dst - mu_d
    cov = xd.T @ xs / len(src)
    u, sig, vt = np.linalg.svd(cov)
    d = np.ones(len(sig))
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        d[-1] = -1.0
    rot = u @ np.diag(d) @ vt
    var_s = (xs**2).sum() / len(src)
    scale = float((sig * d).sum() / var_s) if with_scale else 1.0
    t = mu_d - scale * rot @ mu_s
    return scale, rot, t


def fit_pose(points: np.ndarray, canonical: np.ndarray | None = None) -> Pose:
    """Rigid pose of one ``68×3`` face: Umeyama of the canonical face's :data:`RIGID` points."""
    points = np.asarray(points, dtype=np.float64)
    if points.shape != (N_POINTS, 3):
        raise ValueError(f"fit_pose needs 68×3 landmarks, got {points.shape}")
    if not np.isfinite(points).all():
        raise ValueError("fit_pose got non-finite landmarks")
    can = canonical_face() if canonical is None else canonical
    idx = list(RIGID)
    s, rot, t = umeyama(can[idx], points[idx])
    return Pose(rot, t, s)


def expression(points: np.ndarray, pose: Pose, canonical: np.ndarray | None = None) -> np.ndarray:
    """Paper eq. 1 residual ε: the face in the canonical frame minus the canonical face."""
    can = canonical_face() if canonical is None else canonical
    return pose.invert(points) - can


def apply_style(identity_canonical: np.ndarray, pose: Pose, expression_delta: np.ndarray) -> np.ndarray:
    """Paper eq. 2: ``C̄ = s̄·(c + ε̄)·R̄ᵀ + τ̄`` — a portrait's canonical points ``c`` wearing a
    reference's pose and (identity-relative) expression. Shapes ``(...,68,3)``."""
    return pose.apply(np.asarray(identity_canonical) + np.asarray(expression_delta))


# ---------------------------------------------------------------------------------------------
# Mouth edits in the canonical frame

# How far each point follows a jaw drop (canonical y per unit of :func:`open_mouth`'s ``opening``).
JAW_FOLLOW = {
    **dict(zip(range(3, 14), (0.08, 0.2, 0.38, 0.58, 0.72, 0.78, 0.72, 0.58, 0.38, 0.2, 0.08), strict=True)),
    **dict(zip(LOWER_INNER_LIP, (0.88, 1.0, 0.88), strict=True)),
    **{55: 0.72, 56: 0.88, 57: 0.95, 58: 0.88, 59: 0.72},
    **{i: -0.08 for i in (49, 50, 51, 52, 53, *UPPER_INNER_LIP)},
    **{i: 0.42 for i in OUTER_LIP_CORNERS + INNER_LIP_CORNERS},
}


def open_mouth(identity: np.ndarray, opening: float, rounding: float = 0.0) -> np.ndarray:
    """``identity`` (68×3 canonical) with the lips parted by ``opening`` more inter-ocular units
    (jaw, lower lip and mouth corners follow, :data:`JAW_FOLLOW`) and the corners drawn in by
    ``rounding`` (an "O")."""
    c = np.array(identity, dtype=np.float64)
    for i, f in JAW_FOLLOW.items():
        c[i, 1] += f * opening
    if rounding:
        centre_x = c[list(MOUTH), 0].mean()
        corners = OUTER_LIP_CORNERS + INNER_LIP_CORNERS
        for i in MOUTH:
            c[i, 0] = centre_x + (c[i, 0] - centre_x) * (1.0 - rounding * (0.35 if i in corners else 0.2))
    return c


def close_mouth(identity: np.ndarray) -> np.ndarray:
    """``identity`` (68×3 canonical) with its lips brought together (jaw and lower lip raised by
    the inner-lip gap at the midline); a closed mouth is returned unchanged.

    The neutral face of paper eq. 2 for a portrait photographed with parted lips (its smile —
    corners, width — is kept)."""
    c = np.asarray(identity, dtype=np.float64)
    up, lo = INNER_LIP_MIDLINE
    gap = float(c[lo, 1] - c[up, 1])
    if gap <= 0.0:
        return c.copy()
    closed = open_mouth(c, -gap / (JAW_FOLLOW[lo] - JAW_FOLLOW[up]))
    for up, lo in INNER_LIP_PAIRS:  # the inner lips meet exactly
        if closed[lo, 1] > closed[up, 1]:
            closed[[up, lo], 1] = 0.5 * (closed[up, 1] + closed[lo, 1])
    return closed


# ---------------------------------------------------------------------------------------------
# Scale-free features (computed in the canonical frame; also valid on any similarity-normalised
# points because every feature is a ratio of distances).


def _dist(points: np.ndarray, i: int, j: int) -> np.ndarray:
    return np.linalg.norm(points[..., i, :] - points[..., j, :], axis=-1)


@dataclass(frozen=True)
class MouthFeatures:
    """Mouth shape in inter-ocular units; arrays of the input's batch shape."""

    opening: np.ndarray  # inner-lip gap, mean over INNER_LIP_PAIRS
    width: np.ndarray  # between the OUTER_LIP_CORNERS
    inner_width: np.ndarray  # between the INNER_LIP_CORNERS
    roundness: np.ndarray  # opening / inner_width: an "O" is tall and narrow, an "R" wide
    lip_thickness: np.ndarray  # upper (51–62) + lower (57–66) lip: small when lips are pressed

    def as_array(self) -> np.ndarray:
        """``(..., 5)`` in field order."""
        return np.stack([self.opening, self.width, self.inner_width, self.roundness, self.lip_thickness], -1)


def mouth_features(points: np.ndarray) -> MouthFeatures:
    """Scale-free mouth features of ``(...,68,3)`` landmarks (any pose: uses 3-D distances
    divided by the outer-eye-corner distance)."""
    p = np.asarray(points, dtype=np.float64)
    iod = np.maximum(_dist(p, 36, 45), 1e-9)
    opening = sum(_dist(p, up, lo) for up, lo in INNER_LIP_PAIRS) / len(INNER_LIP_PAIRS) / iod
    width = _dist(p, *OUTER_LIP_CORNERS) / iod
    inner_width = _dist(p, *INNER_LIP_CORNERS) / iod
    up, lo = INNER_LIP_MIDLINE
    thickness = (_dist(p, 51, up) + _dist(p, 57, lo)) / iod
    return MouthFeatures(opening, width, inner_width, opening / np.maximum(inner_width, 1e-6), thickness)


def eye_openness(points: np.ndarray) -> np.ndarray:
    """Eye aspect ratio (Soukupová & Čech 2016) of each eye, ``(..., 2)``: (right, left).

    About 0.25–0.35 for an open eye, under 0.1 for a closed one.
    """
    p = np.asarray(points, dtype=np.float64)

    def ear(a: int) -> np.ndarray:  # a = first index of the 6-point eye contour
        v = _dist(p, a + 1, a + 5) + _dist(p, a + 2, a + 4)
        return v / np.maximum(2.0 * _dist(p, a, a + 3), 1e-9)

    return np.stack([ear(36), ear(42)], -1)


# ---------------------------------------------------------------------------------------------
# Crop alignment


@dataclass(frozen=True)
class CropSpec:
    """Where the face lands in an aligned square crop."""

    size: int = 512  # output side in pixels
    eye_distance: float = 0.27  # outer eye-corner distance as a fraction of the side
    eye_y: float = 0.42  # height of the eye centre as a fraction of the side


def crop_transform(points: np.ndarray, spec: CropSpec = CropSpec()) -> np.ndarray:
    """2×3 similarity (image → crop) that levels the eyes and centres the face."""
    p = np.asarray(points, dtype=np.float64)[:, :2]
    eye_r, eye_l = p[list(RIGHT_EYE)].mean(0), p[list(LEFT_EYE)].mean(0)
    d = eye_l - eye_r
    angle = np.arctan2(d[1], d[0])
    iod = np.linalg.norm(p[45] - p[36])
    if not np.isfinite(iod) or iod < 2.0:
        raise ValueError("face too small to align (eyes under 2 px apart)")
    scale = spec.eye_distance * spec.size / iod
    c, s = np.cos(-angle) * scale, np.sin(-angle) * scale
    rot = np.array([[c, -s], [s, c]])
    centre = (eye_r + eye_l) / 2.0
    target = np.array([0.5 * spec.size, spec.eye_y * spec.size])
    return np.hstack([rot, (target - rot @ centre)[:, None]])


def invert_affine(m: np.ndarray) -> np.ndarray:
    """Inverse of a 2×3 affine matrix."""
    full = np.vstack([np.asarray(m, dtype=np.float64), [0.0, 0.0, 1.0]])
    return np.linalg.inv(full)[:2]


def compose_affine(outer: np.ndarray, inner: np.ndarray) -> np.ndarray:
    """2×3 affine of x ↦ outer(inner(x)) from two 2×3 affines."""
    outer, inner = np.asarray(outer, np.float64), np.asarray(inner, np.float64)
    return np.concatenate([outer[:, :2] @ inner[:, :2], (outer[:, :2] @ inner[:, 2] + outer[:, 2])[:, None]], axis=1)


def transform_points(points: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Apply a 2×3 affine to ``(...,N,2|3)`` points; z is scaled by the transform's scale."""
    p = np.asarray(points, dtype=np.float64)
    m = np.asarray(m, dtype=np.float64)
    xy = p[..., :2] @ m[:, :2].T + m[:, 2]
    if p.shape[-1] == 2:
        return xy
    scale = np.sqrt(abs(np.linalg.det(m[:, :2])))
    return np.concatenate([xy, p[..., 2:3] * scale], -1)


OUTSIDE_SHADE = 0.8  # brightness of the fill where a crop reaches past its image (see outside_fill)


def outside_fill(crop: np.ndarray, inside: np.ndarray) -> np.ndarray:
    """``crop`` (S×S×3 uint8) with the part that lies outside its source image (``inside``: S×S
    float, 1 in the picture, 0 outside) replaced by the picture's edge colours, spread smoothly
    outward and darkened to :data:`OUTSIDE_SHADE` so it reads as "outside the picture": nothing
    mirrored, no streaks of repeated edge pixels."""
    import cv2

    if inside.min() >= 1.0:
        return crop
    size = crop.shape[0]
    small = max(8, size // 4)  # the fill is smooth: computed at a quarter of the size, then enlarged
    x = cv2.resize(crop.astype(np.float32) * inside[..., None], (small, small), interpolation=cv2.INTER_AREA)
    ins = cv2.resize(inside.astype(np.float32), (small, small), interpolation=cv2.INTER_AREA)
    sigma = 0.08 * small
    num = cv2.resize(cv2.GaussianBlur(x, (0, 0), sigma), (size, size), interpolation=cv2.INTER_LINEAR)
    den = cv2.resize(cv2.GaussianBlur(ins, (0, 0), sigma), (size, size), interpolation=cv2.INTER_LINEAR)[..., None]
    spread = num / np.maximum(den, 1e-3)  # normalised convolution: the edge colours carried outward
    # Far from the picture, where the blur holds almost no picture, the fill fades to its mean colour.
    mean = (crop.reshape(-1, 3).astype(np.float32) * inside.reshape(-1, 1)).sum(0) / max(float(inside.sum()), 1.0)
    trust = np.clip(den / 0.05, 0.0, 1.0)
    fill = OUTSIDE_SHADE * (trust * spread + (1.0 - trust) * mean)
    w = inside[..., None].astype(np.float32)
    return np.clip(w * crop + (1.0 - w) * fill, 0, 255).round().astype(np.uint8)


def align_face(image: np.ndarray, points: np.ndarray, spec: CropSpec = CropSpec()) -> tuple[np.ndarray, np.ndarray]:
    """Crop ``image`` (H×W×3 uint8) to an aligned ``size²`` face. Returns ``(crop, M)`` with M the
    2×3 image→crop transform (use :func:`invert_affine` to paste back). Where the crop reaches
    past the image (a face at the picture's edge) it shows :func:`outside_fill`."""
    import cv2

    m = crop_transform(points, spec)
    size = (spec.size, spec.size)
    crop = cv2.warpAffine(image, m, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    h, w = image.shape[:2]
    inside = cv2.warpAffine(np.ones((h, w), np.float32), m, size, flags=cv2.INTER_LINEAR, borderValue=0.0)
    return outside_fill(crop, inside), m
