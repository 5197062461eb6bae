"""Appearance feature extractor F: source image → 3-D appearance feature volume f_s.

Paper component: the first rows of supplement Table 4 ("Intermediate Generator": Conv2d 3→64 +
BatchNorm, two DownBlock2d, Conv2d 256→512 1×1, six ResBlock3d), which encode the neutral image
into the feature volume F_s (32×16×64×64) that the warping network moves. LivePortrait keeps this
face-vid2vid design and its sizes unchanged; only the module is a network of its own.
"""

from __future__ import annotations

import torch
from torch import nn

from talkinghead.networks.liveportrait.blocks import DownBlock2d, ResBlock3d, SameBlock2d
from talkinghead.networks.liveportrait.configs import AppearanceFeatureExtractorConfig


class AppearanceFeatureExtractor(nn.Module):
    """F: B×3×H×W image in [0,1] (RGB, no normalisation) → B×C×D×H/4×W/4 feature volume."""

    def __init__(self, *, config: AppearanceFeatureExtractorConfig) -> None:
        super().__init__()
        self.config = config
        c = config
        self.first = SameBlock2d(in_features=c.image_channel, out_features=c.block_expansion)
        widths = [min(c.max_features, c.block_expansion * 2**i) for i in range(c.num_down_blocks + 1)]
        self.down_blocks = nn.ModuleList(
            DownBlock2d(in_features=widths[i], out_features=widths[i + 1]) for i in range(c.num_down_blocks)
        )
        self.second = nn.Conv2d(widths[-1], c.max_features, kernel_size=1)
        self.resblocks_3d = nn.Sequential()
        for i in range(c.num_resblocks):
            self.resblocks_3d.add_module(f"3dr{i}", ResBlock3d(features=c.reshape_channel))

    def forward(self, source_image: torch.Tensor) -> torch.Tensor:
        c = self.config
        out = self.first(source_image)  # B×3×256×256 → B×64×256×256
        for block in self.down_blocks:
            out = block(out)  # → B×128×128×128 → B×256×64×64
        out = self.second(out)  # → B×512×64×64
        b, _, h, w = out.shape
        volume = out.view(b, c.reshape_channel, c.reshape_depth, h, w)  # → B×32×16×64×64 (channel = c·D + d)
        return self.resblocks_3d(volume)  # → B×32×16×64×64
