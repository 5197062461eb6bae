"""The `warp` renderer's mouth: what fills the target's lip gap, composited into the warped frames.

A warp can only stretch the portrait's lips into a wider gap. Per portrait, :func:`mouth_plan`
decides what fills it instead (:class:`MouthPlan`); per chunk of frames, :func:`composite_mouth`
paints it into the warped pixels, in the target mouths' box only:

* a closed portrait mouth, or parted lips that show no teeth when a reference lends its mouth
  (:func:`cached_donor`): the donor's real interior, else a synthesised one with teeth
  (:func:`mouth.paint_mouth`), faded in as the target's lip gap exceeds the portrait's, on lips
  resampled from the sealed crop (:func:`mouth.seal_lips`);
* an open portrait mouth: its own teeth move with the lips (:func:`mouth.reuse_interior`) and
  only the new gap between them is painted, without teeth.
"""

from __future__ import annotations

import logging
import zlib
from dataclasses import dataclass, replace

import numpy as np
import torch
import torch.nn.functional as F

from talkinghead import geometry
from talkinghead.render import mouth
from talkinghead.render.base import FrameTargets, ReferenceFrame, SourceFace

log = logging.getLogger(__name__)

DONOR_KEY = "warp_mouth_donor"  # SourceFace.cache: (references key, device, MouthDonor | None)


@dataclass(frozen=True)
class MouthPlan:
    """Per-portrait mouth data of the `warp` renderer (part of its cached preparation)."""

    teeth: np.ndarray  # T×3 canonical upper incisal edge (mouth.teeth_line)
    palette: torch.Tensor  # 5×3 mouth palette
    paint: bool  # the portrait's mouth is closed: paint an interior when the target opens
    toothless: bool  # its lips are parted but show no teeth: a donor's interior replaces its own
    sealed: torch.Tensor  # 1×3×S×S crop with the lip gap filled in with lip (mouth.seal_lips)
    split: float  # where the portrait's upper teeth end in its lip gap (when reusing its interior)
    opening: float  # the portrait's own lip gap, inter-ocular units
    resampling: str  # grid_sample mode of every resampling of this portrait's crop (see `resampling`)
    grain: torch.Tensor  # 1×1×S×S unit luma noise (mouth.grain_field): the portrait's texture in a new interior
    grain_level: float  # the portrait's fine texture (mouth.grain_level), for a painted interior


def resampling(source: SourceFace) -> str:
    """How to resample ``source``'s crop: "bicubic" when the crop is reduced from a larger face
    (it holds detail up to its own resolution, which bilinear blurs by up to [½ ½] at every
    fractional shift), "bilinear" when it is enlarged from a smaller one (it holds no such
    detail, and bilinear is faster)."""
    scale = float(np.sqrt(abs(np.linalg.det(np.asarray(source.transform)[:, :2]))))  # crop px per image px
    return "bicubic" if scale < 1.0 else "bilinear"


def mouth_plan(source: SourceFace, device: torch.device, *, reuse_opening: float) -> MouthPlan:
    """The portrait's :class:`MouthPlan`: its own interior is reused when its lip gap exceeds
    ``reuse_opening`` (inter-ocular units), else an interior is painted."""
    opening = float(geometry.mouth_features(source.landmarks).opening)
    paint = opening < reuse_opening
    log.debug("warp: portrait lip gap %.3f → %s mouth interior", opening, "painted" if paint else "own")
    sealed = torch.from_numpy(mouth.seal_lips(source.crop, source.landmarks))
    return MouthPlan(
        teeth=mouth.teeth_line(source.identity),
        palette=mouth.mouth_palette(source.crop, source.landmarks).as_tensor(device),
        paint=paint,
        toothless=not paint and not mouth.shows_teeth(source.crop, source.landmarks),
        sealed=sealed.to(device).permute(2, 0, 1).unsqueeze(0).float(),
        split=0.6 if paint else mouth.teeth_split(source.crop, source.landmarks),
        opening=opening,
        resampling=resampling(source),
        grain=mouth.grain_field(source.size, device),
        grain_level=mouth.grain_level(source.crop, source.landmarks),
    )


def cached_donor(
    source: SourceFace, references: list[ReferenceFrame] | None, device: torch.device
) -> mouth.MouthDonor | None:
    """The mouth donor of these references (:func:`mouth.mouth_donor`), cached on the source for
    the same references."""
    if not references:
        return None
    key = tuple(
        (r.label, r.landmarks.tobytes(), r.pose.rotation.tobytes(), zlib.crc32(np.ascontiguousarray(r.crop)))
        for r in references
    )
    cached = source.cache.get(DONOR_KEY)
    if cached is None or cached[0] != key or cached[1] != device:
        donor = mouth.mouth_donor(references, source.crop, source.landmarks, device)
        cached = (key, device, donor)
        source.cache[DONOR_KEY] = cached
    return cached[2]


