"""Full-size LivePortrait forward pass on CPU with random weights: shapes, ranges, no NaN.

F and M read a 256² crop, the keypoints are posed and stitched, W warps the feature volume and G
decodes the 512² image — the chain the `liveportrait` renderer runs, at the checkpoints' sizes.
"""

from __future__ import annotations

import pytest
import torch

from talkinghead.networks.liveportrait import (
    FULL,
    AppearanceFeatureExtractor,
    MotionExtractor,
    SpadeGenerator,
    WarpingNetwork,
    build_liveportrait,
    keypoints,
)
from talkinghead.networks.liveportrait import configs as C


@pytest.mark.slow
def test_full_size_chain_on_cpu() -> None:
    torch.manual_seed(0)
    nets = build_liveportrait(FULL)
    image = torch.rand(1, 3, 256, 256)

    with torch.inference_mode():
        feature = nets.appearance(image)
        assert feature.shape == (1, 32, 16, 64, 64)

        raw = nets.motion(image)
        expected = {"pitch": 66, "yaw": 66, "roll": 66, "t": 3, "exp": 63, "scale": 1, "kp": 63}
        assert {k: tuple(v.shape) for k, v in raw.items()} == {k: (1, n) for k, n in expected.items()}

        info = keypoints.refine_kp_info(raw)
        x_s = keypoints.transform_keypoint(info)  # 1×21×3
        rot_d = keypoints.rotation_matrix(info["pitch"] + 5.0, info["yaw"] - 10.0, info["roll"])  # a turned head
        x_d = keypoints.pose_keypoints(info["kp"], rot_d, info["exp"], info["scale"], info["t"])
        x_d = keypoints.apply_stitching(nets.stitching.stitching, x_s, x_d)
        x_d = x_d + keypoints.retarget_eye(nets.stitching.eye, x_s, torch.full((1, 3), 0.3))
        x_d = x_d + keypoints.retarget_lip(nets.stitching.lip, x_s, torch.full((1, 2), 0.2))
        assert x_s.shape == x_d.shape == (1, 21, 3)

        warped = nets.warping(feature, kp_source=x_s, kp_driving=x_d)
        assert warped["out"].shape == (1, 256, 64, 64)
        assert warped["deformation"].shape == (1, 16, 64, 64, 3)
        assert warped["occlusion_map"].shape == (1, 1, 64, 64)

        image_out = nets.generator(warped["out"])
        assert image_out.shape == (1, 3, 512, 512)

    for name, value in {"feature": feature, **raw, **warped, "image": image_out}.items():
        assert torch.isfinite(value).all(), name
    occlusion = warped["occlusion_map"]
    assert 0.0 <= occlusion.min() and occlusion.max() <= 1.0
    assert 0.0 < image_out.min() and image_out.max() < 1.0
    assert image_out.std() > 1e-3  # not a constant image


def test_tiny_networks_run_under_autocast() -> None:
    """Mixed precision (as the renderer uses on a GPU) must not break dtypes inside the networks.

    CPU autocast runs convolutions and matmuls in bfloat16 while grids and heatmaps stay float32;
    the outputs stay finite and close to the float32 ones.
    """
    torch.manual_seed(0)
    cases = {
        "F": (AppearanceFeatureExtractor(config=C.TINY_APPEARANCE), lambda m: m(torch.rand(1, 3, 32, 32))),
        "M": (MotionExtractor(config=C.TINY_MOTION), lambda m: m(torch.rand(1, 3, 64, 64))),
        "W": (
            WarpingNetwork(config=C.TINY_WARPING),
            lambda m: m(torch.randn(1, 4, 4, 8, 12), kp_source=kp_s, kp_driving=kp_s + 0.05),
        ),
        "G": (SpadeGenerator(config=C.TINY_GENERATOR), lambda m: m(torch.randn(1, 4, 6, 8))),
    }
    kp_s = torch.rand(1, 21, 3) * 2 - 1
    for name, (model, call) in cases.items():
        model.eval()
        with torch.inference_mode():
            torch.manual_seed(1)
            ref = call(model)
            torch.manual_seed(1)
            with torch.autocast("cpu", dtype=torch.bfloat16):
                low = call(model)
        ref = ref if isinstance(ref, dict) else {"out": ref}
        low = low if isinstance(low, dict) else {"out": low}
        assert set(low) == set(ref), name
        for key in ref:
            got = low[key].float()
            assert torch.isfinite(got).all(), f"{name}.{key}"
            scale = ref[key].abs().max().item()
            assert (got - ref[key]).abs().max().item() <= 0.03 * scale + 0.01, f"{name}.{key}"
