"""State-dict layout of the LivePortrait networks against the public checkpoints' key lists.

The key lists (``../shared/reference/liveportrait/keys_*.json``) hold every key, shape, dtype and
parameter/buffer kind of the Hub safetensors, in order. Matching them is what lets the Hub files
load with ``strict=True``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import save

from talkinghead.networks.liveportrait import (
    FULL,
    HUB_BYTES,
    HUB_FILES,
    HUB_SHA256,
    build_liveportrait,
    load_liveportrait_state,
)
from talkinghead.networks.liveportrait import configs as C
from talkinghead.networks.liveportrait.stitching_retargeting import (
    CHECKPOINT_PREFIXES,
    StitchingRetargeting,
    split_stitching_state,
)

KEY_FILES = {
    "appearance": "keys_appearance_feature_extractor.json",
    "motion": "keys_motion_extractor.json",
    "warping": "keys_warping_module.json",
    "generator": "keys_spade_generator.json",
}
STITCHING_KEY_FILES = {
    "stitching": "keys_stitching_retargeting_module.retarget_shoulder.json",
    "lip": "keys_stitching_retargeting_module.retarget_mouth.json",
    "eye": "keys_stitching_retargeting_module.retarget_eye.json",
}


@pytest.fixture(scope="module")
def reference(shared_dir: Path) -> Path:
    path = shared_dir / "reference" / "liveportrait"
    assert path.is_dir(), f"{path} is missing from ../shared: the LivePortrait reference data must be there"
    return path


@pytest.fixture(scope="module")
def nets():
    torch.manual_seed(0)
    return build_liveportrait(FULL)


def _layout(module: torch.nn.Module, prefix: str = "") -> list[tuple[str, tuple[int, ...], str, str]]:
    params = {name for name, _ in module.named_parameters()}
    return [
        (
            prefix + key,
            tuple(value.shape),
            str(value.dtype).removeprefix("torch."),
            "parameter" if key in params else "buffer",
        )
        for key, value in module.state_dict().items()
    ]


def _expected(entries: list[dict]) -> list[tuple[str, tuple[int, ...], str, str]]:
    return [(e["key"], tuple(e["shape"]), e["dtype"], e["kind"]) for e in entries]


@pytest.mark.parametrize("role", list(KEY_FILES))
def test_base_network_layout_matches_checkpoint(nets, reference: Path, role: str) -> None:
    spec = json.loads((reference / KEY_FILES[role]).read_text())
    assert spec["checkpoint_file"] == HUB_FILES[role]
    assert spec["checkpoint_key_prefix"] == ""
    module = getattr(nets, role)
    assert _layout(module) == _expected(spec["entries"])
    assert len(module.state_dict()) == spec["num_state_dict_entries"]
    assert sum(p.numel() for p in module.parameters()) == spec["total_parameters"]


@pytest.mark.parametrize("role", list(STITCHING_KEY_FILES))
def test_stitching_layout_matches_flat_checkpoint(nets, reference: Path, role: str) -> None:
    spec = json.loads((reference / STITCHING_KEY_FILES[role]).read_text())
    assert spec["checkpoint_file"] == HUB_FILES["stitching"]
    assert spec["checkpoint_key_prefix"] == CHECKPOINT_PREFIXES[role] + "."
    mlp = getattr(nets.stitching, role)
    assert _layout(mlp, prefix=spec["checkpoint_key_prefix"]) == _expected(spec["entries"])
    assert sum(p.numel() for p in mlp.parameters()) == spec["total_parameters"]


@pytest.mark.parametrize("role", list(KEY_FILES) + ["stitching"])
def test_serialized_size_and_hash_match_hub_file(nets, reference: Path, role: str) -> None:
    """A safetensors file of our state dict has the Hub file's exact byte size (same tensors, fp32)."""
    key_file = KEY_FILES.get(role, STITCHING_KEY_FILES["stitching"])
    spec = json.loads((reference / key_file).read_text())
    module = getattr(nets, role)
    state = module.checkpoint_state() if role == "stitching" else module.state_dict()
    size = len(save({k: v.contiguous() for k, v in state.items()}, metadata={"format": "pt"}))
    assert size == spec["predicted_safetensors_file_bytes"]
    assert HUB_SHA256[HUB_FILES[role]] == spec["hub_file"]["sha256"]
    if HUB_FILES[role] in HUB_BYTES:
        assert HUB_BYTES[HUB_FILES[role]] == spec["hub_file"]["bytes"] == size


