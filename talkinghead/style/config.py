"""Style clip analysis settings: one frozen dataclass, one source of defaults."""

from __future__ import annotations

from dataclasses import dataclass, field

from talkinghead.geometry import CropSpec


@dataclass(frozen=True, kw_only=True)
class StyleConfig:
    """How a style clip is analysed (track, references, pose track, blinks)."""

    # --- what is analysed
    max_seconds: float = 30.0  # longer clips are analysed up to this many seconds (with a notice)
    min_valid_frames: int = 8  # fewer usable frames than this → InputError
    backend: str = "auto"  # landmark backend for face.get_landmarker when none is given
    # --- frame validity
    max_abs_yaw: float = 35.0  # degrees; beyond this the face is too close to profile
    max_abs_pitch: float = 30.0  # degrees; beyond this the face looks too far up/down
    min_relative_sharpness: float = 0.4  # a frame sharper than this × the clip's median is not "blurred"
    sharpness_crop: int = 128  # side of the aligned grey crop the Laplacian is measured on
    # --- neutral face (the clip person's own relaxed, closed-mouth, open-eyed face)
    neutral_quantile: float = 0.08  # share of valid frames, the most closed, the neutral is taken from
    # --- mouth-feature normalisation (see talkinghead.style.templates)
    opening_range_quantile: float = 0.95  # the clip's "wide open" = this quantile of inner-lip opening
    min_opening_range: float = 0.12  # inter-ocular units; floor of the opening range (a mouth that never
    # opens wider than this does not get its small openings blown up to "wide open")
    min_jaw_range: float = 0.06  # floor of the jaw-drop range (fraction of the neutral nose–chin distance)
    # --- retrieval (paper §3.2 similarity search)
    frontal_penalty: float = 0.5  # cost added for a frame at the yaw/pitch limit (quadratic below it)
    blur_penalty: float = 0.5  # cost added for a frame at the blur limit (linear from median sharpness)
    motion_penalty: float = 0.3  # cost per unit of mouth speed (opening range per 1/25 s)
    low_confidence: float = 0.35  # a reference whose template confidence is under this is flagged
    crop: CropSpec = field(default_factory=CropSpec)  # aligned reference crops (512² by default)
    # --- head pose track
    pose_smoothing_s: float = 0.12  # Gaussian σ (seconds) smoothing the clip's pose trajectory
    crossfade_s: float = 0.6  # cross-fade length (seconds) where a looped pose track restarts
    # --- blinks (eye-openness dips with hysteresis)
    blink_close: float = 0.5  # a blink's eye openness falls under this × the open-eye baseline ...
    blink_prominence: float = 0.3  # ... and rises back by at least this much on both sides
    blink_max_s: float = 0.5  # wider dips (at half depth) are not blinks (eyes shut on purpose)
    default_blink_rate: float = 17.0  # blinks per minute when the clip shows none (adult resting rate)
    default_blink_s: float = 0.12  # how long a blink is past half closed (s) when the clip shows none

    def __post_init__(self) -> None:
        if not self.max_seconds > 0:
            raise ValueError(f"StyleConfig.max_seconds must be > 0, got {self.max_seconds}")
        if self.min_valid_frames < 2:
            raise ValueError(f"StyleConfig.min_valid_frames must be ≥ 2, got {self.min_valid_frames}")
        if not 0.0 < self.blink_close < 1.0 or not 0.0 < self.blink_prominence < 1.0:
            raise ValueError("StyleConfig needs 0 < blink_close < 1 and 0 < blink_prominence < 1")
        if not 0.0 < self.neutral_quantile < 1.0 or not 0.5 < self.opening_range_quantile <= 1.0:
            raise ValueError("StyleConfig quantiles out of range")
