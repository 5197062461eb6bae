"""Face landmarks: 68 points × 3 per face, from MediaPipe Face Mesh or face-alignment (3D FAN).

    from talkinghead.face import get_landmarker
    lm = get_landmarker()           # "auto" | "mediapipe" | "fan"; see talkinghead.face.select
    det = lm.detect(image)          # largest face of an H×W×3 uint8 RGB image → Detection
    vl = lm.track(frames, fps)      # one face through a clip → VideoLandmarks (smoothed)
"""

from talkinghead.face.select import BACKENDS, get_landmarker, resolve_backend
from talkinghead.face.types import Detection, Landmarker, VideoLandmarks

__all__ = ["BACKENDS", "Detection", "Landmarker", "VideoLandmarks", "get_landmarker", "resolve_backend"]
