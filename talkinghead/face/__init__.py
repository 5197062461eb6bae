"""Face landmarks: 68 points × 3 per face, from MediaPipe Face Mesh or face-alignment (3D FAN)."""

from talkinghead.face.types import Detection, Landmarker, VideoLandmarks

__all__ = ["Detection", "Landmarker", "VideoLandmarks"]
