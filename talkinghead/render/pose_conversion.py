"""Our head pose in LivePortrait's keypoint frame: rotation relative to the portrait, crop shifts.

**Rotation conventions.** Our geometry poses canonical *column* vectors, ``X = s·R·c + τ`` with
``R = Rz(roll)·Ry(yaw)·Rx(pitch)`` (:func:`geometry.angles_to_rotation`); LivePortrait poses *row*
vectors by ``x·R_lp`` with ``R_lp = (Rz(roll)·Ry(yaw)·Rx(pitch))ᵀ`` built from the same three
matrices (:func:`keypoints.rotation_matrix`). Both frames have x right and y down in the crop; z is
away from the camera in ours and along the feature volume's depth axis in LivePortrait's. With the
depth axes agreeing, the same (yaw, pitch, roll) give ``R_lp = Rᵀ`` and a head rotation ΔR acts as
``R_lp,new = R_lp,s·ΔRᵀ``. The direction of the learned depth axis cannot be read from the
architecture; should it point toward the camera, yaw and pitch change sign (``ΔR → D·ΔR·D``,
D = diag(1, 1, −1)): ``LivePortraitRendererConfig.flip_depth``.

**Relative pose.** Frames are posed relative to the portrait, as LivePortrait's relative mode does:
the frame's rotation relative to the portrait's (our landmark fits of both) is applied on top of M's
rotation of the portrait, so targets with the portrait's own pose render the portrait's own pose
whatever the small offsets between our landmark fit and M's estimate.
"""

from __future__ import annotations

import numpy as np
import torch


def lp_rotation(
    rotation_lp_source: torch.Tensor, ours_source: np.ndarray, ours_target: np.ndarray, *, flip_depth: bool = False
) -> torch.Tensor:
    """B×3×3 LivePortrait rotations (row-vector form) for B target rotations.

    ``rotation_lp_source`` (3×3 or 1×3×3) is M's rotation of the portrait; ``ours_source`` (3×3) and
    ``ours_target`` (B×3×3) are our column-vector rotations of the portrait and of the frames. The
    frame's head rotation relative to the portrait, ``ΔR = R_t·R_sᵀ`` (camera frame), moves the
    portrait's keypoints: ``R_lp = R_lp,s·ΔRᵀ`` (``ΔR → D·ΔR·D`` with ``flip_depth``). Identical
    source and target rotations give ``R_lp,s`` itself.
    """
    delta = np.einsum("bij,kj->bik", np.asarray(ours_target, dtype=np.float64), np.asarray(ours_source, np.float64))
    if flip_depth:
        d = np.diag([1.0, 1.0, -1.0])
        delta = d @ delta @ d
    delta_t = torch.as_tensor(np.ascontiguousarray(delta.transpose(0, 2, 1)), dtype=torch.float32)
    base = rotation_lp_source.reshape(1, 3, 3).to(torch.float32)
    return base @ delta_t.to(base.device)  # B×3×3


def pixel_shift_to_keypoints(shift_px: np.ndarray, crop_size: int, feature_size: int) -> np.ndarray:
    """Crop-pixel shifts ``(..., 2)`` → keypoint units: x, y ∈ [−1, 1] span the centres of the first
    and last of the ``feature_size`` cells of W's grid, i.e. ``crop_size·(feature_size−1)/feature_size``
    crop pixels."""
    span = crop_size * (feature_size - 1) / feature_size
    return np.asarray(shift_px, dtype=np.float64) * (2.0 / span)


__all__ = ["lp_rotation", "pixel_shift_to_keypoints"]
