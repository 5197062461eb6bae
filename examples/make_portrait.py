"""Write examples/portrait_astronaut.png: a head-and-shoulders crop of scikit-image's astronaut photo.

The photo is NASA's public-domain portrait of astronaut Eileen Collins (``skimage.data.astronaut()``,
512×512). Rerun with ``python examples/make_portrait.py``; the output is deterministic.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

OUTPUT = Path(__file__).resolve().parent / "portrait_astronaut.png"

# Square crop in the 512×512 original: the face spans about x 175–275, y 60–185 and the hair
# starts at y ≈ 15, so a 400-pixel square from (25, 0) centres the face horizontally and keeps
# the shoulders and the collar ring of the suit.
CROP_X, CROP_Y, CROP_SIZE = 25, 0, 400


def make_portrait() -> np.ndarray:
    from skimage import data

    photo = data.astronaut()  # 512×512×3 uint8 RGB
    crop = photo[CROP_Y : CROP_Y + CROP_SIZE, CROP_X : CROP_X + CROP_SIZE]
    return np.ascontiguousarray(crop)


def main() -> None:
    portrait = make_portrait()
    Image.fromarray(portrait).save(OUTPUT, optimize=True)
    print(f"wrote {OUTPUT} ({portrait.shape[1]}×{portrait.shape[0]}, {OUTPUT.stat().st_size / 1024:.0f} KB)")


if __name__ == "__main__":
    main()
