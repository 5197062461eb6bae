"""Our LivePortrait networks reproduce the reference vectors of the public implementation.

Each ``../shared/reference/liveportrait/vectors_*.safetensors`` holds a tiny model's weights
(``weights.*``), the forward inputs (``inputs.*``), the outputs (``outputs.*``) and some
intermediate activations (``intermediates.*``), computed by the public modules in float32 on CPU.
We load the weights strictly (``weights.load_state_strict``, the project's one loader), run the
forward call the manifest describes and compare with atol 1e-5 (the reference's own cross-thread-count
deviation is below 4e-7).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file
from torch import nn

from talkinghead import weights
from talkinghead.networks.liveportrait import (
    AppearanceFeatureExtractor,
    MotionExtractor,
    SpadeGenerator,
    StitchingRetargeting,
    WarpingNetwork,
    keypoints,
)
from talkinghead.networks.liveportrait import configs as C
from talkinghead.networks.liveportrait.warping_network import make_coordinate_grid

ATOL = 1e-5


@pytest.fixture(scope="module")
def reference(shared_dir: Path) -> Path:
    path = shared_dir / "reference" / "liveportrait"
    assert path.is_dir(), f"{path} is missing from ../shared: the LivePortrait reference data must be there"
    return path


def _vectors(reference: Path, name: str) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    path = reference / f"vectors_{name}.safetensors"
    with safe_open(str(path), "pt") as f:
        meta = f.metadata()
    return load_file(str(path)), meta


def _group(tensors: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    return {k[len(prefix) + 1 :]: v for k, v in tensors.items() if k.startswith(prefix + ".")}


def _close(got: torch.Tensor, ref: torch.Tensor, what: str) -> None:
    torch.testing.assert_close(got, ref, atol=ATOL, rtol=0, msg=lambda m: f"{what}: {m}")


def _tiny_config(name: str, tiny: dict):
    """The manifest's tiny config as our config dataclass."""
    if name == "appearance_feature_extractor":
        return C.AppearanceFeatureExtractorConfig(**tiny)
    if name == "motion_extractor":
        backbone = tiny["backbone_def"]
        assert backbone["class"] == "ConvNeXtV2" and backbone["drop_path_rate"] == 0.0
        return C.MotionExtractorConfig(
            num_kp=tiny["num_kp"],
            num_bins=tiny["num_bins"],
            backbone=C.ConvNeXtV2Config(
                in_chans=backbone["in_chans"], depths=tuple(backbone["depths"]), dims=tuple(backbone["dims"])
            ),
        )
    if name == "warping_module":
        tiny = dict(tiny)
        dense = C.DenseMotionConfig(**tiny.pop("dense_motion_params"))
        return C.WarpingNetworkConfig(**tiny, dense_motion=dense)
    if name == "spade_generator":
        return C.SpadeGeneratorConfig(**tiny)
    raise KeyError(name)


NETWORKS: dict[str, tuple[type[nn.Module], object, Callable]] = {
    "appearance_feature_extractor": (
        AppearanceFeatureExtractor,
        C.TINY_APPEARANCE,
        lambda m, i: m(i["source_image"]),
    ),
    "motion_extractor": (MotionExtractor, C.TINY_MOTION, lambda m, i: m(i["x"])),
    "warping_module": (
        WarpingNetwork,
        C.TINY_WARPING,
        lambda m, i: m(i["feature_3d"], kp_source=i["kp_source"], kp_driving=i["kp_driving"]),
    ),
    "spade_generator": (SpadeGenerator, C.TINY_GENERATOR, lambda m, i: m(feature=i["feature"])),
}


@pytest.mark.parametrize("name", list(NETWORKS))
def test_network_reproduces_reference_vectors(reference: Path, name: str) -> None:
    cls, tiny, call = NETWORKS[name]
    tensors, meta = _vectors(reference, name)
    assert _tiny_config(name, json.loads(meta["tiny_config"])) == tiny
    model = weights.load_state_strict(cls(config=tiny), _group(tensors, "weights"), source=f"vectors_{name}")

    # forward hooks at the reference's module paths capture the intermediates
    captured: dict[str, torch.Tensor] = {}
    intermediates = _group(tensors, "intermediates")
    modules = dict(model.named_modules())
    for path in intermediates:
        if path in modules:
            modules[path].register_forward_hook(lambda _m, _i, out, path=path: captured.__setitem__(path, out))
    if name == "warping_module":  # the reference's "mask" is the softmax-ed mask of the dense motion dict
        model.dense_motion_network.register_forward_hook(
            lambda _m, _i, out: captured.__setitem__("dense_motion_network.mask", out["mask"])
        )

    with torch.no_grad():
        out = call(model, _group(tensors, "inputs"))
    out = out if isinstance(out, dict) else {"out": out}

    outputs = _group(tensors, "outputs")
    assert outputs, "the vectors file has no outputs"
    assert set(out) == set(outputs)
    for key, ref in outputs.items():
        _close(out[key], ref, f"{name} outputs.{key}")
    for path, ref in intermediates.items():
        if path.endswith(".effective_weight"):
            conv = modules[path.removesuffix(".effective_weight")]
            with torch.no_grad():
                _close(conv.effective_weight(), ref, f"{name} {path}")
        else:
            _close(captured[path], ref, f"{name} intermediates.{path}")


