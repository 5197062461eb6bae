"""Stitching and retargeting MLPs S: small corrections of the driving keypoints.

Paper component: none — the paper's Style Mapping has no counterpart. LivePortrait adds three MLPs
that act on keypoints only: *stitching* (keeps the animated crop aligned with the still shoulders
when pasted back), *lip* and *eye retargeting* (set mouth and eye opening from a target
close-ratio). How their outputs are applied to keypoints is in :mod:`keypoints`.

The public weights are one flat safetensors file with the three MLPs under the prefixes
``retarget_shoulder_module.`` (stitching), ``retarget_mouth_module.`` (lip) and
``retarget_eye_module.`` (eye). The submodules carry exactly those names, so the file is this
module's state dict and loads strictly as it is; the properties ``stitching``, ``lip`` and ``eye``
name them by role.
"""

from __future__ import annotations

import torch
from torch import nn

from talkinghead.networks.liveportrait.configs import MLPConfig, StitchingRetargetingConfig


class StitchingRetargetingNetwork(nn.Module):
    """One MLP: Linear → ReLU per hidden size, then Linear (linear layers at even ``mlp`` indices)."""

    def __init__(self, *, config: MLPConfig) -> None:
        super().__init__()
        self.config = config
        sizes = (config.input_size, *config.hidden_sizes)
        layers: list[nn.Module] = []
        for fin, fout in zip(sizes[:-1], sizes[1:], strict=True):
            layers += [nn.Linear(fin, fout), nn.ReLU()]
        layers.append(nn.Linear(sizes[-1], config.output_size))
        self.mlp = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.mlp(x)  # B×input_size → B×output_size


class StitchingRetargeting(nn.Module):
    """S: the three MLPs, named as in the checkpoint, by role ``stitching``, ``lip``, ``eye``."""

    def __init__(self, *, config: StitchingRetargetingConfig) -> None:
        super().__init__()
        self.config = config
        self.retarget_shoulder_module = StitchingRetargetingNetwork(config=config.stitching)
        self.retarget_mouth_module = StitchingRetargetingNetwork(config=config.lip)
        self.retarget_eye_module = StitchingRetargetingNetwork(config=config.eye)

    @property
    def stitching(self) -> StitchingRetargetingNetwork:
        """[x_s, x_d] → Δx_d, (Δx, Δy)."""
        return self.retarget_shoulder_module

    @property
    def lip(self) -> StitchingRetargetingNetwork:
        """[x_s, lip ratios] → Δx_d."""
        return self.retarget_mouth_module

    @property
    def eye(self) -> StitchingRetargetingNetwork:
        """[x_s, eye ratios] → Δx_d."""
        return self.retarget_eye_module
