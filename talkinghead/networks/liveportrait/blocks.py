"""Building blocks shared by F and W (the face-vid2vid family's conv blocks and 3-D hourglass).

Attribute names (``conv``, ``norm``, ``down_blocks``…) are part of the checkpoint layout: renaming
one breaks strict loading of the public weights. BatchNorm layers are affine with eps 1e-5 and use
their running statistics in ``eval()``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class SameBlock2d(nn.Module):
    """3×3 conv → BatchNorm2d → ReLU (or LeakyReLU(0.01)); keeps H×W."""

    def __init__(self, *, in_features: int, out_features: int, leaky: bool = False) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_features, out_features, kernel_size=3, padding=1)
        self.norm = nn.BatchNorm2d(out_features, affine=True)
        self.leaky = leaky

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.norm(self.conv(x))  # B×Cin×H×W → B×Cout×H×W
        return F.leaky_relu(out, 0.01) if self.leaky else F.relu(out)


class DownBlock2d(nn.Module):
    """3×3 conv → BatchNorm2d → ReLU → 2×2 average pool."""

    def __init__(self, *, in_features: int, out_features: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_features, out_features, kernel_size=3, padding=1)
        self.norm = nn.BatchNorm2d(out_features, affine=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.norm(self.conv(x)))  # B×Cin×H×W → B×Cout×H×W
        return F.avg_pool2d(out, kernel_size=2)  # → B×Cout×H/2×W/2


class ResBlock3d(nn.Module):
    """Pre-activation 3-D residual block: ``x + conv2(relu(bn2(conv1(relu(bn1(x))))))``."""

    def __init__(self, *, features: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv3d(features, features, kernel_size=3, padding=1)
        self.conv2 = nn.Conv3d(features, features, kernel_size=3, padding=1)
        self.norm1 = nn.BatchNorm3d(features, affine=True)
        self.norm2 = nn.BatchNorm3d(features, affine=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv1(F.relu(self.norm1(x)))  # B×C×D×H×W, same shape throughout
        out = self.conv2(F.relu(self.norm2(out)))
        return x + out


class DownBlock3d(nn.Module):
    """3×3×3 conv → BatchNorm3d → ReLU → average pool (1,2,2): halves H and W, keeps D."""

    def __init__(self, *, in_features: int, out_features: int) -> None:
        super().__init__()
        self.conv = nn.Conv3d(in_features, out_features, kernel_size=3, padding=1)
        self.norm = nn.BatchNorm3d(out_features, affine=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.norm(self.conv(x)))  # B×Cin×D×H×W → B×Cout×D×H×W
        return F.avg_pool3d(out, kernel_size=(1, 2, 2))  # → B×Cout×D×H/2×W/2


class UpBlock3d(nn.Module):
    """Nearest upsample (1,2,2) → 3×3×3 conv → BatchNorm3d → ReLU: doubles H and W, keeps D."""

    def __init__(self, *, in_features: int, out_features: int) -> None:
        super().__init__()
        self.conv = nn.Conv3d(in_features, out_features, kernel_size=3, padding=1)
        self.norm = nn.BatchNorm3d(out_features, affine=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.interpolate(x, scale_factor=(1.0, 2.0, 2.0), mode="nearest")  # B×Cin×D×H×W → B×Cin×D×2H×2W
        return F.relu(self.norm(self.conv(out)))  # → B×Cout×D×2H×2W


class HourglassEncoder(nn.Module):
    """Down path of the 3-D hourglass; returns the input and every level's output (the skips)."""

    def __init__(self, *, block_expansion: int, in_features: int, num_blocks: int, max_features: int) -> None:
        super().__init__()
        self.down_blocks = nn.ModuleList(
            DownBlock3d(
                in_features=in_features if i == 0 else min(max_features, block_expansion * 2**i),
                out_features=min(max_features, block_expansion * 2 ** (i + 1)),
            )
            for i in range(num_blocks)
        )

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        outs = [x]
        for block in self.down_blocks:
            outs.append(block(outs[-1]))  # each level: C grows (capped), H and W halve
        return outs


class HourglassDecoder(nn.Module):
    """Up path: upsample, concatenate the skip, repeat; then 3×3×3 conv → BatchNorm3d → ReLU."""

    def __init__(self, *, block_expansion: int, in_features: int, num_blocks: int, max_features: int) -> None:
        super().__init__()
        blocks = []
        for i in reversed(range(num_blocks)):
            width = min(max_features, block_expansion * 2 ** (i + 1))
            blocks.append(
                UpBlock3d(
                    in_features=width if i == num_blocks - 1 else 2 * width,  # 2×: the concatenated skip
                    out_features=min(max_features, block_expansion * 2**i),
                )
            )
        self.up_blocks = nn.ModuleList(blocks)
        self.out_filters = block_expansion + in_features
        self.conv = nn.Conv3d(self.out_filters, self.out_filters, kernel_size=3, padding=1)
        self.norm = nn.BatchNorm3d(self.out_filters, affine=True)

    def forward(self, skips: list[torch.Tensor]) -> torch.Tensor:
        skips = list(skips)
        out = skips.pop()
        for block in self.up_blocks:
            out = torch.cat([block(out), skips.pop()], dim=1)  # [up, skip] along channels
        return F.relu(self.norm(self.conv(out)))  # B×(block_expansion+Cin)×D×H×W


class Hourglass(nn.Module):
    """3-D U-Net: B×Cin×D×H×W → B×(block_expansion+Cin)×D×H×W (H, W divisible by 2**num_blocks)."""

    def __init__(self, *, block_expansion: int, in_features: int, num_blocks: int, max_features: int) -> None:
        super().__init__()
        sizes = dict(
            block_expansion=block_expansion,
            in_features=in_features,
            num_blocks=num_blocks,
            max_features=max_features,
        )
        self.encoder = HourglassEncoder(**sizes)
        self.decoder = HourglassDecoder(**sizes)
        self.num_blocks = num_blocks
        self.out_filters = self.decoder.out_filters

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        factor = 2**self.num_blocks
        if x.shape[-1] % factor or x.shape[-2] % factor:
            raise ValueError(f"Hourglass input H×W must be multiples of {factor}, got {tuple(x.shape[-2:])}")
        return self.decoder(self.encoder(x))
