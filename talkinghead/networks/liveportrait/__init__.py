"""LivePortrait's five networks (F, M, W, G, S), our implementation of the public checkpoints' layout.

The networks form the `liveportrait` renderer's implicit-keypoint pipeline, the face-vid2vid family
that the paper's Style Mapping (§3.3, supplement Tables 1–4) is built on:

* F :class:`AppearanceFeatureExtractor` — 256² image → feature volume 32×16×64×64;
* M :class:`MotionExtractor` — 256² image → canonical keypoints, pose bins, t, δ, scale;
* W :class:`WarpingNetwork` — volume + source/driving keypoints → warped 2-D feature 256×64×64;
* G :class:`SpadeGenerator` — warped feature → 512² RGB image;
* S :class:`StitchingRetargeting` — keypoint-correcting MLPs (stitching, lip, eye).

Every module reproduces the reference vectors in ``../shared/reference/liveportrait`` (tests) and
holds the exact state-dict layout of the safetensors in the Hub repo :data:`HUB_REPO`, so they load
with ``strict=True``. This package does no file I/O: callers read the safetensors and pass tensors.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import torch
from torch import nn

from talkinghead.networks.liveportrait.appearance_feature_extractor import AppearanceFeatureExtractor
from talkinghead.networks.liveportrait.configs import FULL, LivePortraitConfig
from talkinghead.networks.liveportrait.motion_extractor import MotionExtractor
from talkinghead.networks.liveportrait.spade_generator import SpadeGenerator
from talkinghead.networks.liveportrait.stitching_retargeting import StitchingRetargeting
from talkinghead.networks.liveportrait.warping_network import WarpingNetwork

HUB_REPO = "Kijai/LivePortrait_safetensors"  # MIT; format conversion of KwaiVGI/LivePortrait's weights

# Network role → checkpoint file in HUB_REPO (fp32 safetensors, keys without prefix except S).
HUB_FILES: dict[str, str] = {
    "appearance": "appearance_feature_extractor.safetensors",
    "motion": "motion_extractor.safetensors",
    "warping": "warping_module.safetensors",
    "generator": "spade_generator.safetensors",
    "stitching": "stitching_retargeting_module.safetensors",
}

# sha256 of each Hub file as published (Git LFS object ids). The motion extractor's value comes from
# a mirror whose four other LivePortrait files carry the same hashes as HUB_REPO's.
HUB_SHA256: dict[str, str] = {
    HUB_FILES["appearance"]: "38bef5de50a92bf1fc66e8c511051a19dfacdf80c37f8713425ec15dc9ca7d34",
    HUB_FILES["motion"]: "3568cd410e29d046771acb55ecfdfe4c7c197d345bd8b7f95942ef63130b6c9e",
    HUB_FILES["warping"]: "f7b7834bd6039b4088f72e5161e60ad366f68a3763df8a3eac0bc0f9d46fdbbf",
    HUB_FILES["generator"]: "ca04fbec765745e9eae836d2d7522c274647b277ce5f25104fa1705b75222212",
    HUB_FILES["stitching"]: "60725cf3523ae413880da28ed583c9e84c5c25695a0cef1b77210ea31cc424ea",
}

# Exact byte sizes where known (the generator's exact size was not published, only "222 MB").
HUB_BYTES: dict[str, int] = {
    HUB_FILES["appearance"]: 3_361_936,
    HUB_FILES["motion"]: 112_496_256,
    HUB_FILES["warping"]: 182_158_564,
    HUB_FILES["stitching"]: 911_836,
}


@dataclass
class LivePortraitNets:
    """The five networks, built together from one :class:`LivePortraitConfig`."""

    appearance: AppearanceFeatureExtractor  # F
    motion: MotionExtractor  # M
    warping: WarpingNetwork  # W
    generator: SpadeGenerator  # G
    stitching: StitchingRetargeting  # S

    def modules_by_role(self) -> Iterator[tuple[str, nn.Module]]:
        """(role, module) pairs in :data:`HUB_FILES` order."""
        for role in HUB_FILES:
            yield role, getattr(self, role)

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


def _check_layout(expected: Mapping[str, torch.Tensor], state: Mapping[str, torch.Tensor], file: str) -> None:
    """Raises a ``ValueError`` that lists missing, unexpected and mis-shaped keys (at most 3 of each)."""
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    wrong = [
        f"{k} {tuple(state[k].shape)} ≠ {tuple(v.shape)}"
        for k, v in expected.items()
        if k in state and state[k].shape != v.shape
    ]
    problems = [
        (label, items)
        for label, items in (("missing", missing), ("unexpected", unexpected), ("wrong shape", wrong))
        if items
    ]
    if problems:
        details = "; ".join(
            f"{label}: {', '.join(items[:3])}{' …' if len(items) > 3 else ''}" for label, items in problems
        )
        raise ValueError(
            f"{file} does not match the LivePortrait network layout ({details}): "
            f"use the unmodified file from the Hub repo {HUB_REPO}"
        )


def load_liveportrait_state(
    nets: LivePortraitNets, tensors_by_file: Mapping[str, Mapping[str, torch.Tensor]]
) -> None:
    """Strictly loads the five Hub files' tensors (``{file name: {key: tensor}}``) into ``nets``.

    Raises ``ValueError`` naming the file when one is missing or its keys or shapes differ; every
    file is checked before any weight is copied, so a failure leaves ``nets`` unchanged.
    """
    absent = [file for file in HUB_FILES.values() if file not in tensors_by_file]
    if absent:
        raise ValueError(
            f"missing LivePortrait checkpoint files {absent}: download them from the Hub repo {HUB_REPO}"
        )
    for role, module in nets.modules_by_role():
        expected = (
            module.checkpoint_state() if isinstance(module, StitchingRetargeting) else module.state_dict()
        )
        _check_layout(expected, tensors_by_file[HUB_FILES[role]], HUB_FILES[role])
    for role, module in nets.modules_by_role():
        state = tensors_by_file[HUB_FILES[role]]
        if isinstance(module, StitchingRetargeting):
            module.load_checkpoint_state(state)
        else:
            module.load_state_dict(state, strict=True)


__all__ = [
    "FULL",
    "HUB_BYTES",
    "HUB_FILES",
    "HUB_REPO",
    "HUB_SHA256",
    "AppearanceFeatureExtractor",
    "LivePortraitConfig",
    "LivePortraitNets",
    "MotionExtractor",
    "SpadeGenerator",
    "StitchingRetargeting",
    "WarpingNetwork",
    "build_liveportrait",
    "load_liveportrait_state",
]
