"""State-dict layout of the LivePortrait networks against the public checkpoints' key lists.

The key lists (``../shared/reference/liveportrait/keys_*.json``) hold every key, shape, dtype and
parameter/buffer kind of the Hub safetensors, in order. Matching them is what lets the Hub files
load with ``strict=True`` through the project's one loader (``weights.load_state_strict``).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import save

from talkinghead import weights
from talkinghead.networks.liveportrait import FULL, StitchingRetargeting, build_liveportrait
from talkinghead.networks.liveportrait import configs as C
from talkinghead.render.liveportrait import WEIGHT_NAMES

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


def hub_file(role: str) -> str:
    """The registered file name of a network role."""
    return weights.get_spec(WEIGHT_NAMES[role]).filename


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
    assert spec["checkpoint_file"] == hub_file(role)
    assert spec["checkpoint_key_prefix"] == ""
    module = getattr(nets, role)
    assert _layout(module) == _expected(spec["entries"])
    assert len(module.state_dict()) == spec["num_state_dict_entries"]
    assert sum(p.numel() for p in module.parameters()) == spec["total_parameters"]


@pytest.mark.parametrize("role", list(STITCHING_KEY_FILES))
def test_stitching_layout_matches_flat_checkpoint(nets, reference: Path, role: str) -> None:
    """S's state dict is the flat file: each MLP sits under its checkpoint prefix, named by role."""
    spec = json.loads((reference / STITCHING_KEY_FILES[role]).read_text())
    assert spec["checkpoint_file"] == hub_file("stitching")
    prefix = spec["checkpoint_key_prefix"]
    mlp = getattr(nets.stitching, role)
    assert mlp is getattr(nets.stitching, prefix.removesuffix("."))
    assert _layout(mlp, prefix=prefix) == _expected(spec["entries"])
    assert [e for e in _layout(nets.stitching) if e[0].startswith(prefix)] == _expected(spec["entries"])
    assert sum(p.numel() for p in mlp.parameters()) == spec["total_parameters"]


@pytest.mark.parametrize("role", list(KEY_FILES) + ["stitching"])
def test_serialized_size_and_hash_match_hub_file(nets, reference: Path, role: str) -> None:
    """A safetensors file of our state dict has the Hub file's exact byte size (same tensors, fp32)."""
    key_file = KEY_FILES.get(role, STITCHING_KEY_FILES["stitching"])
    spec = json.loads((reference / key_file).read_text())
    state = getattr(nets, role).state_dict()
    size = len(save({k: v.contiguous() for k, v in state.items()}, metadata={"format": "pt"}))
    assert size == spec["predicted_safetensors_file_bytes"]
    registered = weights.get_spec(WEIGHT_NAMES[role])
    assert registered.sha256 == spec["hub_file"]["sha256"]
    if registered.size_bytes is not None:
        assert registered.size_bytes == spec["hub_file"]["bytes"] == size


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


def test_every_network_loads_strictly_from_its_own_state(nets) -> None:
    torch.manual_seed(1)
    other = build_liveportrait(FULL)
    for (role, a), (_, b) in zip(nets.modules_by_role(), other.modules_by_role(), strict=True):
        weights.load_state_strict(b, a.state_dict(), source=hub_file(role))
        sa, sb = a.state_dict(), b.state_dict()
        assert sa.keys() == sb.keys(), role
        assert all(torch.equal(sa[k], sb[k]) for k in sa), role


def test_strict_loading_names_the_bad_file_and_keys(nets) -> None:
    warping = {k: v for k, v in nets.warping.state_dict().items() if "fourth" not in k}
    with pytest.raises(weights.WeightsError, match="warping_module.safetensors.*missing keys: fourth.weight"):
        weights.load_state_strict(nets.warping, warping, source=hub_file("warping"))
    renamed = {"module." + k: v for k, v in nets.appearance.state_dict().items()}
    unexpected = "appearance_feature_extractor.safetensors.*unexpected keys: module.first"
    with pytest.raises(weights.WeightsError, match=unexpected):
        weights.load_state_strict(nets.appearance, renamed, source=hub_file("appearance"))
    reshaped = {**nets.motion.state_dict(), "detector.fc_t.bias": torch.zeros(4)}
    mismatch = "motion_extractor.safetensors.*shape mismatches.*detector.fc_t.bias"
    with pytest.raises(weights.WeightsError, match=mismatch):
        weights.load_state_strict(nets.motion, reshaped, source=hub_file("motion"))


def test_stitching_file_prefixes_are_exact() -> None:
    """A key that merely starts with a prefix's text, not "prefix.", is refused, as is a missing MLP."""
    module = StitchingRetargeting(config=FULL.stitching)
    flat = module.state_dict()
    assert {k.split(".", 1)[0] for k in flat} == {
        "retarget_shoulder_module", "retarget_mouth_module", "retarget_eye_module"
    }
    with pytest.raises(weights.WeightsError, match="unexpected keys: retarget_eye_module_extra"):
        weights.load_state_strict(module, {**flat, "retarget_eye_module_extra.mlp.0.weight": torch.zeros(1)})
    with pytest.raises(weights.WeightsError, match="missing keys: retarget_mouth_module"):
        weights.load_state_strict(module, {k: v for k, v in flat.items() if not k.startswith("retarget_mouth_module.")})


def test_config_constraints_raise_value_errors() -> None:
    with pytest.raises(ValueError, match="max_features must equal"):
        C.AppearanceFeatureExtractorConfig(max_features=500)
    with pytest.raises(ValueError, match="max_features must equal"):
        C.WarpingNetworkConfig(reshape_channel=16)
    with pytest.raises(ValueError, match="4 depths"):
        C.ConvNeXtV2Config(depths=(1, 1, 1))
    with pytest.raises(ValueError, match="G expects"):
        C.LivePortraitConfig(generator=C.TINY_GENERATOR)
