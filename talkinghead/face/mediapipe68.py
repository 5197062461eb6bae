"""MediaPipe Face Mesh (468 points) → iBUG-68 correspondence table.

MediaPipe's mesh has no 1:1 iBUG equivalent, so each of the 68 points is taken from the mesh
vertex that sits on the same anatomical feature. The table below follows the widely used
correspondence and was checked by drawing both point sets on real portraits and clip frames
(subject's right = image left, as in iBUG).
"""

from __future__ import annotations

import numpy as np

# fmt: off
JAW = (127, 234, 93, 132, 58, 136, 150, 176, 152, 400, 379, 365, 288, 361, 323, 454, 356)  # 0–16, ear to ear
RIGHT_BROW = (70, 63, 105, 66, 107)  # 17–21, outer → inner
LEFT_BROW = (336, 296, 334, 293, 300)  # 22–26, inner → outer
NOSE_BRIDGE = (168, 197, 5, 4)  # 27–30, top → tip
NOSE_BASE = (75, 97, 2, 326, 305)  # 31–35, right nostril wing → left
RIGHT_EYE = (33, 160, 158, 133, 153, 144)  # 36–41, outer corner, upper lid, inner corner, lower lid
LEFT_EYE = (362, 385, 387, 263, 373, 380)  # 42–47, inner corner, upper lid, outer corner, lower lid
OUTER_LIPS = (61, 39, 37, 0, 267, 269, 291, 405, 314, 17, 84, 181)  # 48–59, right corner, upper, left, lower
INNER_LIPS = (78, 82, 13, 312, 308, 317, 14, 87)  # 60–67, right corner, upper, left corner, lower
# fmt: on

MP_TO_68: tuple[int, ...] = (
    JAW + RIGHT_BROW + LEFT_BROW + NOSE_BRIDGE + NOSE_BASE + RIGHT_EYE + LEFT_EYE + OUTER_LIPS + INNER_LIPS
)
assert len(MP_TO_68) == 68

_INDEX = np.asarray(MP_TO_68, dtype=np.intp)


def mesh_to_68(mesh: np.ndarray) -> np.ndarray:
    """``(..., 468|478, 3)`` mesh points → ``(..., 68, 3)`` iBUG-68 points."""
    return np.asarray(mesh)[..., _INDEX, :]
