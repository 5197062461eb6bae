"""Keypoint maths of LivePortrait: pose bins → degrees, rotation matrices, posed keypoints, stitching.

Conventions (those the checkpoints were trained with):

* Keypoints are B×K×3 **row vectors** (x right, y down, z inward, roughly in [−1, 1]) and are
  rotated by right-multiplication ``x·R`` with ``R = (Rz(roll)·Ry(yaw)·Rx(pitch))ᵀ``.
* Posed keypoints follow the paper's eq. 1/2 in LivePortrait's form
  ``x = s·(x_c·R + δ) + t`` with t's z component ignored (and t not scaled).
* Head pose is predicted as 66 bins of 3° per angle, centred on −97.5°, −94.5°, …, +97.5°;
  the angle is the softmax-weighted mean bin centre (as in Ruiz et al. — suppl. Table 2).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

import torch
import torch.nn.functional as F

NUM_BINS = 66  # pose bins per angle
BIN_WIDTH_DEG = 3.0  # width of one bin
FIRST_BIN_DEG = -97.5  # centre of bin 0; bin i is centred on FIRST_BIN_DEG + BIN_WIDTH_DEG·i

Mlp = Callable[[torch.Tensor], torch.Tensor]


def bins_to_degrees(pose: torch.Tensor) -> torch.Tensor:
    """B×66 bin logits → B degrees (softmax expectation). B or B×1 degrees pass through unchanged."""
    if pose.ndim == 2 and pose.shape[1] == NUM_BINS:
        prob = F.softmax(pose, dim=1)  # B×66
        idx = torch.arange(NUM_BINS, dtype=prob.dtype, device=prob.device)
        return (prob * idx).sum(dim=1) * BIN_WIDTH_DEG + FIRST_BIN_DEG  # B
    if pose.ndim == 1 or (pose.ndim == 2 and pose.shape[1] == 1):
        return pose
    raise ValueError(
        f"head pose must be B×{NUM_BINS} bin logits or B / B×1 degrees, got shape {tuple(pose.shape)}"
    )


def rotation_matrix(pitch: torch.Tensor, yaw: torch.Tensor, roll: torch.Tensor) -> torch.Tensor:
    """Degrees (B or B×1 each) → B×3×3 ``R = (Rz(roll)·Ry(yaw)·Rx(pitch))ᵀ`` for row vectors ``x·R``."""
    p, y, r = (a.reshape(-1) / 180 * math.pi for a in (pitch, yaw, roll))  # B radians each
    one, zero = torch.ones_like(p), torch.zeros_like(p)
    rot_x = torch.stack([one, zero, zero, zero, p.cos(), -p.sin(), zero, p.sin(), p.cos()], dim=1).view(
        -1, 3, 3
    )
    rot_y = torch.stack([y.cos(), zero, y.sin(), zero, one, zero, -y.sin(), zero, y.cos()], dim=1).view(
        -1, 3, 3
    )
    rot_z = torch.stack([r.cos(), -r.sin(), zero, r.sin(), r.cos(), zero, zero, zero, one], dim=1).view(
        -1, 3, 3
    )
    return (rot_z @ rot_y @ rot_x).transpose(1, 2)


def pose_keypoints(
    kp: torch.Tensor, rotation: torch.Tensor, exp: torch.Tensor, scale: torch.Tensor, t: torch.Tensor
) -> torch.Tensor:
    """Paper eq. 1/2 as LivePortrait writes it: ``s·(x_c·R + δ) + t``, t_z ignored.

    kp, exp: B×K×3 or B×3K; rotation: B×3×3; scale: B×1; t: B×3 → B×K×3.
    """
    b = kp.shape[0]
    kp = kp.reshape(b, -1, 3)
    x = kp @ rotation + exp.reshape(b, -1, 3)  # B×K×3
    x = x * scale.reshape(b, 1, 1)
    return torch.cat([x[..., :2] + t[:, None, :2], x[..., 2:]], dim=-1)  # only an xy shift


def transform_keypoint(kp_info: Mapping[str, torch.Tensor]) -> torch.Tensor:
    """Posed keypoints from M's outputs, raw (bin logits, flat kp/exp) or refined (degrees, B×K×3)."""
    rot = rotation_matrix(
        bins_to_degrees(kp_info["pitch"]), bins_to_degrees(kp_info["yaw"]), bins_to_degrees(kp_info["roll"])
    )  # B×3×3
    return pose_keypoints(kp_info["kp"], rot, kp_info["exp"], kp_info["scale"], kp_info["t"])


def refine_kp_info(raw: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """M's raw dict → pitch/yaw/roll as B×1 degrees and kp/exp as B×K×3 (t, scale unchanged)."""
    b = raw["kp"].shape[0]
    out = dict(raw)
    for angle in ("pitch", "yaw", "roll"):
        out[angle] = bins_to_degrees(raw[angle]).reshape(b, 1)
    out["kp"] = raw["kp"].reshape(b, -1, 3)
    out["exp"] = raw["exp"].reshape(b, -1, 3)
    return out


def _concat(kp_source: torch.Tensor, extra: torch.Tensor) -> torch.Tensor:
    if kp_source.shape[0] != extra.shape[0]:
        raise ValueError(f"batch sizes differ: {kp_source.shape[0]} keypoint sets vs {extra.shape[0]}")
    b = kp_source.shape[0]
    return torch.cat([kp_source.reshape(b, -1), extra.reshape(b, -1)], dim=1)


def stitch_delta(stitching: Mlp, kp_source: torch.Tensor, kp_driving: torch.Tensor) -> torch.Tensor:
    """Stitching MLP on ``[x_s, x_d]`` (B×126) → B×(3K+2): keypoint offsets, then a shared (Δx, Δy)."""
    return stitching(_concat(kp_source, kp_driving))


def apply_stitching(stitching: Mlp, kp_source: torch.Tensor, kp_driving: torch.Tensor) -> torch.Tensor:
    """x_d corrected by the stitching MLP: ``x_d + Δ_k`` for every keypoint, then x, y += (Δx, Δy)."""
    b, k = kp_driving.shape[:2]
    delta = stitch_delta(stitching, kp_source, kp_driving)  # B×65
    moved = kp_driving + delta[:, : 3 * k].reshape(b, k, 3)  # B×K×3
    shift = delta[:, 3 * k : 3 * k + 2].reshape(b, 1, 2)
    return torch.cat([moved[..., :2] + shift, moved[..., 2:]], dim=-1)


def retarget_eye(eye: Mlp, kp_source: torch.Tensor, eye_close_ratio: torch.Tensor) -> torch.Tensor:
    """Eye MLP on ``[x_s, eye ratios (B×3)]`` → B×K×3 keypoint offsets that set the eye opening."""
    return eye(_concat(kp_source, eye_close_ratio)).reshape(kp_source.shape[0], -1, 3)


def retarget_lip(lip: Mlp, kp_source: torch.Tensor, lip_close_ratio: torch.Tensor) -> torch.Tensor:
    """Lip MLP on ``[x_s, lip ratios (B×2)]`` → B×K×3 keypoint offsets that set the mouth opening."""
    return lip(_concat(kp_source, lip_close_ratio)).reshape(kp_source.shape[0], -1, 3)
