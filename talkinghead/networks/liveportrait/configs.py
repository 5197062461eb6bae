"""Architecture configs of the five LivePortrait networks: the full (pretrained) size and tiny test sizes.

One frozen dataclass per network. The defaults are the full configuration of the public checkpoints
(LivePortrait's ``models.yaml``); ``TINY_*`` are the small configurations the reference vectors were
made with. Each ``__post_init__`` checks the constraints between fields, so a bad config fails at
construction with a message instead of as a shape error deep inside a forward pass.
"""

from __future__ import annotations

from dataclasses import dataclass, field


def _check_positive(owner: str, **values: int) -> None:
    for name, value in values.items():
        if value < 1:
            raise ValueError(f"{owner}.{name} must be ≥ 1, got {value}")


@dataclass(frozen=True)
class AppearanceFeatureExtractorConfig:
    """F: image → 3-D appearance feature volume."""

    image_channel: int = 3  # input image channels (RGB)
    block_expansion: int = 64  # channels after the first 3×3 conv; doubled by each down block
    num_down_blocks: int = 2  # 2-D down blocks (each halves H and W)
    max_features: int = 512  # channel cap of the 2-D blocks; also the 1×1 conv's output channels
    reshape_channel: int = 32  # C of the feature volume C×D×H×W
    reshape_depth: int = 16  # D of the feature volume
    num_resblocks: int = 6  # pre-activation 3-D residual blocks on the volume

    def __post_init__(self) -> None:
        _check_positive(
            "AppearanceFeatureExtractorConfig",
            image_channel=self.image_channel,
            block_expansion=self.block_expansion,
            num_down_blocks=self.num_down_blocks,
            max_features=self.max_features,
            reshape_channel=self.reshape_channel,
            reshape_depth=self.reshape_depth,
        )
        if self.max_features != self.reshape_channel * self.reshape_depth:
            raise ValueError(
                "AppearanceFeatureExtractorConfig: max_features must equal reshape_channel × reshape_depth "
                f"({self.max_features} ≠ {self.reshape_channel} × {self.reshape_depth})"
            )
        if self.num_resblocks < 0:
            raise ValueError(
                f"AppearanceFeatureExtractorConfig.num_resblocks must be ≥ 0, got {self.num_resblocks}"
            )


@dataclass(frozen=True)
class ConvNeXtV2Config:
    """The ConvNeXt V2 backbone of M (``convnextv2_tiny`` by default)."""

    in_chans: int = 3  # input image channels
    depths: tuple[int, int, int, int] = (3, 3, 9, 3)  # blocks per stage
    dims: tuple[int, int, int, int] = (96, 192, 384, 768)  # channels per stage

    def __post_init__(self) -> None:
        if len(self.depths) != 4 or len(self.dims) != 4:
            raise ValueError(f"ConvNeXtV2Config needs 4 depths and 4 dims, got {self.depths} and {self.dims}")
        _check_positive(
            "ConvNeXtV2Config", in_chans=self.in_chans, **{f"dims[{i}]": d for i, d in enumerate(self.dims)}
        )
        if min(self.depths) < 0:
            raise ValueError(f"ConvNeXtV2Config.depths must be ≥ 0, got {self.depths}")


@dataclass(frozen=True)
class MotionExtractorConfig:
    """M: image → canonical keypoints, pose bins, translation, expression, scale."""

    num_kp: int = 21  # implicit 3-D keypoints K
    num_bins: int = 66  # head-pose bins per angle (3° each, −97.5° … +97.5°)
    backbone: ConvNeXtV2Config = field(default_factory=ConvNeXtV2Config)  # feature extractor

    def __post_init__(self) -> None:
        _check_positive("MotionExtractorConfig", num_kp=self.num_kp, num_bins=self.num_bins)


@dataclass(frozen=True)
class DenseMotionConfig:
    """The dense motion network inside W (hourglass that predicts the motion masks and occlusion)."""

    block_expansion: int = 32  # hourglass channels at full resolution; doubled per level
    max_features: int = 1024  # hourglass channel cap
    num_blocks: int = 5  # hourglass levels (each halves H and W, not D)
    reshape_depth: int = 16  # D of the feature volume (the occlusion conv sees C·D channels)
    compress: int = 4  # channels the feature volume is compressed to before the sparse warps

    def __post_init__(self) -> None:
        _check_positive(
            "DenseMotionConfig",
            block_expansion=self.block_expansion,
            max_features=self.max_features,
            num_blocks=self.num_blocks,
            reshape_depth=self.reshape_depth,
            compress=self.compress,
        )


@dataclass(frozen=True)
class WarpingNetworkConfig:
    """W: warps F's feature volume from source to driving keypoints and flattens it to 2-D."""

    num_kp: int = 21  # implicit 3-D keypoints K
    block_expansion: int = 64  # output channels = block_expansion · 2**num_down_blocks
    max_features: int = 512  # channels of the flattened volume C·D
    num_down_blocks: int = 2  # only sets the output width (mirrors F)
    reshape_channel: int = 32  # C of the feature volume
    estimate_occlusion_map: bool = True  # predict the 2-D occlusion map and multiply the output by it
    dense_motion: DenseMotionConfig = field(default_factory=DenseMotionConfig)  # the motion estimator

    def __post_init__(self) -> None:
        _check_positive(
            "WarpingNetworkConfig",
            num_kp=self.num_kp,
            block_expansion=self.block_expansion,
            max_features=self.max_features,
            reshape_channel=self.reshape_channel,
        )
        if self.max_features != self.reshape_channel * self.dense_motion.reshape_depth:
            raise ValueError(
                "WarpingNetworkConfig: max_features must equal reshape_channel × dense_motion.reshape_depth "
                f"({self.max_features} ≠ {self.reshape_channel} × {self.dense_motion.reshape_depth})"
            )

    @property
    def out_channels(self) -> int:
        return self.block_expansion * 2**self.num_down_blocks


