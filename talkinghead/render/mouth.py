"""Mouth interior for a portrait whose own mouth is closed: cavity, teeth and tongue.

When the target opens the lips wider than the portrait's, a warp can only stretch the lip line
into the gap. Instead the gap (inside the target inner-lip contour) is painted with a
synthesised interior, drawn in the mouth's own coordinates (:mod:`talkinghead.render.contour`):

* a dark, reddish cavity, darker toward the top (behind the upper teeth) and the corners;
* the upper teeth, fixed to the skull: their edge is the portrait's own closed-lip line posed by
  the target's head pose, so the teeth show as the upper lip rises and the jaw drops, with
  tooth separations on a curved arch (they shift and narrow when the head turns);
* the lower teeth, following the lower lip, only when the mouth opens wide;
* a hint of tongue at the bottom;
* shading under the lips, and feathered edges, so the warped lips sit on top.

Colours come from the portrait (its lips, its skin's brightness and saturation), so the inside
of a black-and-white or dim photo stays black-and-white or dim.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from talkinghead import geometry
from talkinghead.render.contour import OpeningFrame, interp, opening_frame, pixel_grid, smoothstep, soft_inside

TOOTH_EDGES = (0.0, 0.085, 0.155, 0.22, 0.28)  # tooth boundaries on the arch, inter-ocular units from the midline
ARCH_DEPTH = 1.2  # the arch curves back: z = ARCH_DEPTH·x² (inter-ocular units)
BUCCAL_CORRIDOR = 0.2  # share of the mouth width at each corner where the teeth fade into the dark
TEETH_HEIGHT = 0.1  # visible crown height of the upper incisors
TEETH_OVERLAP = 0.03  # the upper incisal edge sits this far below the closed-lip line
TONGUE_ROOM = 0.04  # a new cavity band shows a tongue from this height (inter-ocular units), fully from twice it


@dataclass(frozen=True)
class NewCavity:
    """What opens between a real mouth's upper and lower parts when its lips part further than
    its own gap (:func:`rigid_interior`); B×h×w each, v in the target's lip frame (pixels)."""

    cover: torch.Tensor  # coverage, to be painted (cavity and tongue, no teeth)
    top: torch.Tensor  # where the upper part (teeth) ends
    floor: torch.Tensor  # where the lower part begins: the tongue rests here


@dataclass(frozen=True)
class MouthPalette:
    """Colours of the synthesised interior (RGB, 0–255 floats), sampled from the portrait."""

    deep: np.ndarray  # the back of the cavity
    cavity: np.ndarray  # the lit front of the cavity
    tongue: np.ndarray
    teeth: np.ndarray
    gum: np.ndarray

    def as_tensor(self, device: torch.device) -> torch.Tensor:
        """5×3 float32 in field order."""
        rows = [self.deep, self.cavity, self.tongue, self.teeth, self.gum]
        return torch.tensor(np.stack(rows), dtype=torch.float32, device=device)


