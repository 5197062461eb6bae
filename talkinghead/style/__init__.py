"""Style references: everything the pipeline needs to know about a style clip.

``analyse_style(clip_or_path)`` → :class:`StyleAnalysis` with the per-frame track, the clip
person's neutral face, the four style reference frames None / M / R / O (paper §3.2, §5.4.3,
Fig. 6), the style motion φ_s (paper §4), the head-pose track and the blink schedule.
"""

from talkinghead.style.analysis import StyleAnalysis, StyleReference, analyse_style, analyse_track
from talkinghead.style.blinks import BlinkStats
from talkinghead.style.config import StyleConfig
from talkinghead.style.pose import PoseTrack
from talkinghead.style.templates import LABELS, TEMPLATES, MotionTemplate
from talkinghead.style.track import StyleTrack

__all__ = [
    "LABELS",
    "TEMPLATES",
    "BlinkStats",
    "MotionTemplate",
    "PoseTrack",
    "StyleAnalysis",
    "StyleConfig",
    "StyleReference",
    "StyleTrack",
    "analyse_style",
    "analyse_track",
]
