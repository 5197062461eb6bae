"""LivePortrait's five networks (F, M, W, G, S), our implementation of the public checkpoints' layout.

The networks form the `liveportrait` renderer's implicit-keypoint pipeline, the face-vid2vid family
that the paper's Style Mapping (§3.3, supplement Tables 1–4) is built on:

* F :class:`AppearanceFeatureExtractor` — 256² image → feature volume 32×16×64×64;
* M :class:`MotionExtractor` — 256² image → canonical keypoints, pose bins, t, δ, scale;
* W :class:`WarpingNetwork` — volume + source/driving keypoints → warped 2-D feature 256×64×64;
* G :class:`SpadeGenerator` — warped feature → 512² RGB image;
* S :class:`StitchingRetargeting` — keypoint-correcting MLPs (stitching, lip, eye).

Every module reproduces the reference vectors in ``../shared/reference/liveportrait`` (tests) and
holds the exact state-dict layout of the public safetensors (registered in :mod:`talkinghead.weights`,
group ``liveportrait``), so each file loads with ``strict=True`` as it is. This package does no file
I/O: the renderer loads the weights through the registry.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, fields

import torch
from torch import nn

from talkinghead.networks.liveportrait.appearance_feature_extractor import AppearanceFeatureExtractor
from talkinghead.networks.liveportrait.configs import FULL, LivePortraitConfig
from talkinghead.networks.liveportrait.motion_extractor import MotionExtractor
from talkinghead.networks.liveportrait.spade_generator import SpadeGenerator
from talkinghead.networks.liveportrait.stitching_retargeting import StitchingRetargeting
from talkinghead.networks.liveportrait.warping_network import WarpingNetwork


@dataclass
class LivePortraitNets:
    """The five networks, built together from one :class:`LivePortraitConfig`."""

    appearance: AppearanceFeatureExtractor  # F
    motion: MotionExtractor  # M
    warping: WarpingNetwork  # W
    generator: SpadeGenerator  # G
    stitching: StitchingRetargeting  # S

    def modules_by_role(self) -> Iterator[tuple[str, nn.Module]]:
        """(role, module) pairs in the order F, M, W, G, S."""
        for field in fields(self):
            yield field.name, getattr(self, field.name)

    def to(
        self, device: torch.device | str | None = None, dtype: torch.dtype | None = None
    ) -> LivePortraitNets:
        """Moves (and optionally casts) every network in place; returns self."""
        for _, module in self.modules_by_role():
            module.to(device=device, dtype=dtype)
        return self

    def eval(self) -> LivePortraitNets:
        for _, module in self.modules_by_role():
            module.eval()
        return self

    def requires_grad_(self, flag: bool) -> LivePortraitNets:
        for _, module in self.modules_by_role():
            module.requires_grad_(flag)
        return self


def build_liveportrait(config: LivePortraitConfig = FULL) -> LivePortraitNets:
    """Builds the five networks with random weights, in eval mode and without gradients."""
    nets = LivePortraitNets(
        appearance=AppearanceFeatureExtractor(config=config.appearance),
        motion=MotionExtractor(config=config.motion),
        warping=WarpingNetwork(config=config.warping),
        generator=SpadeGenerator(config=config.generator),
        stitching=StitchingRetargeting(config=config.stitching),
    )
    return nets.eval().requires_grad_(False)


__all__ = [
    "FULL",
    "AppearanceFeatureExtractor",
    "LivePortraitConfig",
    "LivePortraitNets",
    "MotionExtractor",
    "SpadeGenerator",
    "StitchingRetargeting",
    "WarpingNetwork",
    "build_liveportrait",
]
