"""Blinks: the upper eyelid slides down over the eye, the skin above it stretching to follow.

Done on the backward sampling map, not on pixels: a target pixel between the lowered lid and a
band above the eye samples the (open-eye) map higher up, so the lid skin and lashes are
stretched down over the eye; below the lid line the eye is unchanged (the gaze stays) and simply
shows less of itself. The lid edge is a sharp step in the map, evaluated at full resolution, so
nothing smears.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from talkinghead.render.contour import opening_frame

# iBUG-68 contours, corner to corner: (upper lid, lower lid) per eye.
EYE_CONTOURS = (((36, 37, 38, 39), (36, 41, 40, 39)), ((42, 43, 44, 45), (42, 47, 46, 45)))

LID_BAND = 0.2  # height of the skin band above the eye that stretches, inter-ocular units


def eye_boxes(landmarks: torch.Tensor, iod: torch.Tensor, size: int) -> list[tuple[int, int, int, int]]:
    """Pixel boxes (x0, y0, x1, y1) around each eye and the lid band above it, over the batch."""
    boxes = []
    pad = (LID_BAND * iod.max() + 3.0).item()
    for upper, lower in EYE_CONTOURS:
        pts = landmarks[:, list(upper + lower)].reshape(-1, 2)
        lo, hi = pts.min(0).values, pts.max(0).values
        x0, y0 = int(max(0, lo[0].item() - 3)), int(max(0, lo[1].item() - pad))
        x1, y1 = int(min(size, hi[0].item() + 4)), int(min(size, hi[1].item() + 4))
        boxes.append((x0, y0, max(x1, x0 + 1), max(y1, y0 + 1)))
    return boxes


def close_eyelids(
    sample_map: torch.Tensor,
    origin: tuple[int, int],
    landmarks: torch.Tensor,
    eye_open: torch.Tensor,
    iod: torch.Tensor,
) -> torch.Tensor:
    """Lower the upper lids of ``sample_map`` (B×h×w×2 source pixels for target pixels starting at
    ``origin`` = (x0, y0)) to ``eye_open`` (B, 1 open as the target landmarks, 0 closed)."""
    b, h, w, _ = sample_map.shape
    x0, y0 = origin
    out = sample_map.clone()
    chan_map = sample_map.permute(0, 3, 1, 2)  # B×2×h×w, sampled as an image
    closing = (1.0 - eye_open.clamp(0.0, 1.0)).view(b, 1, 1)
    for (upper, lower), (bx0, by0, bx1, by1) in zip(
        EYE_CONTOURS, eye_boxes(landmarks, iod, size=10**9), strict=True
    ):
        bx0, by0 = max(bx0, x0), max(by0, y0)
        bx1, by1 = min(bx1, x0 + w), min(by1, y0 + h)
        if bx1 <= bx0 or by1 <= by0:
            continue
        ys = torch.arange(by0, by1, dtype=sample_map.dtype, device=sample_map.device)
        xs = torch.arange(bx0, bx1, dtype=sample_map.dtype, device=sample_map.device)
        grid = torch.stack(torch.meshgrid(xs, ys, indexing="xy"), -1).unsqueeze(0).expand(b, -1, -1, -1)
        fr = opening_frame(landmarks[:, list(upper)], landmarks[:, list(lower)], grid)
        lid = fr.up + closing * (fr.lo - fr.up)  # the lowered lid line
        band = (LID_BAND * iod).view(b, 1, 1)
        top = fr.up - band
        inside = (fr.v > top) & (fr.v < lid) & (fr.a > 0.0) & (fr.a < 1.0)
        # v in [top, lid] samples v' in [top, up]: the band above the eye stretched down to the lid
        v_src = top + (fr.v - top) * band / (lid - top).clamp_min(1e-3)
        shift = torch.where(inside, v_src - fr.v, torch.zeros_like(fr.v))  # B×hh×ww, ≤ 0
        axis = landmarks[:, upper[-1]] - landmarks[:, upper[0]]
        axis = axis / axis.norm(dim=-1, keepdim=True).clamp_min(1e-6)
        normal = torch.stack([-axis[:, 1], axis[:, 0]], -1).view(b, 1, 1, 2)
        query = grid + shift.unsqueeze(-1) * normal  # pixels of the open-eye target frame
        norm = torch.stack([(query[..., 0] - x0 + 0.5) / w * 2 - 1, (query[..., 1] - y0 + 0.5) / h * 2 - 1], -1)
        resampled = F.grid_sample(chan_map, norm, mode="bilinear", padding_mode="border", align_corners=False)
        region = out[:, by0 - y0 : by1 - y0, bx0 - x0 : bx1 - x0]
        region.copy_(torch.where(inside.unsqueeze(-1), resampled.permute(0, 2, 3, 1), region))
    return out
