"""Where a renderer may change pixels (the head's support mask), and pasting crops back into the portrait.

The support is fixed per portrait: 1 over the head (face, forehead, hair outline), fading to 0
over a margin around it. The `warp` renderer multiplies its displacement by it, so everything
outside is sampled exactly where it was: the background and shoulders stay still to the bit, and
paste-back only blends the support's bounding box (any renderer: :func:`paste_back`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from talkinghead import geometry
from talkinghead.render import flow
from talkinghead.render.base import SourceFace

PASTE_KEY = "paste"  # SourceFace.cache key of the portrait's PastePlan
SUPPORT_MARGIN = 0.45  # default fade of the head's support, inter-ocular units
JAW_ROOM = 0.45  # how far below the jaw line the head's support reaches, inter-ocular units
PASTE_FEATHER = 0.12  # default paste-back seam width outside the support, inter-ocular units
EDGE_FADE = 0.4  # the head's motion fades to 0 over this distance inside the picture's and crop's edges, i.o.
MARGIN_TOLERANCE = 8.0  # grey levels: a plain margin's lines hold one colour within this …
MARGIN_SHARE = 0.98  # … over this share of their pixels
MARGIN_MAX = 0.4  # a margin covers at most this share of the image's width or height


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


def head_support(source: SourceFace, margin: float = SUPPORT_MARGIN) -> np.ndarray:
    """The head's support in ``source``'s crop: the hull of its landmarks, its skull points
    (:func:`flow.skull_points`) and its jaw lowered by :data:`JAW_ROOM` (room for the chin of an
    open mouth), faded out over ``margin`` inter-ocular units. ``S×S`` float32."""
    pts = source.landmarks[:, :2]
    skull = source.pose.apply(flow.skull_points(source.identity))[:, :2]
    iod = float(np.linalg.norm(pts[45] - pts[36]))
    down = pts[8] - pts[27]
    jaw = pts[3:14] + JAW_ROOM * iod * down / max(float(np.linalg.norm(down)), 1e-9)
    support = support_mask(np.concatenate([pts, skull, jaw]), source.size, margin * iod)
    return support * edge_fade(source, EDGE_FADE * iod)


def picture_box(image: np.ndarray) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) of the picture inside a plain margin (a scan's white border, a letterbox's
    black bars): the lines at each edge of one colour (within :data:`MARGIN_TOLERANCE` over
    :data:`MARGIN_SHARE` of them, up to :data:`MARGIN_MAX` of the image) are left out when the
    next line differs from them over at least half its length (the picture's straight edge, not a
    plain backdrop meeting a head). The whole image when it has none."""
    grey = np.asarray(image, dtype=np.float32)
    grey = grey.mean(-1) if grey.ndim == 3 else grey
    h, w = grey.shape

    def plain_lines(lines: np.ndarray) -> int:  # how many of these lines, from the first, are margin
        colour = float(np.median(lines[0]))
        off = np.abs(lines[: max(1, int(MARGIN_MAX * len(lines)))] - colour) > MARGIN_TOLERANCE
        plain = off.mean(1) <= 1.0 - MARGIN_SHARE
        n = int(np.argmin(plain)) if not plain.all() else 0
        # the picture starts at a straight edge; a plain backdrop ends where a head or a shoulder
        # begins to cross it
        return n if off[n].mean() >= 0.5 else 0

    x0, x1 = plain_lines(grey.T), w - plain_lines(grey.T[::-1])
    y0, y1 = plain_lines(grey), h - plain_lines(grey[::-1])
    return x0, y0, x1, y1