@dataclass(frozen=True)
class SpadeGeneratorConfig:
    """G: warped 2-D feature → RGB image (SPADE decoder)."""

    upscale: int = 2  # PixelShuffle factor of the last conv (1: plain 3×3 conv to RGB)
    max_features: int = 512  # channel cap for the input width
    block_expansion: int = 64  # input channels C = min(max_features, block_expansion · 2**num_down_blocks)
    out_channels: int = 64  # channels of the last SPADE block
    num_down_blocks: int = 2  # mirrors F; only sets C
    hidden: int = 128  # SPADE modulation width (hard-coded 128 in the checkpoints)

    def __post_init__(self) -> None:
        _check_positive(
            "SpadeGeneratorConfig",
            upscale=self.upscale,
            max_features=self.max_features,
            block_expansion=self.block_expansion,
            out_channels=self.out_channels,
            num_down_blocks=self.num_down_blocks,
            hidden=self.hidden,
        )

    @property
    def in_channels(self) -> int:
        return min(self.max_features, self.block_expansion * 2**self.num_down_blocks)


@dataclass(frozen=True)
class MLPConfig:
    """One stitching/retargeting MLP: Linear+ReLU per hidden size, then a Linear."""

    input_size: int  # input features
    hidden_sizes: tuple[int, ...]  # widths of the hidden layers
    output_size: int  # output features

    def __post_init__(self) -> None:
        if not self.hidden_sizes:
            raise ValueError("MLPConfig.hidden_sizes must list at least one hidden layer")
        _check_positive(
            "MLPConfig",
            input_size=self.input_size,
            output_size=self.output_size,
            **{f"hidden_sizes[{i}]": h for i, h in enumerate(self.hidden_sizes)},
        )


@dataclass(frozen=True)
class StitchingRetargetingConfig:
    """S: the three small MLPs that correct driving keypoints."""

    # [x_s, x_d] (2·3K) → 3K keypoint offsets + (Δx, Δy) shared shift
    stitching: MLPConfig = field(default_factory=lambda: MLPConfig(126, (128, 128, 64), 65))
    # [x_s, lip-close ratios (2)] → 3K keypoint offsets
    lip: MLPConfig = field(default_factory=lambda: MLPConfig(65, (128, 128, 64), 63))
    # [x_s, eye-close ratios (3)] → 3K keypoint offsets
    eye: MLPConfig = field(default_factory=lambda: MLPConfig(66, (256, 256, 128, 128, 64), 63))


@dataclass(frozen=True)
class LivePortraitConfig:
    """All five networks; the defaults are the public checkpoints' architecture."""

    appearance: AppearanceFeatureExtractorConfig = field(
        default_factory=AppearanceFeatureExtractorConfig
    )  # F
    motion: MotionExtractorConfig = field(default_factory=MotionExtractorConfig)  # M
    warping: WarpingNetworkConfig = field(default_factory=WarpingNetworkConfig)  # W
    generator: SpadeGeneratorConfig = field(default_factory=SpadeGeneratorConfig)  # G
    stitching: StitchingRetargetingConfig = field(default_factory=StitchingRetargetingConfig)  # S

    def __post_init__(self) -> None:
        a, w, g = self.appearance, self.warping, self.generator
        if (a.reshape_channel, a.reshape_depth) != (w.reshape_channel, w.dense_motion.reshape_depth):
            raise ValueError(
                "LivePortraitConfig: F's feature volume (C, D) must match W's reshape_channel/depth"
            )
        if self.motion.num_kp != w.num_kp:
            raise ValueError(
                f"LivePortraitConfig: M has {self.motion.num_kp} keypoints but W expects {w.num_kp}"
            )
        if w.out_channels != g.in_channels:
            raise ValueError(
                f"LivePortraitConfig: W outputs {w.out_channels} channels but G expects {g.in_channels}"
            )


FULL = LivePortraitConfig()

# The tiny configurations of the reference vectors (keypoint count and bins stay full size).
TINY_APPEARANCE = AppearanceFeatureExtractorConfig(
    block_expansion=8, num_down_blocks=2, max_features=32, reshape_channel=4, reshape_depth=8, num_resblocks=2
)
TINY_MOTION = MotionExtractorConfig(backbone=ConvNeXtV2Config(depths=(1, 1, 2, 1), dims=(8, 16, 24, 32)))
TINY_WARPING = WarpingNetworkConfig(
    block_expansion=4,
    max_features=16,
    num_down_blocks=2,
    reshape_channel=4,
    dense_motion=DenseMotionConfig(
        block_expansion=4, max_features=16, num_blocks=2, reshape_depth=4, compress=2
    ),
)
TINY_GENERATOR = SpadeGeneratorConfig(
    upscale=2, max_features=512, block_expansion=1, out_channels=2, num_down_blocks=2
)