def test_full_configs_match_reference(reference: Path) -> None:
    def spec(name: str) -> dict:
        return json.loads((reference / name).read_text())["config"]

    assert C.AppearanceFeatureExtractorConfig(**spec(KEY_FILES["appearance"])) == FULL.appearance
    motion = spec(KEY_FILES["motion"])
    assert motion == {"num_kp": 21, "backbone": "convnextv2_tiny"}
    assert FULL.motion.num_kp == 21 and FULL.motion.backbone == C.ConvNeXtV2Config()
    warping = dict(spec(KEY_FILES["warping"]))
    dense = C.DenseMotionConfig(**warping.pop("dense_motion_params"))
    assert C.WarpingNetworkConfig(**warping, dense_motion=dense) == FULL.warping
    assert C.SpadeGeneratorConfig(**spec(KEY_FILES["generator"])) == FULL.generator  # out_channels: default 64
    for role, key_file in STITCHING_KEY_FILES.items():
        mlp = spec(key_file)
        assert C.MLPConfig(mlp["input_size"], tuple(mlp["hidden_sizes"]), mlp["output_size"]) == getattr(
            FULL.stitching, role
        )


def _checkpoint_files(nets) -> dict[str, dict[str, torch.Tensor]]:
    files = {HUB_FILES[role]: module.state_dict() for role, module in nets.modules_by_role() if role != "stitching"}
    files[HUB_FILES["stitching"]] = nets.stitching.checkpoint_state()
    return files


def test_load_liveportrait_state_is_strict_and_complete(nets) -> None:
    torch.manual_seed(1)
    other = build_liveportrait(FULL)
    load_liveportrait_state(other, _checkpoint_files(nets))
    for (role, a), (_, b) in zip(nets.modules_by_role(), other.modules_by_role(), strict=True):
        sa, sb = a.state_dict(), b.state_dict()
        assert sa.keys() == sb.keys(), role
        assert all(torch.equal(sa[k], sb[k]) for k in sa), role


def test_load_liveportrait_state_names_the_bad_file(nets) -> None:
    files = _checkpoint_files(nets)
    broken = dict(files)
    broken[HUB_FILES["warping"]] = {k: v for k, v in files[HUB_FILES["warping"]].items() if "fourth" not in k}
    with pytest.raises(ValueError, match="warping_module.safetensors.*missing: fourth.weight"):
        load_liveportrait_state(nets, broken)
    renamed = dict(files)
    renamed[HUB_FILES["appearance"]] = {"module." + k: v for k, v in files[HUB_FILES["appearance"]].items()}
    with pytest.raises(ValueError, match="appearance_feature_extractor.safetensors.*unexpected: module.first"):
        load_liveportrait_state(nets, renamed)
    reshaped = dict(files)
    reshaped[HUB_FILES["motion"]] = dict(files[HUB_FILES["motion"]])
    reshaped[HUB_FILES["motion"]]["detector.fc_t.bias"] = torch.zeros(4)
    with pytest.raises(ValueError, match="motion_extractor.safetensors.*wrong shape: detector.fc_t.bias"):
        load_liveportrait_state(nets, reshaped)
    without = {k: v for k, v in files.items() if k != HUB_FILES["generator"]}
    with pytest.raises(ValueError, match="spade_generator.safetensors"):
        load_liveportrait_state(nets, without)


def test_split_stitching_state_uses_exact_prefixes() -> None:
    module = StitchingRetargeting(config=FULL.stitching)
    flat = module.checkpoint_state()
    parts = split_stitching_state(flat)
    assert set(parts) == {"stitching", "lip", "eye"}
    assert list(parts["eye"]) == [k for k, _ in module.eye.state_dict().items()]
    # a key that merely starts with a prefix's text but not "prefix." is rejected, not silently split
    with pytest.raises(ValueError, match="outside the prefixes"):
        split_stitching_state({**flat, "retarget_eye_module_extra.mlp.0.weight": torch.zeros(1)})
    with pytest.raises(ValueError, match="no keys for"):
        split_stitching_state({k: v for k, v in flat.items() if not k.startswith("retarget_mouth_module.")})


def test_config_constraints_raise_value_errors() -> None:
    with pytest.raises(ValueError, match="max_features must equal"):
        C.AppearanceFeatureExtractorConfig(max_features=500)
    with pytest.raises(ValueError, match="max_features must equal"):
        C.WarpingNetworkConfig(reshape_channel=16)
    with pytest.raises(ValueError, match="4 depths"):
        C.ConvNeXtV2Config(depths=(1, 1, 1))
    with pytest.raises(ValueError, match="G expects"):
        C.LivePortraitConfig(generator=C.TINY_GENERATOR)
