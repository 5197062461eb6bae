"""`python -m talkinghead isp PORTRAIT STYLE_CLIP [-o isp.png]`: the four Intermediate Style Patterns.

Finds the None / M / R / O reference frames of the style clip (paper §3.2) and maps each onto
the portrait (§3.3, eq. 2): one sheet with the references (labels, times) on the first row, the
portrait wearing them (the ISPs) on the second, and mouth close-ups of both below.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import numpy as np

from talkinghead import media
from talkinghead.errors import InputError
from talkinghead.face.landmarker import Landmarker

log = logging.getLogger(__name__)

TILE = 320  # side of one picture in the sheet, pixels
CLOSEUP = (TILE, 192)  # mouth close-up (width, height)
LABEL_H = 34  # height of a caption strip


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("portrait", type=Path, metavar="PORTRAIT", help="a photo of one face")
    parser.add_argument("style", type=Path, metavar="STYLE_CLIP", help="a video of someone talking or singing")
    parser.add_argument("-o", "--output", type=Path, default=Path("isp.png"), help="sheet to write (default: isp.png)")
    parser.add_argument("--renderer", default="warp", choices=["auto", "warp", "liveportrait"], help="default: warp")
    parser.add_argument("--landmarks", default="auto", help="landmark backend: auto | mediapipe | fan")
    parser.add_argument("--device", default="auto", help="auto | cpu | cuda (default: cuda when present)")


def _caption(width: int, text: str, colour: tuple[int, int, int] = (20, 20, 20)) -> np.ndarray:
    """A white strip with ``text`` (OpenCV's fonts draw ASCII only: other characters become '?')."""
    import cv2

    text = text.encode("ascii", "replace").decode("ascii")
    strip = np.full((LABEL_H, width, 3), 255, np.uint8)
    scale = 0.55
    while scale > 0.3 and cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)[0][0] > width - 8:
        scale -= 0.05
    cv2.putText(strip, text, (5, LABEL_H - 12), cv2.FONT_HERSHEY_SIMPLEX, scale, colour, 1, cv2.LINE_AA)
    return strip


def _tile(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    import cv2

    return cv2.resize(image, size, interpolation=cv2.INTER_AREA if image.shape[1] > size[0] else cv2.INTER_CUBIC)


def isp_sheet(
    references: list,
    isps: list[np.ndarray],
    isp_landmarks: list[np.ndarray] | None = None,
    *,
    title: str = "",
) -> np.ndarray:
    """An RGB uint8 sheet: reference crops with label/time (row 1), ISPs (row 2), mouth close-ups.

    ``references`` are :class:`talkinghead.style.StyleReference` (or anything with
    ``label``, ``crop``, ``landmarks`` and optionally ``time``/``confidence``); ``isp_landmarks``
    (68×3 per ISP, crop pixels) places the ISP close-ups, else the reference's are used.
    """
    from talkinghead.style.sheet import mouth_closeup

    if len(references) != len(isps):
        raise ValueError(f"{len(references)} references but {len(isps)} ISPs")
    gap = np.full((LABEL_H + TILE + LABEL_H + TILE + 2 * CLOSEUP[1] + 8, 6, 3), 255, np.uint8)
    columns = []
    for k, (ref, isp) in enumerate(zip(references, isps, strict=True)):
        time = getattr(ref, "time", None)
        conf = getattr(ref, "confidence", None)
        text = f"{ref.label}" + (f"  t={time:.2f}s" if time is not None else "")
        text += f"  conf {conf:.2f}" if conf is not None else ""
        isp_pts = isp_landmarks[k] if isp_landmarks is not None else ref.landmarks
        col = np.concatenate(
            [
                _caption(TILE, "reference " + text),
                _tile(ref.crop, (TILE, TILE)),
                _caption(TILE, f"ISP {ref.label}: portrait with this mouth and pose"),
                _tile(isp, (TILE, TILE)),
                np.full((8, TILE, 3), 255, np.uint8),
                mouth_closeup(ref.crop, ref.landmarks, *CLOSEUP),
                mouth_closeup(isp, isp_pts, *CLOSEUP),
            ],
            0,
        )
        columns += [col, gap]
    sheet = np.concatenate(columns[:-1], 1)
    if title:
        sheet = np.concatenate([_caption(sheet.shape[1], title), sheet], 0)
    return sheet


def run(args: argparse.Namespace) -> int:
    from talkinghead.pipeline import Pipeline, PipelineConfig

    if args.output.suffix.lower() not in (".png", ".jpg", ".jpeg", ".webp"):
        raise InputError(f"The ISP sheet is an image: name it {args.output.stem}.png.")
    config = PipelineConfig(renderer=args.renderer, device=args.device, landmarks=args.landmarks)
    pipeline = Pipeline(config)
    print(f"renderer: {pipeline.renderer.name} ({pipeline.renderer_reason})")
    preview = pipeline.analyse(args.portrait, args.style)
    for note in preview.warnings:
        print(f"note: {note}")
    for ref in preview.references:
        print(f"{ref.label:>4}: frame {ref.frame_index} at {ref.time:.2f} s, confidence {ref.confidence:.2f}")
    # The close-ups sit where each ISP's own mouth is (found by the landmarker; the portrait's when not found).
    where = [_landmarks_or(pipeline.landmarker, isp, preview.source.landmarks) for isp in preview.isps]
    title = f"{args.portrait.name} x {args.style.name} - renderer {preview.renderer}"
    media.save_image(args.output, isp_sheet(preview.references, preview.isps, where, title=title))
    print(f"wrote {args.output}")
    return 0


def _landmarks_or(landmarker: Landmarker, image: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    try:
        return landmarker.detect(image, what="the ISP").points
    except InputError:
        return fallback
