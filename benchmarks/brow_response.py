"""How much of a brow raise shows: what the warp renderer draws, and what the landmarker reads back.

For each portrait, the ``warp`` renderer draws the portrait with its brows (points 17–26) raised
and lowered by up to 0.04 inter-ocular units; then

* **drawn**: the brows' vertical displacement measured by optical flow (OpenCV's Farnebäck) between
  the still and the raised frame, at the brow points, over the asked displacement;
* **read**: the slope of the brow height (:func:`talkinghead.metrics.statistics.brow_height`) that
  the MediaPipe landmarker reads from the rendered frames on the asked brow height.

Benchmarks that track landmarks back from rendered videos (``eval_style --parts cross``) see a
brow's motion through the second factor.

    python benchmarks/brow_response.py [--portraits a.png,b.jpg]
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "media" / "portraits"
BROWS = slice(17, 27)
LIFTS = np.array([-0.04, -0.02, 0.0, 0.02, 0.04])  # inter-ocular units, positive = raised


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--portraits", help="comma-separated portrait files (default: the example and two photos)")
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    import cv2

    from talkinghead import media
    from talkinghead.face import get_landmarker
    from talkinghead.metrics.statistics import brow_height
    from talkinghead.render.base import FrameTargets
    from talkinghead.render.warp import WarpRenderer

    if args.portraits:
        portraits = [Path(p) for p in args.portraits.split(",")]
    else:
        portraits = [REPO / "examples" / "portrait_astronaut.png", SHARED / "lp_s2.jpg", SHARED / "hallo_ref1.jpg"]
    landmarker = get_landmarker("mediapipe")
    renderer = WarpRenderer(device="cpu")
    for path in portraits:
        image = media.load_image(path)
        source = renderer.prepare(image, landmarker.detect(image).points)
        still = FrameTargets.sweep(source, openings=np.zeros(len(LIFTS)))
        canonical = still.canonical.copy()
        canonical[:, BROWS, 1] -= LIFTS[:, None]  # canonical y points down
        targets = replace(still, canonical=canonical)
        frames = renderer.render(source, targets)
        asked = brow_height(targets.landmarks)
        read = np.array([brow_height(landmarker.detect(np.ascontiguousarray(f)).points[None])[0] for f in frames])
        slope = np.polyfit(asked - asked[2], read - read[2], 1)[0]

        grey = [cv2.cvtColor(np.ascontiguousarray(frames[i]), cv2.COLOR_RGB2GRAY) for i in (2, 4)]
        flow = cv2.calcOpticalFlowFarneback(grey[0], grey[1], None, 0.5, 3, 15, 5, 5, 1.2, 0)
        at = targets.landmarks[2, BROWS, :2].round().astype(int)
        moved = targets.landmarks[4, BROWS, 1] - targets.landmarks[2, BROWS, 1]
        drawn = flow[at[:, 1], at[:, 0], 1].mean() / moved.mean()
        print(f"{path.stem:<20} drawn {drawn:.2f} of the asked brow displacement (optical flow, "
              f"{-moved.mean():.1f} px up asked); read back by the landmarker: {slope:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
