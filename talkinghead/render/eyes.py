"""Blinks: the upper eyelid slides down over the eye, the skin above it stretching to follow.

Done on the backward sampling map, not on pixels: a target pixel between the lowered lid line
and a band below the brow samples the (open-eye) map higher up, so the lid skin and the lashes
are stretched down over the eye; below the lid line the eye is unchanged (the gaze stays) and
simply shows less of itself. The lid edge is a step in the map evaluated at full resolution, so
nothing smears. A real lid unfolds out of its crease as it closes, so the part that now covers
the eye is lighter than the crease it was stretched from: it is blended toward the portrait's
own lid-skin colour (:func:`lid_colour`), fading to nothing at the lashes.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from talkinghead import geometry
from talkinghead.render.contour import interp, opening_frame, pixel_grid, smoothstep

# iBUG-68 contours, corner to corner: (upper lid, lower lid, brow above) per eye.
EYES = (
    ((36, 37, 38, 39), (36, 41, 40, 39), geometry.RIGHT_BROW),
    ((42, 43, 44, 45), (42, 47, 46, 45), geometry.LEFT_BROW),
)

LID_SHARE = 0.5  # share of the lid-to-brow skin that stretches over a closing eye
LID_TINT = 0.7  # how far the covering lid is pulled toward the lid-skin colour (0 = pure stretch)


def lid_colour(crop: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """RGB (0–255) of the upper-lid skin: the lightest quarter of the pixels between lids and
    brows (the rest is lashes, crease shadow and brow hair)."""
    import cv2

    p = np.round(np.asarray(landmarks)[:, :2]).astype(np.int32)
    mask = np.zeros(crop.shape[:2], np.uint8)
    for upper, _, brow in EYES:
        cv2.fillPoly(mask, [np.concatenate([p[list(brow)], p[list(upper[::-1])]])], 1)
    pixels = crop[mask.astype(bool)].astype(np.float64)
    if len(pixels) < 8:
        return np.median(crop.reshape(-1, 3), 0).astype(np.float64)
    luma = pixels @ np.array([0.299, 0.587, 0.114])
    return np.median(pixels[luma >= np.quantile(luma, 0.75)], 0)


def eye_box(landmarks: torch.Tensor, eye: int) -> tuple[int, int, int, int]:
    """Pixel box (x0, y0, x1, y1) around one eye and its brow, over the batch."""
    upper, lower, brow = EYES[eye]
    pts = landmarks[:, list(upper + lower + brow)].reshape(-1, 2)
    lo, hi = pts.min(0).values, pts.max(0).values
    return int(lo[0].item()) - 2, int(lo[1].item()) - 2, int(hi[0].item()) + 3, int(hi[1].item()) + 3


def close_eyelids(
    sample_map: torch.Tensor, origin: tuple[int, int], landmarks: torch.Tensor, eye_open: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Lower the upper lids of ``sample_map`` (B×h×w×2 source pixels for the target pixels whose
    top-left is ``origin`` = (x0, y0)) to ``eye_open`` (B; 1 = as the target landmarks, 0 = shut).

    Returns the new map and a B×h×w weight of the lid-skin tint to blend in after sampling.
    """
    b, h, w, _ = sample_map.shape
    cover = torch.zeros(b, h, w, dtype=sample_map.dtype, device=sample_map.device)
    shut = torch.nonzero(eye_open < 1.0).flatten()
    if len(shut) == 0:
        return sample_map, cover
    if len(shut) < b:  # only the blinking frames
        part, part_cover = close_eyelids(sample_map[shut], origin, landmarks[shut], eye_open[shut])
        out = sample_map.clone()
        out[shut], cover[shut] = part, part_cover
        return out, cover
    x0, y0 = origin
    out = sample_map.clone()
    chan_map = sample_map.permute(0, 3, 1, 2)  # B×2×h×w, sampled like an image
    closing = (1.0 - eye_open.clamp(0.0, 1.0)).view(b, 1, 1)
    for eye, (upper, lower, brow) in enumerate(EYES):
        bx0, by0, bx1, by1 = eye_box(landmarks, eye)
        bx0, by0, bx1, by1 = max(bx0, x0), max(by0, y0), min(bx1, x0 + w), min(by1, y0 + h)
        if bx1 <= bx0 or by1 <= by0:
            continue
        grid = pixel_grid((bx0, by0), (by1 - by0, bx1 - bx0), b, dtype=sample_map.dtype, device=sample_map.device)
        fr = opening_frame(landmarks[:, list(upper)], landmarks[:, list(lower)], grid)
        brow_v = interp(fr.a, *fr.project(landmarks[:, list(brow)]))
        band = (LID_SHARE * (fr.up - brow_v)).clamp_min(1.0)
        top = fr.up - band
        lid = fr.up + closing * (fr.lo - fr.up)  # the lowered lid line
        across = (fr.a > 0.0) & (fr.a < 1.0)
        inside = (fr.v > top) & (fr.v < lid) & across & (closing > 0)  # open eyes stay bit-exact
        # v in [top, lid] samples v' in [top, up]: the skin band stretched down to the lid line
        v_src = top + (fr.v - top) * band / (lid - top).clamp_min(1e-3)
        shift = torch.where(inside, v_src - fr.v, (fr.up - fr.v).clamp(max=0.0) * (fr.v < lid + 1.0))
        query = grid + shift.unsqueeze(-1) * fr.normal.view(b, 1, 1, 2)  # pixels of the open-eye frame
        norm = torch.stack([(query[..., 0] - x0 + 0.5) / w * 2 - 1, (query[..., 1] - y0 + 0.5) / h * 2 - 1], -1)
        resampled = F.grid_sample(chan_map, norm, mode="bilinear", padding_mode="border", align_corners=False)
        region = out[:, by0 - y0 : by1 - y0, bx0 - x0 : bx1 - x0]
        # the lid edge blends over one pixel (anti-aliased lashes, no staircase)
        edge = ((lid - fr.v) + 0.5).clamp(0.0, 1.0) * ((fr.v > top) & across & (closing > 0))
        region.copy_(region + edge.unsqueeze(-1) * (resampled.permute(0, 2, 3, 1) - region))
        # the unfolded lid: tinted from mid-band down, fading out toward the lashes at the lid line
        # and toward the eye corners
        rise = smoothstep((fr.v - (fr.up - 0.5 * band)) / (0.5 * band))
        fall = smoothstep((lid - fr.v) / (0.5 * (lid - fr.up) + 1.0))
        ends = smoothstep(torch.minimum(fr.a, 1.0 - fr.a) / 0.2)
        weight = LID_TINT * rise * fall * ends * closing
        cover[:, by0 - y0 : by1 - y0, bx0 - x0 : bx1 - x0] = torch.where(inside, weight, 0.0)
    return out, cover