def test_stitching_and_retargeting_reproduce_reference_vectors(reference: Path) -> None:
    tensors, meta = _vectors(reference, "stitching_retargeting_module")
    tiny = json.loads(meta["tiny_config"])
    for role in ("stitching", "lip", "eye"):
        spec = tiny[role]
        assert C.MLPConfig(spec["input_size"], tuple(spec["hidden_sizes"]), spec["output_size"]) == getattr(
            C.FULL.stitching, role
        )
    module = StitchingRetargeting(config=C.FULL.stitching)
    weights.load_state_strict(module, _group(tensors, "weights"))  # the flat Hub layout, prefixes retarget_*
    i, o = _group(tensors, "inputs"), _group(tensors, "outputs")
    with torch.no_grad():
        got = {
            "stitching": module.stitching(i["stitching.x"]),
            "lip": module.lip(i["lip.x"]),
            "eye": module.eye(i["eye.x"]),
            "wrapper.stitch": keypoints.stitch_delta(module.stitching, i["kp_source"], i["kp_driving"]),
            "wrapper.stitching": keypoints.apply_stitching(module.stitching, i["kp_source"], i["kp_driving"]),
            "wrapper.retarget_eye": keypoints.retarget_eye(module.eye, i["kp_source"], i["eye_close_ratio"]),
            "wrapper.retarget_lip": keypoints.retarget_lip(module.lip, i["kp_source"], i["lip_close_ratio"]),
        }
    assert set(got) == set(o)
    for key, ref in o.items():
        _close(got[key], ref, f"stitching outputs.{key}")


def test_keypoint_maths_reproduce_reference_vectors(reference: Path) -> None:
    tensors, _ = _vectors(reference, "transform_keypoint")
    i, o = _group(tensors, "inputs"), _group(tensors, "outputs")
    raw = {k: i[k] for k in ("pitch", "yaw", "roll", "t", "exp", "scale", "kp")}
    got = {f"{a}_deg": keypoints.bins_to_degrees(i[a]) for a in ("pitch", "yaw", "roll")}
    got["rot_mat"] = keypoints.rotation_matrix(got["pitch_deg"], got["yaw_deg"], got["roll_deg"])
    got["kp_transformed"] = keypoints.transform_keypoint(raw)
    refined = keypoints.refine_kp_info(raw)
    got.update({f"refined.{k}": refined[k] for k in ("pitch", "yaw", "roll", "kp", "exp")})
    got["rot_probe.rot_mat"] = keypoints.rotation_matrix(
        i["rot_probe.pitch_deg"], i["rot_probe.yaw_deg"], i["rot_probe.roll_deg"]
    )
    assert set(got) == set(o)
    for key, ref in o.items():
        _close(got[key], ref, f"keypoints outputs.{key}")
    # the refined dict (degrees, B×K×3) gives the same posed keypoints as the raw one, bit for bit
    assert torch.equal(keypoints.transform_keypoint(refined), keypoints.transform_keypoint(raw))
    # sample 2 has sharply peaked logits: pitch bin 0, yaw bin 65, roll bin 40
    torch.testing.assert_close(
        torch.stack([got["pitch_deg"][2], got["yaw_deg"][2], got["roll_deg"][2]]),
        torch.tensor([-97.5, 97.5, 22.5]),
        atol=1e-4,
        rtol=0,
    )


# Invariants that hold for any weights (no reference data needed).


def test_rotation_matrices_are_proper_rotations() -> None:
    torch.manual_seed(0)
    angles = (torch.rand(3, 64) - 0.5) * 360
    rot = keypoints.rotation_matrix(*angles)
    eye = torch.eye(3).expand(64, 3, 3)
    torch.testing.assert_close(rot @ rot.transpose(1, 2), eye, atol=1e-5, rtol=0)
    torch.testing.assert_close(torch.linalg.det(rot), torch.ones(64), atol=1e-5, rtol=0)
    # pure yaw turns +x towards −z for row vectors x·R (Ry(y) applied to column vectors)
    yaw90 = keypoints.rotation_matrix(torch.zeros(1), torch.full((1,), 90.0), torch.zeros(1))
    torch.testing.assert_close(
        torch.tensor([[1.0, 0.0, 0.0]]) @ yaw90[0], torch.tensor([[0.0, 0.0, -1.0]]), atol=1e-6, rtol=0
    )


def test_bins_to_degrees_peaks_and_passthrough() -> None:
    logits = torch.full((3, keypoints.NUM_BINS), -1e4)
    logits[0, 0], logits[1, 32], logits[2, 65] = 0.0, 0.0, 0.0
    torch.testing.assert_close(keypoints.bins_to_degrees(logits), torch.tensor([-97.5, -1.5, 97.5]))
    degrees = torch.tensor([[12.5], [-3.0]])
    assert keypoints.bins_to_degrees(degrees) is degrees
    with pytest.raises(ValueError, match="bin logits"):
        keypoints.bins_to_degrees(torch.zeros(2, 65))


def test_identical_keypoints_give_the_identity_warp() -> None:
    """With x_s = x_d every sparse motion is the identity, so the blended deformation is too."""
    torch.manual_seed(0)
    model = WarpingNetwork(config=C.TINY_WARPING).eval()
    feature = torch.randn(2, 4, 4, 8, 12)
    kp = torch.rand(2, 21, 3) * 2 - 1
    with torch.no_grad():
        out = model(feature, kp_source=kp, kp_driving=kp)
    identity = make_coordinate_grid((4, 8, 12), kp).expand(2, 4, 8, 12, 3)
    torch.testing.assert_close(out["deformation"], identity, atol=1e-6, rtol=0)