def edge_fade(source: SourceFace, width: float) -> np.ndarray:
    """``S×S`` float32 in [0, 1]: 0 outside the portrait's picture (:func:`picture_box`) and on the
    edges of the picture and of the crop, rising smoothly to 1 over ``width`` crop pixels inside
    them. What lies at an edge stays where it is: a head near the picture's edge squeezes or
    stretches there instead of pulling in what lies outside it (or a margin around it), and a
    head that reaches past the crop joins the still portrait around the pasted crop without a
    seam."""
    import cv2

    h, w = source.image.shape[:2]
    x0, y0, x1, y1 = picture_box(source.image)
    picture = np.zeros((h, w), np.uint8)
    picture[y0:y1, x0:x1] = 1
    size = (source.size, source.size)
    inside = cv2.warpAffine(picture, source.transform, size, flags=cv2.INTER_NEAREST, borderValue=0)
    framed = cv2.copyMakeBorder(inside, 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=0)  # the crop's edge counts too
    dist = cv2.distanceTransform(framed, cv2.DIST_L2, 5)[1:-1, 1:-1]
    x = np.clip(dist / max(width, 1e-6), 0.0, 1.0)
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
    ix1 = int(np.clip(np.ceil(corners[:, 0].max()) + 1, 0, w))
    iy1 = int(np.clip(np.ceil(corners[:, 1].max()) + 1, 0, h))
    ix1, iy1 = max(ix1, ix0 + 1), max(iy1, iy0 + 1)
    m = geometry.compose_affine(transform, [[1.0, 0.0, ix0], [0.0, 1.0, iy0]])  # box pixel → crop pixel
    box_mask = cv2.warpAffine(
        soft, m, (ix1 - ix0, iy1 - iy0), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderValue=0.0
    )
    background = np.ascontiguousarray(image[iy0:iy1, ix0:ix1])
    box_mask = np.ascontiguousarray(box_mask, dtype=np.float32)
    return PastePlan((ix0, iy0, ix1, iy1), m, box_mask, 1.0 - box_mask, background)


def _blend(frame: np.ndarray, plan: PastePlan) -> np.ndarray:
    """The box of ``plan``: ``frame`` (an S×S×3 crop) resampled into it and blended over the
    portrait. A crop shown smaller than it was rendered is first reduced by area to the box's
    resolution, so fine detail does not alias."""
    import cv2

    x0, y0, x1, y1 = plan.box
    matrix = plan.matrix
    zoom = float(np.sqrt(abs(np.linalg.det(matrix[:, :2]))))  # crop pixels per box pixel
    if zoom > 1.0:
        size = frame.shape[0]
        n = max(2, int(round(size / zoom)))
        frame = cv2.resize(frame, (n, n), interpolation=cv2.INTER_AREA)
        k = n / size  # crop pixel → reduced pixel: x' = (x + 0.5) k − 0.5
        matrix = geometry.compose_affine([[k, 0.0, 0.5 * k - 0.5], [0.0, k, 0.5 * k - 0.5]], matrix)
    warped = cv2.warpAffine(
        frame, matrix, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_REPLICATE,
    )
    return cv2.blendLinear(warped, plan.background, plan.mask, plan.inverse_mask)


def paste(image: np.ndarray, frames: np.ndarray, plan: PastePlan) -> np.ndarray:
    """``frames`` (S×S×3 or B×S×S×3 uint8) pasted into copies of ``image`` → H×W×3 or B×H×W×3 uint8."""
    batch = np.asarray(frames)
    single = batch.ndim == 3
    if single:
        batch = batch[None]
    x0, y0, x1, y1 = plan.box
    out = np.repeat(image[None], len(batch), 0)
    for i, frame in enumerate(batch):
        out[i, y0:y1, x0:x1] = _blend(frame, plan)
    return out[0] if single else out


def portrait_plan(source: SourceFace) -> PastePlan:
    """The paste plan of ``source``'s portrait, made once and kept in ``source.cache`` (a renderer
    may put its own there first, as the `warp` renderer does)."""
    plan = source.cache.get(PASTE_KEY)
    if not isinstance(plan, PastePlan):
        iod = float(np.linalg.norm(source.landmarks[45, :2] - source.landmarks[36, :2]))
        plan = paste_plan(source.image, source.transform, head_support(source), reach=8, feather=PASTE_FEATHER * iod)
        source.cache[PASTE_KEY] = plan
    return plan