def mouth_box(
    box: tuple[int, int, int, int], targets: FrameTargets, teeth: np.ndarray
) -> tuple[int, int, int, int] | None:
    """Crop-pixel box around the target mouths (and teeth) of the chunk, inside ``box``."""
    x0, y0, x1, y1 = box
    pts = np.concatenate([targets.landmarks[:, 48:68, :2], teeth], 1).reshape(-1, 2)
    pad = 4
    mx0, my0 = np.floor(pts.min(0)).astype(int) - pad
    mx1, my1 = np.ceil(pts.max(0)).astype(int) + pad
    mx0, my0, mx1, my1 = max(mx0, x0), max(my0, y0), min(mx1, x1), min(my1, y1)
    return (int(mx0), int(my0), int(mx1), int(my1)) if mx1 > mx0 and my1 > my0 else None


def composite_mouth(
    plan: MouthPlan,
    warped: torch.Tensor,
    smap: torch.Tensor,
    targets: FrameTargets,
    landmarks: torch.Tensor,
    iod: torch.Tensor,
    *,
    crop: torch.Tensor,
    box: tuple[int, int, int, int],
    source_landmarks: torch.Tensor,
    donor: mouth.MouthDonor | None,
    fade_in: float,
    feather: float,
) -> None:
    """The mouth interior, in place in ``warped`` (B×3×h×w over the support ``box``, sampled from
    ``crop`` (1×3×S×S) with ``smap``), in the mouth's box only (see the module docstring).

    ``landmarks``: B×68×2 target points, ``iod``: B target inter-ocular distances (pixels),
    ``source_landmarks``: 68×2 of the portrait (crop pixels); the painted interior fades in over
    ``fade_in`` inter-ocular units of lip gap beyond the portrait's, its edge feathered over
    ``feather`` pixels. Where the lips close further than the portrait's, the sealed crop's lips
    fill the narrowing gap.
    """
    device = warped.device
    teeth = targets.scale[:, None, None] * np.einsum("nj,bij->bni", plan.teeth, targets.rotation)
    teeth = teeth[..., :2] + targets.translation[:, None, :2]
    where = mouth_box(box, targets, teeth)
    if where is None:
        return
    x0, y0 = box[:2]
    mx0, my0, mx1, my1 = where
    b, size = len(targets), crop.shape[-1]
    region = warped[:, :, my0 - y0 : my1 - y0, mx0 - x0 : mx1 - x0]
    region_map = smap[:, my0 - y0 : my1 - y0, mx0 - x0 : mx1 - x0]
    if plan.paint or donor is not None:
        gap = geometry.mouth_features(targets.landmarks).opening - plan.opening
        fade = np.clip(gap / fade_in, 0.0, 1.0)
        fade = fade * fade * (3.0 - 2.0 * fade)
        # lips closing further than the portrait's: lip in the seam, not its sliver of teeth
        shut = np.clip(-gap / (0.5 * max(plan.opening, 1e-3)), 0.0, 1.0)
        if not (fade > 0).any() and not (shut > 0).any():
            return
        strength = torch.tensor(fade, dtype=torch.float32, device=device)
        seal = torch.tensor(np.maximum(fade, shut), dtype=torch.float32, device=device)
        sealed = F.grid_sample(
            plan.sealed.expand(b, -1, -1, -1),
            (region_map + 0.5) * (2.0 / size) - 1.0,
            mode=plan.resampling,
            padding_mode="border",
            align_corners=False,
        )
        lips = region + seal.view(-1, 1, 1, 1) * (sealed - region)
        grain = _moving_grain(plan, targets, source_landmarks, where)
        if donor is not None:
            painted = _donor_interior(plan, donor, lips, (mx0, my0), landmarks, iod, strength, feather, grain)
        else:
            teeth_t = torch.tensor(teeth, dtype=torch.float32, device=device)
            painted = mouth.paint_mouth(
                lips, (mx0, my0), landmarks, teeth_t, iod, plan.palette, strength=strength, feather=feather,
                grain=plan.grain_level * grain,
            )
    else:
        new_map, cavity, closing = mouth.reuse_interior(
            region_map, (mx0, my0), landmarks, source_landmarks, split=plan.split, feather=feather
        )
        grid = (new_map + 0.5) * (2.0 / size) - 1.0
        resampled = F.grid_sample(
            crop.expand(b, -1, -1, -1), grid, mode=plan.resampling, padding_mode="border", align_corners=False
        )
        # lips closing over the teeth show lip, not teeth squeezed into the seam: each lip is
        # sampled from the portrait's same lip, in the sealed crop (the lip landmarks' inner edge
        # often lies a pixel or two onto the teeth)
        gap = geometry.mouth_features(targets.landmarks).opening
        shut = np.clip((plan.opening - gap) / (0.5 * plan.opening), 0.0, 1.0)
        shut_t = torch.tensor(shut, dtype=torch.float32, device=device).view(-1, 1, 1)
        if bool((shut_t > 0).any()):
            lip_map, on_lips = mouth.lip_bands(
                (mx0, my0), region_map.shape[1:3], landmarks, source_landmarks, feather=feather
            )
            new_map = new_map + (shut_t * on_lips).unsqueeze(-1) * (lip_map - new_map)
            closing = torch.maximum(closing, shut_t)
        cavity = replace(cavity, cover=cavity.cover * (1.0 - shut_t))  # a closing mouth opens none
        if bool((closing > 0).any()):
            sealed = F.grid_sample(
                plan.sealed.expand(b, -1, -1, -1), grid, mode=plan.resampling, padding_mode="border",
                align_corners=False,
            )
            resampled = resampled + closing.unsqueeze(1) * (sealed - resampled)
        painted = mouth.paint_mouth(
            resampled,
            (mx0, my0),
            landmarks,
            None,
            iod,
            plan.palette,
            strength=torch.ones(b, device=device),
            feather=feather,
            cavity=cavity,
            grain=plan.grain_level * _moving_grain(plan, targets, source_landmarks, where),
        )
        if shut.any():
            painted = mouth.lip_seam(
                painted, (mx0, my0), landmarks, plan.palette[1], mouth.SEAM_DARKNESS * shut_t.view(-1)
            )
    region.copy_(painted)


