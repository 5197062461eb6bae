"""Where the warp may move pixels (the head's support mask), and pasting crops back into the portrait.

The support is fixed per portrait: 1 over the head (face, forehead, hair outline), fading to 0
over a margin around it. The warp's displacement is multiplied by it, so everything outside is
sampled exactly where it was: the background and shoulders stay still to the bit, and paste-back
only needs to blend the support's bounding box.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from talkinghead import geometry


def support_mask(outline: np.ndarray, size: int, margin: float) -> np.ndarray:
    """``S×S`` float32 in [0, 1]: 1 inside the convex hull of ``outline`` (N×2 crop pixels),
    falling smoothly to 0 at ``margin`` pixels outside it."""
    import cv2

    hull = cv2.convexHull(np.round(outline).astype(np.int32))
    inside = np.zeros((size, size), np.uint8)
    cv2.fillConvexPoly(inside, hull, 1)
    dist = cv2.distanceTransform(1 - inside, cv2.DIST_L2, 5)  # 0 inside, pixels outside
    x = np.clip(1.0 - dist / max(margin, 1e-6), 0.0, 1.0)
    return (x * x * (3.0 - 2.0 * x)).astype(np.float32)


def mask_box(mask: np.ndarray, pad: int = 0) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) of the non-zero part of a mask, padded and clipped to the mask."""
    ys, xs = np.nonzero(mask > 0)
    h, w = mask.shape
    if len(xs) == 0:
        return 0, 0, 1, 1
    return (
        max(0, int(xs.min()) - pad),
        max(0, int(ys.min()) - pad),
        min(w, int(xs.max()) + 1 + pad),
        min(h, int(ys.max()) + 1 + pad),
    )


@dataclass(frozen=True)
class PastePlan:
    """Precomputed paste-back of S×S crops into one portrait."""

    box: tuple[int, int, int, int]  # (x0, y0, x1, y1) image pixels that can change
    matrix: np.ndarray  # 2×3: box pixel → crop pixel
    mask: np.ndarray  # h×w float32 blend weight of the crop in the box
    inverse_mask: np.ndarray  # h×w float32, 1 − mask
    background: np.ndarray  # h×w×3 uint8, the portrait's pixels in the box


def paste_plan(
    image: np.ndarray, transform: np.ndarray, crop_mask: np.ndarray, *, reach: int, feather: float
) -> PastePlan:
    """Plan pasting crops into ``image`` (H×W×3) through the image→crop ``transform`` (2×3).

    ``crop_mask`` (S×S, > 0 where the warp moves pixels) is grown by ``reach`` pixels (how far
    the coarse, upsampled field can spill past it) and then feathered over ``feather`` pixels, so
    the seam falls where the rendered crop equals the plain crop.
    """
    import cv2

    grown = cv2.dilate((crop_mask > 0).astype(np.uint8), np.ones((2 * reach + 3, 2 * reach + 3), np.uint8))
    dist = cv2.distanceTransform(1 - grown, cv2.DIST_L2, 5)
    x = np.clip(1.0 - dist / max(feather, 1e-6), 0.0, 1.0)
    soft = (x * x * (3.0 - 2.0 * x)).astype(np.float32)
    inv = geometry.invert_affine(transform)  # crop → image
    x0, y0, x1, y1 = mask_box(soft)
    corners = geometry.transform_points(
        np.array([[x0, y0], [x1, y0], [x0, y1], [x1, y1]], dtype=np.float64) - 0.5, inv
    )
    h, w = image.shape[:2]
    ix0, iy0 = int(np.clip(np.floor(corners[:, 0].min()), 0, w)), int(np.clip(np.floor(corners[:, 1].min()), 0, h))
    ix1, iy1 = int(np.clip(np.ceil(corners[:, 0].max()) + 1, 0, w)), int(np.clip(np.ceil(corners[:, 1].max()) + 1, 0, h))
    ix1, iy1 = max(ix1, ix0 + 1), max(iy1, iy0 + 1)
    m = np.asarray(transform, dtype=np.float64).copy()
    m[:, 2] += m[:, :2] @ np.array([ix0, iy0], dtype=np.float64)  # box pixel → crop pixel
    box_mask = cv2.warpAffine(
        soft, m, (ix1 - ix0, iy1 - iy0), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderValue=0.0
    )
    background = np.ascontiguousarray(image[iy0:iy1, ix0:ix1])
    box_mask = np.ascontiguousarray(box_mask, dtype=np.float32)
    return PastePlan((ix0, iy0, ix1, iy1), m, box_mask, 1.0 - box_mask, background)


def paste(image: np.ndarray, frames: np.ndarray, plan: PastePlan) -> np.ndarray:
    """``frames`` (S×S×3 or B×S×S×3 uint8) pasted into copies of ``image`` → H×W×3 or B×H×W×3 uint8."""
    import cv2

    batch = np.asarray(frames)
    single = batch.ndim == 3
    if single:
        batch = batch[None]
    x0, y0, x1, y1 = plan.box
    out = np.repeat(image[None], len(batch), 0)
    for i, frame in enumerate(batch):
        warped = cv2.warpAffine(
            frame, plan.matrix, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
            borderMode=cv2.BORDER_REPLICATE,
        )
        out[i, y0:y1, x0:x1] = cv2.blendLinear(warped, plan.background, plan.mask, plan.inverse_mask)
    return out[0] if single else out