def paste_back(frame: np.ndarray, source: SourceFace) -> np.ndarray:
    """A rendered crop (S×S×3, or B×S×S×3 uint8) of ``source`` blended into its full portrait
    (H×W×3 / B×H×W×3 uint8); pixels away from the head are the portrait's own.

    Works for any renderer's crops (plan: :func:`portrait_plan`).
    """
    frame = np.asarray(frame)
    if frame.dtype != np.uint8 or frame.shape[-3:] != (source.size, source.size, 3):
        raise ValueError(
            f"paste_back needs {source.size}×{source.size}×3 uint8 frames, got {frame.shape} {frame.dtype}"
        )
    return paste(source.image, frame, portrait_plan(source))


def _scaled_plan(plan: PastePlan, image: np.ndarray, kx: float, ky: float) -> PastePlan:
    """``plan`` for the portrait scaled by (``kx``, ``ky``): ``image`` is the scaled portrait."""
    import cv2

    x0, y0, x1, y1 = plan.box
    h, w = image.shape[:2]
    sx0, sy0 = int(np.floor(x0 * kx)), int(np.floor(y0 * ky))
    sx1, sy1 = min(w, int(np.ceil(x1 * kx)) + 1), min(h, int(np.ceil(y1 * ky)) + 1)
    # scaled box pixel → full box pixel (pixel centres: x = (x' + 0.5) / k − 0.5)
    to_full = np.array([[1 / kx, 0.0, (sx0 + 0.5) / kx - 0.5 - x0],
                        [0.0, 1 / ky, (sy0 + 0.5) / ky - 0.5 - y0]])
    matrix = geometry.compose_affine(plan.matrix, to_full)
    mask = cv2.warpAffine(plan.mask, to_full, (sx1 - sx0, sy1 - sy0),
                          flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderValue=0.0)
    mask = np.ascontiguousarray(mask, dtype=np.float32)
    background = np.ascontiguousarray(image[sy0:sy1, sx0:sx1])
    return PastePlan((sx0, sy0, sx1, sy1), matrix, mask, 1.0 - mask, background)


class FrameView:
    """What a video shows of each rendered crop, at ``size`` (width, height): the crop itself
    (``full=False``) or the crop pasted into the portrait (``full=True``).

    The full view keeps one frame of the scaled portrait and re-blends only the head's box into
    it per call, so a 1920² frame costs what its head costs. The returned frame is that buffer:
    it is valid until the next call (encode or copy it first).
    """

    def __init__(self, source: SourceFace, *, full: bool, size: tuple[int, int]) -> None:
        import cv2

        self.full, self.size = full, (int(size[0]), int(size[1]))
        if not full:
            return
        h, w = source.image.shape[:2]
        plan = portrait_plan(source)
        if self.size == (w, h):
            image = source.image
        else:
            kx, ky = self.size[0] / w, self.size[1] / h
            inter = cv2.INTER_AREA if max(kx, ky) < 1 else cv2.INTER_LINEAR
            image = cv2.resize(source.image, self.size, interpolation=inter)
            plan = _scaled_plan(plan, image, kx, ky)
        self.plan = plan
        self.frame = image.copy()

    def __call__(self, crop: np.ndarray) -> np.ndarray:
        import cv2

        if not self.full:
            if crop.shape[1::-1] == self.size:
                return crop
            inter = cv2.INTER_AREA if self.size[0] < crop.shape[1] else cv2.INTER_LINEAR
            return cv2.resize(crop, self.size, interpolation=inter)
        x0, y0, x1, y1 = self.plan.box
        self.frame[y0:y1, x0:x1] = _blend(crop, self.plan)
        return self.frame
