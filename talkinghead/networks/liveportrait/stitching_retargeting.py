"""Stitching and retargeting MLPs S: small corrections of the driving keypoints.

Paper component: none — the paper's Style Mapping has no counterpart. LivePortrait adds three MLPs
that act on keypoints only: *stitching* (keeps the animated crop aligned with the still shoulders
when pasted back), *lip* and *eye retargeting* (set mouth and eye opening from a target
close-ratio). How their outputs are applied to keypoints is in :mod:`keypoints`.

The public weights are one flat safetensors file with the three MLPs under the prefixes
``retarget_shoulder_module.`` (stitching), ``retarget_mouth_module.`` (lip) and
``retarget_eye_module.`` (eye); :func:`split_stitching_state` separates them.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

from talkinghead.networks.liveportrait.configs import MLPConfig, StitchingRetargetingConfig

# Role → key prefix (without the dot) in the flat checkpoint file.
CHECKPOINT_PREFIXES: dict[str, str] = {
    "stitching": "retarget_shoulder_module",
    "lip": "retarget_mouth_module",
    "eye": "retarget_eye_module",
}


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
    """S: the three MLPs by role (``stitching``, ``lip``, ``eye``)."""

    def __init__(self, *, config: StitchingRetargetingConfig) -> None:
        super().__init__()
        self.config = config
        self.stitching = StitchingRetargetingNetwork(config=config.stitching)  # [x_s, x_d] → Δx_d, (Δx, Δy)
        self.lip = StitchingRetargetingNetwork(config=config.lip)  # [x_s, lip ratios] → Δx_d
        self.eye = StitchingRetargetingNetwork(config=config.eye)  # [x_s, eye ratios] → Δx_d

    def load_checkpoint_state(self, flat: Mapping[str, torch.Tensor]) -> None:
        """Strictly loads the flat checkpoint dict (all three prefixed MLPs) into the three roles."""
        for role, state in split_stitching_state(flat).items():
            getattr(self, role).load_state_dict(state, strict=True)

    def checkpoint_state(self) -> dict[str, torch.Tensor]:
        """The state in the flat checkpoint layout (inverse of :meth:`load_checkpoint_state`)."""
        flat: dict[str, torch.Tensor] = {}
        for role, prefix in CHECKPOINT_PREFIXES.items():
            for key, value in getattr(self, role).state_dict().items():
                flat[f"{prefix}.{key}"] = value
        return flat


def split_stitching_state(flat: Mapping[str, torch.Tensor]) -> dict[str, dict[str, torch.Tensor]]:
    """Flat checkpoint dict → ``{role: state dict without its prefix}`` by exact prefix ``prefix + "."``.

    Raises ``ValueError`` when a key belongs to no role or a role has no keys, so a wrong file is
    caught here rather than by a partial load.
    """
    parts: dict[str, dict[str, torch.Tensor]] = {role: {} for role in CHECKPOINT_PREFIXES}
    unknown = []
    for key, value in flat.items():
        for role, prefix in CHECKPOINT_PREFIXES.items():
            if key.startswith(prefix + "."):
                parts[role][key[len(prefix) + 1 :]] = value
                break
        else:
            unknown.append(key)
    if unknown:
        raise ValueError(
            f"stitching/retargeting checkpoint has {len(unknown)} keys outside the prefixes "
            f"{sorted(CHECKPOINT_PREFIXES.values())}, e.g. {unknown[:3]}"
        )
    empty = [CHECKPOINT_PREFIXES[role] for role, state in parts.items() if not state]
    if empty:
        raise ValueError(f"stitching/retargeting checkpoint has no keys for {empty}")
    return parts