def _region_median(image: np.ndarray, mask: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    pixels = image[mask]
    return np.median(pixels, 0).astype(np.float64) if len(pixels) >= 8 else fallback


LUMA = np.array([0.299, 0.587, 0.114])


def skin_and_lips(crop: np.ndarray, landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Median RGB (0–255 floats) of the cheeks' skin and of the lips of a face crop."""
    import cv2

    p = np.asarray(landmarks, dtype=np.float64)[:, :2]
    iod = float(np.linalg.norm(p[45] - p[36]))
    lips = np.zeros(crop.shape[:2], np.uint8)
    cv2.fillPoly(lips, [np.round(p[list(geometry.OUTER_LIPS)]).astype(np.int32)], 1)
    cv2.fillPoly(lips, [np.round(p[list(geometry.INNER_LIPS)]).astype(np.int32)], 0)
    skin = np.zeros(crop.shape[:2], np.uint8)
    for a, b in ((2, 31), (14, 35)):  # cheeks: between the jaw line and the nose wings
        centre = np.round(0.5 * (p[a] + p[b])).astype(int)
        cv2.circle(skin, (int(centre[0]), int(centre[1])), max(2, int(0.07 * iod)), 1, -1)
    img = crop.astype(np.float64)
    skin_rgb = _region_median(img, skin.astype(bool), np.array([200.0, 160.0, 140.0]))
    lip_rgb = _region_median(img, lips.astype(bool), skin_rgb * np.array([0.9, 0.7, 0.7]))
    return skin_rgb, lip_rgb


def _texture(luma: np.ndarray, where: np.ndarray | None = None) -> float:
    """Fine texture of a luma image: the robust standard deviation (1.4826 × median absolute
    deviation) of its high-pass (luma − its σ = 1 px blur), over ``where`` (bool mask) or all."""
    import cv2

    high = luma - cv2.GaussianBlur(luma, (0, 0), 1.0)
    high = high[where] if where is not None else high.ravel()
    if high.size < 16:
        return 0.0
    return float(1.4826 * np.median(np.abs(high - np.median(high))))


def grain_level(crop: np.ndarray, landmarks: np.ndarray) -> float:
    """The face's fine texture (film grain, paint, pores, compression), 0–255 levels: :func:`_texture`
    over the skin of the lower face (jaw to nose base, the lips left out)."""
    import cv2

    p = np.asarray(landmarks, dtype=np.float64)[:, :2]
    iod = float(np.linalg.norm(p[45] - p[36]))
    skin = np.zeros(crop.shape[:2], np.uint8)
    cv2.fillPoly(skin, [np.round(p[[*range(2, 15), 35, 33, 31]]).astype(np.int32)], 1)
    cv2.fillPoly(skin, [np.round(p[list(geometry.OUTER_LIPS)]).astype(np.int32)], 0)
    skin = cv2.erode(skin, np.ones((3, 3), np.uint8), iterations=max(1, int(0.05 * iod)))
    return _texture(crop.astype(np.float32) @ LUMA.astype(np.float32), skin.astype(bool))


def grain_field(size: int, device: torch.device, seed: int = 0) -> torch.Tensor:
    """1×1×S×S luma grain of unit :func:`_texture`: white noise softened by a σ = 0.5 px blur (grain is
    about a pixel across), fixed per seed so it moves with the face instead of boiling."""
    import cv2

    noise = cv2.GaussianBlur(np.random.default_rng(seed).standard_normal((size, size)).astype(np.float32), (0, 0), 0.5)
    noise /= max(_texture(noise), 1e-6)
    return torch.from_numpy(noise).to(device)[None, None]


def _light_and_chroma(skin_rgb: np.ndarray) -> tuple[float, float]:
    light = float(np.clip(skin_rgb @ LUMA / 165.0, 0.35, 1.25))  # skin brightness vs a typical lit face
    chroma = float(np.clip((skin_rgb.max() - skin_rgb.min()) / 60.0, 0.0, 1.0))  # 0 for grey portraits
    return light, chroma


def mouth_palette(crop: np.ndarray, landmarks: np.ndarray) -> MouthPalette:
    """Colours for the interior from the portrait crop (``S×S×3`` uint8, landmarks in crop pixels)."""
    skin_rgb, lip_rgb = skin_and_lips(crop, landmarks)
    light, chroma = _light_and_chroma(skin_rgb)

    def tint(rgb: np.ndarray) -> np.ndarray:
        """A colour as it would look under this portrait's light and saturation."""
        rgb = np.asarray(rgb, dtype=np.float64) * light
        grey = rgb @ LUMA
        return np.clip(grey + chroma * (rgb - grey), 0.0, 255.0)

    lip_dark = lip_rgb * np.array([1.0, 0.78, 0.8])  # inside the mouth everything is redder
    return MouthPalette(
        deep=np.clip(0.06 * lip_dark + tint([8.0, 2.0, 3.0]), 0, 255),
        cavity=np.clip(0.32 * lip_dark + tint([12.0, 2.0, 3.0]), 0, 255),
        tongue=np.clip(0.6 * lip_rgb + tint([70.0, 36.0, 40.0]), 0, 255),
        teeth=tint([232.0, 220.0, 196.0]),
        gum=np.clip(0.9 * lip_rgb + tint([20.0, 0.0, 5.0]), 0, 255),
    )


DONOR_MIN_OPENING = 0.15  # a reference frame's lip gap (inter-ocular units) that shows enough interior to lend
DONOR_MAX_TURN_DEG = 20.0  # … and its face's largest yaw or pitch: a mouth seen from the side shows mostly lip
CAVITY_DARKNESS = 0.5  # a lent gap's darkest tenth is under this share of the skin's luma (shows_cavity)


@dataclass(frozen=True)
class MouthDonor:
    """The open mouth of a style reference frame (the clip's R/O frames), colour-matched to the
    portrait: its real teeth, tongue and cavity fill the portrait's opened lips."""

    crop: torch.Tensor  # 1×3×S×S float32, 0–255, the reference crop in the portrait's light and saturation
    landmarks: torch.Tensor  # 68×2 crop pixels of the reference
    split: float  # where its upper teeth end in its lip gap (teeth_split)
    grain: float  # the portrait's fine texture its interior lacks (grain_level; independent textures add in variance)


def match_colours(image: np.ndarray, skin_from: np.ndarray, skin_to: np.ndarray) -> np.ndarray:
    """``image`` (…×3, 0–255) as it would look under another face's light and saturation: the
    brightness scaled by the ratio of the two skins' luma, the saturation by the ratio of their
    chroma (so a grey portrait gets a grey interior)."""
    light_from, chroma_from = _light_and_chroma(np.asarray(skin_from, dtype=np.float64))
    light_to, chroma_to = _light_and_chroma(np.asarray(skin_to, dtype=np.float64))
    x = np.asarray(image, dtype=np.float64) * (light_to / light_from)
    grey = (x @ LUMA)[..., None]
    saturation = min(chroma_to / max(chroma_from, 0.05), 1.5)
    return np.clip(grey + saturation * (x - grey), 0.0, 255.0)


def mouth_donor(
    references: list, crop: np.ndarray, landmarks: np.ndarray, device: torch.device
) -> MouthDonor | None:
    """The widest open of ``references`` (:class:`~talkinghead.render.base.ReferenceFrame`) as a
    donor for the portrait (``crop``, ``landmarks``: its crop and crop pixels), or None when none
    opens by :data:`DONOR_MIN_OPENING`, faces the camera within :data:`DONOR_MAX_TURN_DEG` and shows
    the inside of a mouth (:func:`shows_cavity`)."""
    refs = references or []
    openings = [(float(geometry.mouth_features(r.landmarks).opening), i) for i, r in enumerate(refs)]
    lenders = [
        (o, i)
        for o, i in openings
        if o >= DONOR_MIN_OPENING
        and max(abs(a) for a in refs[i].pose.angles()[:2]) <= DONOR_MAX_TURN_DEG
        and shows_cavity(refs[i].crop, refs[i].landmarks)
    ]
    if not lenders:
        return None
    ref = refs[max(lenders)[1]]
    skin_ref, _ = skin_and_lips(ref.crop, ref.landmarks)
    skin_portrait, _ = skin_and_lips(crop, landmarks)
    matched = match_colours(ref.crop, skin_ref, skin_portrait)
    return MouthDonor(
        crop=torch.tensor(matched, dtype=torch.float32, device=device).permute(2, 0, 1).unsqueeze(0),
        landmarks=torch.tensor(np.asarray(ref.landmarks)[:, :2], dtype=torch.float32, device=device),
        split=teeth_split(ref.crop, ref.landmarks),
        grain=max(grain_level(crop, landmarks) ** 2 - grain_level(ref.crop, ref.landmarks) ** 2, 0.0) ** 0.5,
    )


def _lip_gap(crop: np.ndarray, landmarks: np.ndarray) -> tuple[np.ndarray, float] | None:
    """The RGB pixels (N×3 float) inside a face's inner lips, a pixel in from them, and its skin's
    luma; None when the gap holds fewer than 8 pixels."""
    import cv2

    p = np.round(np.asarray(landmarks)[:, :2]).astype(np.int32)
    inside = np.zeros(crop.shape[:2], np.uint8)
    cv2.fillPoly(inside, [p[list(geometry.INNER_LIPS)]], 1)
    inside = cv2.erode(inside, np.ones((3, 3), np.uint8)).astype(bool)
    if inside.sum() < 8:
        return None
    skin, _ = skin_and_lips(crop, landmarks)
    return crop[inside].astype(np.float64), float(skin @ LUMA)


def shows_teeth(crop: np.ndarray, landmarks: np.ndarray) -> bool:
    """Whether the face's own lip gap shows teeth: a tenth of the pixels inside its inner lips are
    whitish (over three quarters of the skin's luma, little colour)."""
    gap = _lip_gap(crop, landmarks)
    if gap is None:
        return False
    rgb, skin = gap
    luma, chroma = rgb @ LUMA, rgb.max(1) - rgb.min(1)
    whitish = (luma > max(0.75 * skin, 60.0)) & (chroma < 45.0)  # not the red of lips
    return bool(whitish.mean() > 0.1)


def shows_cavity(crop: np.ndarray, landmarks: np.ndarray) -> bool:
    """Whether the face's lip gap shows the inside of a mouth: its darkest tenth is under
    :data:`CAVITY_DARKNESS` of the skin's luma. Open mouths in real clips: 0.03-0.18, a wide grin
    0.42; a blurred, barely parted mouth whose gap the landmarks fill with lip: 0.56-0.78."""
    gap = _lip_gap(crop, landmarks)
    if gap is None:
        return False
    rgb, skin = gap
    return bool(np.percentile(rgb @ LUMA, 10) < CAVITY_DARKNESS * skin)


def seal_lips(crop: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """``crop`` with the gap between the inner lips (and a pixel around it) inpainted from the lips.

    A closed-looking mouth often still shows a sliver of teeth or shadow; warped open, that sliver
    would be stretched along the new lip edges, so the painted interior is laid on this crop.
    """
    import cv2

    p = np.round(np.asarray(landmarks)[:, :2]).astype(np.int32)
    # the inner lips, reaching out to the outer corners (a smile's dark corners lie beyond 60/64)
    left, right = geometry.OUTER_LIP_CORNERS
    gap = p[[left, *geometry.UPPER_INNER_LIP, right, *geometry.LOWER_INNER_LIP[::-1]]]
    mask = np.zeros(crop.shape[:2], np.uint8)
    cv2.fillPoly(mask, [gap], 1)
    cv2.polylines(mask, [gap], True, 1, thickness=3)
    return cv2.inpaint(np.ascontiguousarray(crop), mask, 5, cv2.INPAINT_TELEA)


def lip_frame(landmarks: torch.Tensor, query: torch.Tensor) -> OpeningFrame:
    """:func:`~talkinghead.render.contour.opening_frame` of the inner lips of B×68×2 ``landmarks``
    (pixels) at ``query`` (B×P×2 or B×h×w×2)."""
    upper = landmarks[:, list(geometry.UPPER_INNER_CONTOUR)]
    lower = landmarks[:, list(geometry.LOWER_INNER_CONTOUR)]
    return opening_frame(upper, lower, query)


def teeth_split(crop: np.ndarray, landmarks: np.ndarray) -> float:
    """Where, between the portrait's inner lips (0 = upper, 1 = lower), its upper teeth end.

    The darkest row of the open mouth's middle (the gap between the rows of teeth, or the shadow
    under the upper teeth) — the upper teeth usually fill more of a smile than the lower ones.
    Falls back to 0.6 when the mouth has no clear dark row.
    """
    import cv2

    pts = torch.tensor(np.asarray(landmarks, dtype=np.float32)[None, :, :2])
    a = torch.linspace(0.3, 0.7, 9)
    t = torch.linspace(0.45, 0.92, 24)
    fr = lip_frame(pts, pts[:, :1])
    up, lo = fr.contours_at(a[None])
    v = up[0, None, :] + t[:, None] * (lo - up)[0, None, :]  # 24×9
    xy = fr.to_pixels(a[None, None].expand(1, len(t), -1), v[None])[0].numpy().astype(np.float32)
    grey = cv2.cvtColor(np.ascontiguousarray(crop), cv2.COLOR_RGB2GRAY).astype(np.float32)
    luma = cv2.remap(grey, xy[..., 0], xy[..., 1], cv2.INTER_LINEAR)  # 24×9
    profile = np.median(luma, 1)
    darkest = int(np.argmin(profile))
    contrast = np.median(profile) - profile[darkest]
    return float(t[darkest]) if contrast > 12.0 else 0.6


def teeth_line(identity: np.ndarray) -> np.ndarray:
    """``(1 + 2·len(TOOTH_EDGES) − 1)×3``: canonical points along the upper incisal edge, left to right.

    The edge follows the portrait's closed-lip line (mean of the inner lips at the midline) on a
    parabolic arch, so posed with a target's rotation it turns with the head.
    """
    c = np.asarray(identity, dtype=np.float64)
    up, lo = geometry.INNER_LIP_MIDLINE
    mid = 0.5 * (c[up] + c[lo])
    xs = np.array(sorted({-x for x in TOOTH_EDGES} | set(TOOTH_EDGES)))
    pts = np.stack([mid[0] + xs, np.full_like(xs, mid[1] + TEETH_OVERLAP), mid[2] + ARCH_DEPTH * xs**2], -1)
    return pts


def paint_mouth(
    frames: torch.Tensor,
    origin: tuple[int, int],
    landmarks: torch.Tensor,
    teeth: torch.Tensor | None,
    iod: torch.Tensor,
    palette: torch.Tensor,
    *,
    strength: torch.Tensor,
    feather: float,
    cavity: NewCavity | None = None,
    grain: torch.Tensor | None = None,
) -> torch.Tensor:
    """Blend the synthesised interior into ``frames`` (B×3×h×w, 0–255, top-left pixel at ``origin``).

    ``landmarks``: B×68×2 target points (crop pixels); ``teeth``: B×T×2 posed :func:`teeth_line`
    points, or None to paint no teeth (the portrait's own are shown); ``iod``: B target
    inter-ocular distances in pixels; ``palette``: 5×3; ``strength``: B opacity of the interior
    (0 leaves the frame as is); ``cavity``: paint only this band between a real mouth's upper
    and lower parts, its tongue resting on the band's floor (a mound on the whole opening's floor,
    clipped by the band, would show as a line across it); ``grain``: optional B×1×h×w luma texture
    (levels) laid over the painted interior, so it has the photograph's or painting's grain
    rather than none.
    """
    b, _, h, w = frames.shape
    fr = lip_frame(landmarks, pixel_grid(origin, (h, w), b, dtype=frames.dtype, device=frames.device))
    alpha = soft_inside(fr, feather) * strength.view(b, 1, 1)  # B×h×w
    if cavity is not None:
        alpha = alpha * cavity.cover
    if not bool((alpha > 0).any()):
        return frames
    unit = iod.view(b, 1, 1)
    gap = (fr.lo - fr.up).clamp_min(0.0)
    gaps = landmarks[:, list(geometry.UPPER_INNER_LIP)] - landmarks[:, list(geometry.LOWER_INNER_LIP)]
    opening = gaps.norm(dim=-1).mean(-1).view(b, 1, 1)
    t = ((fr.v - fr.up) / gap.clamp_min(1.0)).clamp(0.0, 1.0)  # 0 at the upper lip, 1 at the lower
    across = 2.0 * fr.a - 1.0  # −1 … 1 corner to corner
    deep, lit, tongue_c, teeth_c, gum_c = (palette[i].view(1, 3, 1, 1) for i in range(5))

    # cavity: near black at the back and the top, a little light reaching the floor and the middle
    light = 0.12 + 0.88 * t.pow(1.5) * (1.0 - 0.7 * across.square()).clamp_min(0.0)
    colour = deep + (lit - deep) * light.unsqueeze(1)

    # tongue: a rounded mound on the floor of the mouth, darker toward its back, a soft central groove
    tongue_h = torch.minimum(0.42 * opening, 0.12 * unit)
    floor, shown = fr.lo, 1.0
    if cavity is not None:  # a mound on the band's floor, only where the band has room for one
        floor, room = cavity.floor, (cavity.floor - cavity.top).clamp_min(0.0)
        tongue_h = torch.minimum(tongue_h, 0.5 * room)
        shown = smoothstep((room - TONGUE_ROOM * unit) / (TONGUE_ROOM * unit))
    tongue_top = floor - tongue_h * (1.0 - (across / 0.85).square()).clamp_min(0.0).sqrt()
    tongue = ((fr.v - tongue_top) / 1.2 + 0.5).clamp(0.0, 1.0) * (tongue_h > 1.0) * shown
    front = smoothstep((fr.v - tongue_top) / (0.6 * tongue_h + 1.0))
    groove = 1.0 - 0.15 * front * torch.exp(-0.5 * (across * fr.length.view(b, 1, 1) / (0.03 * unit + 1.0)).square())
    tongue_shade = (0.55 + 0.45 * front) * groove
    colour = colour + tongue.unsqueeze(1) * (tongue_c * tongue_shade.unsqueeze(1) - colour)

    # ambient occlusion under the lips (the teeth below carry their own lip shadow)
    ao = (1.0 - 0.45 * torch.exp(-(fr.v - fr.up).clamp_min(0.0) / (0.02 * unit + 0.5))) * (
        1.0 - 0.3 * torch.exp(-(fr.lo - fr.v).clamp_min(0.0) / (0.015 * unit + 0.5))
    )
    colour = colour * ao.unsqueeze(1)
    if teeth is None:
        return frames + alpha.unsqueeze(1) * (_grained(colour, grain) - frames)

    # teeth geometry: posed incisal edge, its arch positions along the mouth
    edge_a, edge_v = fr.project(teeth)  # B×T positions of the tooth boundaries
    edge = interp(fr.a, edge_a, edge_v)  # incisal edge line at each pixel column
    dist_a = (fr.a.unsqueeze(-1) - edge_a.view(b, 1, 1, -1)) * fr.length.view(b, 1, 1, 1)  # px to each boundary
    near = torch.exp(-0.5 * (dist_a / (0.006 * unit.unsqueeze(-1) + 0.35)).square()).amax(-1)
    scallop = torch.exp(-0.5 * (dist_a / (0.012 * unit.unsqueeze(-1) + 0.5)).square()).amax(-1)
    half = edge_a.shape[1] // 2  # the middle point is the midline
    mid_a = edge_a[:, half].view(b, 1, 1)
    outer = (edge_a[:, -1] - edge_a[:, 0]).abs().view(b, 1, 1).clamp_min(1e-3) * 0.5
    lateral = ((fr.a - mid_a).abs() / outer).clamp(0.0, 1.5)  # 0 at the midline, 1 at the last boundary

    # lower teeth: tips just above the lower lip, in the middle, only when the mouth is wide open
    lower_h = (0.2 * (opening - 0.2 * unit)).clamp(min=0.0)
    lower_h = torch.minimum(lower_h, 0.035 * unit) * (1.0 - (lateral / 0.5).square()).clamp_min(0.0).sqrt()
    lower_top = fr.lo - lower_h + 0.004 * unit * scallop
    lower = ((fr.v - lower_top) / 1.0 + 0.5).clamp(0.0, 1.0) * (lower_h > 0.75)
    lower_shade = 0.85 * (1.0 - 0.15 * near) * (1.0 - 0.3 * lateral.clamp(max=1.0))
    colour = colour + lower.unsqueeze(1) * (teeth_c * lower_shade.unsqueeze(1) - colour)

    # upper teeth: from their gum line down to the (slightly scalloped) incisal edge, receding into
    # shadow toward the sides and under the upper lip
    edge_here = edge - 0.006 * unit * scallop
    corridor = smoothstep(torch.minimum(fr.a, 1.0 - fr.a) / BUCCAL_CORRIDOR)  # dark at the mouth corners
    upper = ((edge_here - fr.v) / 1.0 + 0.5).clamp(0.0, 1.0) * (1.0 - smoothstep((lateral - 1.0) / 0.15)) * corridor
    gum_line = edge - TEETH_HEIGHT * unit
    gum = ((gum_line - fr.v) / 1.0 + 0.5).clamp(0.0, 1.0)
    lip_shadow = 0.62 + 0.38 * smoothstep((fr.v - fr.up) / (0.045 * unit))
    teeth_shade = lip_shadow * (1.0 - 0.15 * near) * (1.0 - 0.6 * smoothstep((lateral - 0.4) / 0.7))
    tooth = teeth_c * teeth_shade.unsqueeze(1)
    tooth = tooth + gum.unsqueeze(1) * (gum_c * lip_shadow.unsqueeze(1) - tooth)
    colour = colour + upper.unsqueeze(1) * (tooth - colour)

    return frames + alpha.unsqueeze(1) * (_grained(colour, grain) - frames)


def _grained(colour: torch.Tensor, grain: torch.Tensor | None) -> torch.Tensor:
    return colour if grain is None else colour + grain


def rigid_interior(
    origin: tuple[int, int],
    shape: tuple[int, int],
    target: torch.Tensor,
    source: torch.Tensor,
    *,
    split: float,
    feather: float,
) -> tuple[torch.Tensor, torch.Tensor, NewCavity, torch.Tensor]:
    """Where each target pixel inside the target's inner lips finds a source mouth's interior, teeth
    kept rigid: the part of the source's opening above ``split`` (a fraction of its lip gap,
    :func:`teeth_split`) follows the upper lip and the rest the lower lip, both unscaled but for
    the ratio of the mouths' widths; what opens between them is new cavity. When the target opens
    less than the source, the interior is squeezed instead. ``shape``: (h, w) of the target
    pixels whose top-left is ``origin``; ``target``: B×68×2, ``source``: 68×2 landmarks (pixels).

    Returns the B×h×w×2 source pixels, the B×h×w coverage of the target's opening, the new
    cavity (:class:`NewCavity`, to be painted without teeth) and the share of lips closing over
    the teeth (0 at the source's own gap, 1 from half of it down).
    """
    b = len(target)
    ft = lip_frame(target, pixel_grid(origin, shape, b, dtype=target.dtype, device=target.device))
    src = source.unsqueeze(0).expand(b, -1, -1)
    fs = lip_frame(src, src[:, :1])  # the source's frame
    a = ft.a  # the contours are flat beyond the corners, so positions past them map to themselves
    up_s, lo_s = fs.contours_at(a)
    k = (fs.length / ft.length).view(b, 1, 1)  # target → source pixels
    gap_s = (lo_s - up_s).clamp_min(0.0)
    gap_t = ((ft.lo - ft.up) * k).clamp_min(1e-3)
    from_top, from_bottom = (ft.v - ft.up) * k, (ft.lo - ft.v) * k
    top_part, bottom_part = split * gap_s, (1.0 - split) * gap_s
    opened = gap_t >= gap_s
    v_src = torch.where(
        opened,
        torch.where(
            from_top <= top_part,
            up_s + from_top,
            torch.where(from_bottom <= bottom_part, lo_s - from_bottom, up_s + top_part),
        ),
        up_s + (from_top / gap_t).clamp(0.0, 1.0) * gap_s,  # squeezed, never beyond the source's lips
    )
    inside = soft_inside(ft, feather)
    rigid = fs.to_pixels(a, v_src)
    f = max(feather, 1e-3)
    middle = ((from_top - top_part) / (f * k) + 0.5).clamp(0.0, 1.0) * (
        (from_bottom - bottom_part) / (f * k) + 0.5
    ).clamp(0.0, 1.0)
    # new cavity only where the gap has grown by more than a couple of pixels (not in the slits a
    # nearly closed target leaves between wavy lips)
    grown = ((gap_t - gap_s - 2.0 * k) / (2.0 * f * k)).clamp(0.0, 1.0)
    closing = inside * ((gap_s - gap_t) / (0.5 * gap_s).clamp_min(1e-3)).clamp(0.0, 1.0)
    cavity = NewCavity(cover=middle * grown, top=ft.up + top_part / k, floor=ft.lo - bottom_part / k)
    return rigid, inside, cavity, closing


SEAM_WIDTH_PX = 1.2  # lip_seam: the shadow where closed lips meet, Gaussian width in crop pixels
SEAM_DARKNESS = 0.5  # how far that shadow goes toward the lit cavity's colour
UPPER_OUTER_CONTOUR = (48, 49, 50, 51, 52, 53, 54)
LOWER_OUTER_CONTOUR = (48, 59, 58, 57, 56, 55, 54)


def lip_bands(
    origin: tuple[int, int], shape: tuple[int, int], target: torch.Tensor, source: torch.Tensor, *, feather: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Each target lip sampled from the same lip of the source: a target pixel a fraction ``t`` of
    the way across a lip (outer edge to inner edge), at position ``a`` along the mouth, takes the
    source pixel at the same ``t`` and ``a`` of that lip (:func:`~talkinghead.render.contour.opening_frame`
    of the band between the lip's two contours).

    A smooth warp of lips closing over teeth squeezes the teeth into a pale seam between them;
    mapped lip to lip, closed lips show only lip. ``shape``: (h, w) of the target pixels whose
    top-left is ``origin``; ``target``: B×68×2, ``source``: 68×2 landmarks (crop pixels).
    Returns the B×h×w×2 source pixels and the B×h×w coverage of the two lips (edges feathered
    over ``feather`` pixels)."""
    b = len(target)
    query = pixel_grid(origin, shape, b, dtype=target.dtype, device=target.device)
    src = source.unsqueeze(0).expand(b, -1, -1)
    sample = query.clone()
    cover = torch.zeros(query.shape[:3], dtype=target.dtype, device=target.device)
    bands = ((UPPER_OUTER_CONTOUR, geometry.UPPER_INNER_CONTOUR), (geometry.LOWER_INNER_CONTOUR, LOWER_OUTER_CONTOUR))
    for top, bottom in bands:
        ft = opening_frame(target[:, top], target[:, bottom], query)
        across = ((ft.v - ft.up) / (ft.lo - ft.up).clamp_min(1e-3)).clamp(0.0, 1.0)
        fs = opening_frame(src[:, top], src[:, bottom], src[:, :1])
        up_s, lo_s = fs.contours_at(ft.a)
        inside = soft_inside(ft, feather)
        sample = sample + inside.unsqueeze(-1) * (fs.to_pixels(ft.a, up_s + across * (lo_s - up_s)) - sample)
        cover = torch.maximum(cover, inside)
    return sample, cover


def lip_seam(
    frames: torch.Tensor,
    origin: tuple[int, int],
    landmarks: torch.Tensor,
    colour: torch.Tensor,
    strength: torch.Tensor,
    *,
    width: float = SEAM_WIDTH_PX,
) -> torch.Tensor:
    """``frames`` (B×3×h×w at ``origin``) with the shadowed line where closed lips meet: toward
    ``colour`` (3) along the middle of the target's inner lips (``landmarks``: B×68×2), a Gaussian
    ``width`` pixels wide, only where the lips are within a seam's width of each other, tapering
    off toward the corners; ``strength``: B, per frame."""
    b, _, h, w = frames.shape
    fr = lip_frame(landmarks, pixel_grid(origin, (h, w), b, dtype=frames.dtype, device=frames.device))
    middle = 0.5 * (fr.up + fr.lo)
    meeting = (1.0 - (fr.lo - fr.up).clamp_min(0.0) / (2.0 * width)).clamp(0.0, 1.0)
    ends = smoothstep(4.0 * fr.a) * smoothstep(4.0 * (1.0 - fr.a))
    alpha = strength.view(b, 1, 1) * meeting * ends * torch.exp(-(((fr.v - middle) / width) ** 2))
    return frames + alpha.unsqueeze(1) * (colour.view(1, 3, 1, 1) - frames)


def reuse_interior(
    sample_map: torch.Tensor,
    origin: tuple[int, int],
    target: torch.Tensor,
    source: torch.Tensor,
    *,
    split: float,
    feather: float,
) -> tuple[torch.Tensor, NewCavity, torch.Tensor]:
    """For a portrait whose own mouth is open: its teeth move with the lips instead of stretching
    (:func:`rigid_interior` of its own mouth). ``sample_map``: B×h×w×2 source pixels for the
    target pixels whose top-left is ``origin``; ``target``: B×68×2, ``source``: 68×2 landmarks
    (crop pixels).

    Returns the new map, the new cavity (:class:`NewCavity`, to be painted without teeth) and
    the B×h×w share of lips closing over the teeth, where lip (the sealed crop) is to be shown
    instead of squeezed teeth.
    """
    rigid, inside, cavity, closing = rigid_interior(
        origin, tuple(sample_map.shape[1:3]), target, source, split=split, feather=feather
    )
    return sample_map + inside.unsqueeze(-1) * (rigid - sample_map), cavity, closing
