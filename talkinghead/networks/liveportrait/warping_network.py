"""Warping network W: moves F's feature volume from the source keypoints to the driving keypoints.

Paper component: the warping network of supplement Table 3 and eqs. 1–2. A dense motion network
compresses the volume (Conv3d 32→4 + BatchNorm), warps it once per keypoint, feeds the warped copies
plus Gaussian keypoint heatmaps to a 3-D hourglass, and predicts soft composition masks m_k
(softmax over motions, suppl. eq. 2) and a 2-D occlusion map o. The dense flow is Σ_k m_k·w_k.

Where LivePortrait differs from the paper's tables:

* K = 21 keypoints plus a background motion → 22 masks (the table has 15 keypoints and 16 masks),
  so the hourglass sees 22·(4+1) = 110 channels and returns 142 (Table 3: 80 and 112).
* The per-keypoint warps are zeroth order: ``w_k(p) = p − x_d,k + x_s,k``. The keypoints are
  already posed (x = s·(x_c·R + δ) + t), so suppl. eq. 1's rotation term ``R·R̄⁻¹`` is not
  applied inside the warp.
* The 2-D projection of the warped volume (Conv2d 512→256 3×3 + BatchNorm, then 1×1 — Table 4's
  rows after WarpingNetwork) lives here as ``third``/``fourth``, with LeakyReLU, and its output is
  multiplied by the occlusion map; the generator G starts after that.

Coordinates follow ``grid_sample``: the last axis is (x, y, z) = (w, h, d) in [−1, 1] with the end
points on the first and last samples, while every ``grid_sample`` runs with ``align_corners=False``
exactly as the checkpoints were trained.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from talkinghead.networks.liveportrait.blocks import Hourglass, SameBlock2d
from talkinghead.networks.liveportrait.configs import DenseMotionConfig, WarpingNetworkConfig

KP_VARIANCE = 0.01  # variance of the Gaussian keypoint heatmaps, in normalised coordinates²


def make_coordinate_grid(spatial_size: tuple[int, int, int], ref: torch.Tensor) -> torch.Tensor:
    """D×H×W×3 grid of (x, y, z) in [−1, 1] (right, down, inward), in ``ref``'s dtype and device."""
    d, h, w = spatial_size
    x = torch.arange(w, dtype=ref.dtype, device=ref.device)
    y = torch.arange(h, dtype=ref.dtype, device=ref.device)
    z = torch.arange(d, dtype=ref.dtype, device=ref.device)
    x = 2 * (x / (w - 1)) - 1
    y = 2 * (y / (h - 1)) - 1
    z = 2 * (z / (d - 1)) - 1
    xx = x.view(1, 1, w).expand(d, h, w)
    yy = y.view(1, h, 1).expand(d, h, w)
    zz = z.view(d, 1, 1).expand(d, h, w)
    return torch.stack([xx, yy, zz], dim=3)  # D×H×W×3


def kp2gaussian(kp: torch.Tensor, spatial_size: tuple[int, int, int]) -> torch.Tensor:
    """B×K×3 keypoints → B×K×D×H×W heatmaps ``exp(−½‖p − kp‖² / KP_VARIANCE)``."""
    grid = make_coordinate_grid(spatial_size, kp)  # D×H×W×3
    diff = grid[None, None] - kp[:, :, None, None, None, :]  # B×K×D×H×W×3
    return torch.exp(-0.5 * (diff**2).sum(-1) / KP_VARIANCE)


