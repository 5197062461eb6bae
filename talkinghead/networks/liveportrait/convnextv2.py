"""ConvNeXt V2 backbone of the motion extractor M, with LivePortrait's seven linear heads.

ConvNeXt V2 (Woo et al., CVPR 2023): a 4×4 patchify stem, four stages of depthwise-7×7 blocks with
Global Response Normalisation (GRN), 2×2 strided downsampling between stages, global average pooling
and a LayerNorm. Depths and widths are configurable so that tests can build a tiny backbone with the
checkpoint's module layout. Inference only: stochastic depth (drop path) is the identity at eval and
is not built.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from talkinghead.networks.liveportrait.configs import ConvNeXtV2Config

LAYER_NORM_EPS = 1e-6  # every LayerNorm in the backbone
GRN_EPS = 1e-6  # GRN's divisor guard


class ChannelsFirstLayerNorm(nn.Module):
    """LayerNorm over C of a B×C×H×W tensor (biased variance), as written out in ConvNeXt."""

    def __init__(self, *, channels: int, eps: float = LAYER_NORM_EPS) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean = x.mean(1, keepdim=True)  # B×1×H×W
        var = (x - mean).pow(2).mean(1, keepdim=True)
        x = (x - mean) / torch.sqrt(var + self.eps)
        return self.weight[:, None, None] * x + self.bias[:, None, None]


class GRN(nn.Module):
    """Global Response Normalisation on B×H×W×C: ``γ·(x·N(x)) + β + x``, N = ‖x‖₂ over H,W / mean over C."""

    def __init__(self, *, channels: int) -> None:
        super().__init__()
        self.gamma = nn.Parameter(torch.zeros(1, 1, 1, channels))
        self.beta = nn.Parameter(torch.zeros(1, 1, 1, channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gx = torch.linalg.vector_norm(x, ord=2, dim=(1, 2), keepdim=True)  # B×1×1×C
        nx = gx / (gx.mean(dim=-1, keepdim=True) + GRN_EPS)  # B×1×1×C
        return self.gamma * (x * nx) + self.beta + x


class ConvNeXtV2Block(nn.Module):
    """dwconv 7×7 → LayerNorm → Linear(4C) → GELU (exact erf) → GRN → Linear(C), plus the residual."""

    def __init__(self, *, dim: int) -> None:
        super().__init__()
        self.dwconv = nn.Conv2d(dim, dim, kernel_size=7, padding=3, groups=dim)
        self.norm = nn.LayerNorm(dim, eps=LAYER_NORM_EPS)
        self.pwconv1 = nn.Linear(dim, 4 * dim)
        self.grn = GRN(channels=4 * dim)
        self.pwconv2 = nn.Linear(4 * dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.dwconv(x).permute(0, 2, 3, 1)  # B×C×H×W → B×H×W×C
        out = self.pwconv1(self.norm(out))  # → B×H×W×4C
        out = self.grn(F.gelu(out, approximate="none"))
        out = self.pwconv2(out).permute(0, 3, 1, 2)  # → B×C×H×W
        return x + out


class ConvNeXtV2(nn.Module):
    """Backbone + heads: B×3×H×W (H, W multiples of 32) → dict of raw head outputs (no activation).

    Keys: ``pitch``, ``yaw``, ``roll`` B×num_bins bin logits; ``t`` B×3; ``exp`` B×3K; ``scale`` B×1;
    ``kp`` B×3K.
    """

    def __init__(self, *, config: ConvNeXtV2Config, num_kp: int, num_bins: int) -> None:
        super().__init__()
        dims, depths = config.dims, config.depths
        stem = nn.Sequential(
            nn.Conv2d(config.in_chans, dims[0], kernel_size=4, stride=4),
            ChannelsFirstLayerNorm(channels=dims[0]),
        )
        self.downsample_layers = nn.ModuleList([stem])
        for i in range(3):
            self.downsample_layers.append(
                nn.Sequential(
                    ChannelsFirstLayerNorm(channels=dims[i]),
                    nn.Conv2d(dims[i], dims[i + 1], kernel_size=2, stride=2),
                )
            )
        self.stages = nn.ModuleList(
            nn.Sequential(*(ConvNeXtV2Block(dim=dims[i]) for _ in range(depths[i]))) for i in range(4)
        )
        self.norm = nn.LayerNorm(dims[-1], eps=LAYER_NORM_EPS)
        width = dims[-1]
        self.fc_kp = nn.Linear(width, 3 * num_kp)
        self.fc_scale = nn.Linear(width, 1)
        self.fc_pitch = nn.Linear(width, num_bins)
        self.fc_yaw = nn.Linear(width, num_bins)
        self.fc_roll = nn.Linear(width, num_bins)
        self.fc_t = nn.Linear(width, 3)
        self.fc_exp = nn.Linear(width, 3 * num_kp)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        for down, stage in zip(self.downsample_layers, self.stages, strict=True):
            x = stage(down(x))  # B×3×256×256 → 96×64² → 192×32² → 384×16² → 768×8²
        return self.norm(x.mean(dim=(-2, -1)))  # global average pool → B×768

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        if x.shape[-1] % 32 or x.shape[-2] % 32:
            raise ValueError(f"ConvNeXtV2 input H×W must be multiples of 32, got {tuple(x.shape[-2:])}")
        feat = self.forward_features(x)  # B×768
        return {
            "pitch": self.fc_pitch(feat),  # B×66 bin logits
            "yaw": self.fc_yaw(feat),  # B×66
            "roll": self.fc_roll(feat),  # B×66
            "t": self.fc_t(feat),  # B×3
            "exp": self.fc_exp(feat),  # B×63
            "scale": self.fc_scale(feat),  # B×1
            "kp": self.fc_kp(feat),  # B×63
        }
