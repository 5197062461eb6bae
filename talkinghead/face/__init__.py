"""Face landmarks: 68 points × 3 per face, from MediaPipe Face Mesh or face-alignment (3D FAN).

    from talkinghead.face import get_landmarker
    lm = get_landmarker()           # "auto" | "mediapipe" | "fan"; see talkinghead.face.backend_choice
    det = lm.detect(image)          # largest face of an H×W×3 uint8 RGB image → Detection
    vl = lm.track(frames, fps)      # one face through a clip → VideoLandmarks (smoothed)
"""

from talkinghead.face.backend_choice import BACKENDS, get_landmarker, resolve_backend
from talkinghead.face.landmarker import Landmarker
from talkinghead.face.types import Detection, VideoLandmarks

__all__ = ["BACKENDS", "Detection", "Landmarker", "VideoLandmarks", "get_landmarker", "resolve_backend"]