class DenseMotionNetwork(nn.Module):
    """Predicts the dense deformation (B×D×H×W×3), the masks and the occlusion map (suppl. Table 3)."""

    def __init__(
        self, *, config: DenseMotionConfig, num_kp: int, feature_channel: int, estimate_occlusion_map: bool
    ) -> None:
        super().__init__()
        self.num_kp = num_kp
        self.hourglass = Hourglass(
            block_expansion=config.block_expansion,
            in_features=(num_kp + 1) * (config.compress + 1),
            num_blocks=config.num_blocks,
            max_features=config.max_features,
        )
        self.mask = nn.Conv3d(self.hourglass.out_filters, num_kp + 1, kernel_size=7, padding=3)
        self.compress = nn.Conv3d(feature_channel, config.compress, kernel_size=1)
        self.norm = nn.BatchNorm3d(config.compress, affine=True)
        self.occlusion = (
            nn.Conv2d(self.hourglass.out_filters * config.reshape_depth, 1, kernel_size=7, padding=3)
            if estimate_occlusion_map
            else None
        )

    def sparse_motions(
        self, feature: torch.Tensor, kp_source: torch.Tensor, kp_driving: torch.Tensor
    ) -> torch.Tensor:
        """B×(K+1)×D×H×W×3 sampling grids: identity (background), then ``p − x_d,k + x_s,k``."""
        b, _, d, h, w = feature.shape
        identity = make_coordinate_grid((d, h, w), kp_source).view(1, 1, d, h, w, 3)
        moved = identity - kp_driving.view(b, self.num_kp, 1, 1, 1, 3)
        moved = moved + kp_source.view(b, self.num_kp, 1, 1, 1, 3)  # B×K×D×H×W×3
        return torch.cat([identity.expand(b, 1, d, h, w, 3), moved], dim=1)  # → B×(K+1)×D×H×W×3

    def forward(
        self, feature: torch.Tensor, *, kp_source: torch.Tensor, kp_driving: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        feature = F.relu(self.norm(self.compress(feature)))  # B×32×16×64×64 → B×4×16×64×64
        b, c, d, h, w = feature.shape
        k1 = self.num_kp + 1

        motions = self.sparse_motions(feature, kp_source, kp_driving)  # B×22×16×64×64×3
        repeated = feature.unsqueeze(1).expand(b, k1, c, d, h, w).reshape(b * k1, c, d, h, w)
        deformed = F.grid_sample(
            repeated,
            motions.reshape(b * k1, d, h, w, 3),
            mode="bilinear",
            padding_mode="zeros",
            align_corners=False,
        ).view(b, k1, c, d, h, w)  # B×22×4×16×64×64, one warped copy per motion

        heatmap = kp2gaussian(kp_driving, (d, h, w)) - kp2gaussian(kp_source, (d, h, w))  # B×21×16×64×64
        background = torch.zeros(b, 1, d, h, w, dtype=heatmap.dtype, device=heatmap.device)
        heatmap = torch.cat([background, heatmap], dim=1).unsqueeze(2)  # B×22×1×16×64×64

        hourglass_in = torch.cat([heatmap, deformed], dim=2).view(b, -1, d, h, w)  # B×110×16×64×64
        prediction = self.hourglass(hourglass_in)  # → B×142×16×64×64

        mask = F.softmax(self.mask(prediction), dim=1)  # B×22×16×64×64, suppl. eq. 2: Σ_k m_k = 1
        deformation = (motions.permute(0, 1, 5, 2, 3, 4) * mask.unsqueeze(2)).sum(dim=1)  # B×3×16×64×64
        out = {"mask": mask, "deformation": deformation.permute(0, 2, 3, 4, 1)}  # deformation B×16×64×64×3
        if self.occlusion is not None:
            flat = prediction.view(b, -1, h, w)  # B×(142·16)×64×64
            out["occlusion_map"] = torch.sigmoid(self.occlusion(flat))  # → B×1×64×64
        return out


class WarpingNetwork(nn.Module):
    """W: feature volume B×C×D×H×W + keypoints x_s, x_d (B×K×3) → dict of 2-D warped features.

    Keys: ``out`` B×256×H×W (the input of G), ``deformation`` B×D×H×W×3 (sampling grid in the source
    volume), ``occlusion_map`` B×1×H×W (only when the config estimates it). The keypoints are
    keyword-only: swapping source and driving silently warps the wrong way.
    """

    def __init__(self, *, config: WarpingNetworkConfig) -> None:
        super().__init__()
        self.config = config
        self.dense_motion_network = DenseMotionNetwork(
            config=config.dense_motion,
            num_kp=config.num_kp,
            feature_channel=config.reshape_channel,
            estimate_occlusion_map=config.estimate_occlusion_map,
        )
        self.third = SameBlock2d(
            in_features=config.max_features, out_features=config.out_channels, leaky=True
        )
        self.fourth = nn.Conv2d(config.out_channels, config.out_channels, kernel_size=1)

    def forward(
        self, feature_3d: torch.Tensor, *, kp_source: torch.Tensor, kp_driving: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        motion = self.dense_motion_network(feature_3d, kp_source=kp_source, kp_driving=kp_driving)
        deformation = motion["deformation"]  # B×16×64×64×3
        warped = F.grid_sample(
            feature_3d, deformation, mode="bilinear", padding_mode="zeros", align_corners=False
        )  # B×32×16×64×64
        b, c, d, h, w = warped.shape
        out = self.fourth(self.third(warped.view(b, c * d, h, w)))  # B×512×64×64 → B×256×64×64
        result = {"deformation": deformation}
        if "occlusion_map" in motion:
            out = out * motion["occlusion_map"]  # B×256×64×64 · B×1×64×64
            result["occlusion_map"] = motion["occlusion_map"]
        result["out"] = out
        return result