def _moving_grain(
    plan: MouthPlan, targets: FrameTargets, source_landmarks: torch.Tensor, where: tuple[int, int, int, int]
) -> torch.Tensor:
    """The plan's unit grain over the crop pixels ``where`` (x0, y0, x1, y1), B×1×h×w: it moves with
    each target mouth by whole pixels, never stretched or blurred (through a warp it streaks)."""
    mx0, my0, mx1, my1 = where
    size = plan.grain.shape[-1]
    shift = np.rint(targets.landmarks[:, 48:68, :2].mean(1) - source_landmarks[48:68].mean(0).cpu().numpy())
    rows = np.clip(np.arange(my0, my1)[None] - shift[:, 1:], 0, size - 1).astype(np.int64)  # B×h
    cols = np.clip(np.arange(mx0, mx1)[None] - shift[:, :1], 0, size - 1).astype(np.int64)  # B×w
    rows_t, cols_t = (torch.from_numpy(x).to(plan.grain.device) for x in (rows, cols))
    return plan.grain[0, 0][rows_t[:, :, None], cols_t[:, None, :]].unsqueeze(1)


def _donor_interior(
    plan: MouthPlan,
    donor: mouth.MouthDonor,
    lips: torch.Tensor,
    origin: tuple[int, int],
    landmarks: torch.Tensor,
    iod: torch.Tensor,
    strength: torch.Tensor,
    feather: float,
    grain: torch.Tensor,
) -> torch.Tensor:
    """``lips`` (B×3×h×w at ``origin``) with the donor's interior inside the target inner lips: its
    teeth kept rigid (:func:`mouth.rigid_interior`), new cavity beyond its gap painted; ``grain``
    (B×1×h×w unit noise) adds what the donor lacks of the portrait's fine texture, so the interior
    looks like the same photograph, print or painting as the lips around it."""
    b, _, h, w = lips.shape
    rigid, inside, cavity, _ = mouth.rigid_interior(
        origin, (h, w), landmarks, donor.landmarks, split=donor.split, feather=feather
    )
    size = donor.crop.shape[-1]
    interior = F.grid_sample(
        donor.crop.expand(b, -1, -1, -1), (rigid + 0.5) * (2.0 / size) - 1.0,
        mode=plan.resampling, padding_mode="border", align_corners=False,
    )
    interior = mouth.paint_mouth(  # what opens beyond the donor's own gap: cavity, no teeth
        interior, origin, landmarks, None, iod, plan.palette, strength=torch.ones(b, device=lips.device),
        feather=feather, cavity=cavity,
    )
    interior = interior + donor.grain * grain
    alpha = (inside * strength.view(b, 1, 1)).unsqueeze(1)
    return lips + alpha * (interior - lips)
