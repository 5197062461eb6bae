"""Motion extractor M: image → canonical keypoints x_c, head pose (66 bins per angle), t, δ, scale.

Paper component: M does the work of two networks of the paper's Style Mapping, the keypoint
extractor (supplement Table 1: a 3-D U-Net predicting K = 15 canonical keypoints c_k) and the
pose-expression network (Table 2: a ResNet with linear heads for yaw/pitch/roll over 66 bins,
translation τ and expression ε). LivePortrait replaces both with one ConvNeXt V2-tiny backbone and
seven linear heads, uses K = 21 keypoints, predicts the expression as a 3-D offset per keypoint
(δ, 63 values) and adds a scale head s. The keypoints then follow paper eq. 1 in the form
``x = s·(x_c·R + δ) + t`` (see :func:`keypoints.transform_keypoint`).
"""

from __future__ import annotations

import torch
from torch import nn

from talkinghead.networks.liveportrait.configs import MotionExtractorConfig
from talkinghead.networks.liveportrait.convnextv2 import ConvNeXtV2


class MotionExtractor(nn.Module):
    """M: B×3×256×256 image in [0,1] (RGB, no normalisation) → dict of raw head outputs.

    Keys (all raw linear outputs, no activation): ``pitch``, ``yaw``, ``roll`` B×66 bin logits,
    ``t`` B×3, ``exp`` B×63, ``scale`` B×1, ``kp`` B×63 (K = 21 keypoints × xyz).
    """

    def __init__(self, *, config: MotionExtractorConfig) -> None:
        super().__init__()
        self.config = config
        self.detector = ConvNeXtV2(config=config.backbone, num_kp=config.num_kp, num_bins=config.num_bins)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        return self.detector(x)  # B×3×256×256 → {pitch, yaw, roll: B×66, t: B×3, exp, kp: B×63, scale: B×1}
