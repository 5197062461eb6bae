"""Photos in and out: ``H×W×3`` uint8 RGB, EXIF orientation applied, transparency composited on white."""

from __future__ import annotations

import contextlib
import io
import os
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from talkinghead.errors import InputError
from talkinghead.media.ffmpeg import probe
from talkinghead.media.files import _atomic_output, _check_readable, _display_name

DEFAULT_MAX_PIXELS = 64_000_000  # refuse larger images before decoding (8000×8000, ~190 MB as RGB)
DEFAULT_MAX_SIDE = 2048  # longer side images are downscaled to by default

IMAGE_HINT = "upload a JPEG, PNG, WebP or BMP photo"

ImageSource = str | os.PathLike | bytes | np.ndarray | Image.Image


def _to_rgb_array(im: Image.Image) -> np.ndarray:
    """Any Pillow mode → H×W×3 uint8 RGB (transparency composited on white, 16-bit scaled)."""
    mode = im.mode
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        a = np.asarray(im, dtype=np.float64)
        peak = float(a.max()) if a.size else 0.0
        if mode.startswith("I;16") or (mode == "I" and 255 < peak <= 65535):
            a = a / 257.0  # 16-bit full scale 65535 → 255
        elif mode == "F" and peak <= 1.0:
            a = a * 255.0  # float images in [0, 1]
        elif peak > 65535:
            a = a * (255.0 / peak)
        grey = np.clip(np.rint(a), 0, 255).astype(np.uint8)
        return np.ascontiguousarray(np.repeat(grey[:, :, None], 3, axis=2))
    has_alpha = mode in ("RGBA", "LA", "PA", "RGBa", "La") or (mode == "P" and "transparency" in im.info)
    if has_alpha:
        rgba = im.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        im = Image.alpha_composite(white, rgba)
    if im.mode != "RGB":
        im = im.convert("RGB")
    return np.ascontiguousarray(np.asarray(im, dtype=np.uint8))


def _array_to_rgb(a: np.ndarray) -> np.ndarray:
    """Validate an in-memory image (as Gradio gives it) and bring it to H×W×3 uint8 RGB."""
    if a.dtype != np.uint8:
        raise ValueError(f"image arrays must be uint8, got {a.dtype}")
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    if a.ndim == 2:
        a = np.repeat(a[:, :, None], 3, axis=2)
    elif a.ndim == 3 and a.shape[2] == 4:
        alpha = a[:, :, 3:4].astype(np.float32) / 255.0
        a = np.rint(a[:, :, :3] * alpha + 255.0 * (1.0 - alpha)).astype(np.uint8)
    elif not (a.ndim == 3 and a.shape[2] == 3):
        raise ValueError(f"image arrays must be H×W, H×W×3 or H×W×4, got shape {a.shape}")
    if a.shape[0] == 0 or a.shape[1] == 0:
        raise InputError(f"the image is empty ({a.shape[1]}×{a.shape[0]} pixels): {IMAGE_HINT}")
    return np.ascontiguousarray(a)


def _fit_side(width: int, height: int, max_side: int | None) -> tuple[int, int]:
    if max_side is None or max(width, height) <= max_side:
        return width, height
    scale = max_side / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def _downscale(a: np.ndarray, max_side: int | None) -> np.ndarray:
    h, w = a.shape[:2]
    size = _fit_side(w, h, max_side)
    if size == (w, h):
        return a
    resized = Image.fromarray(a).resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
    return np.ascontiguousarray(np.asarray(resized))


def _is_heif(head: bytes) -> bool:
    return head[4:8] == b"ftyp" and head[8:12] in (b"heic", b"heix", b"mif1", b"msf1", b"heim", b"avif")


def load_image(
    source: ImageSource,
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_side: int | None = DEFAULT_MAX_SIDE,
) -> np.ndarray:
    """Read a photo into an ``H×W×3`` uint8 RGB array, as it is meant to be displayed.

    ``source`` is a path, the file's bytes, a Pillow image or an array (Gradio hands over
    arrays; H×W grey and H×W×4 RGBA are converted). EXIF orientation is applied (phones store
    portraits sideways and set a tag), transparency is composited on white, grey/palette/CMYK
    and 16-bit images become 8-bit RGB. Images with more than ``max_pixels`` pixels are refused
    before decoding (decompression bombs); images whose longer side exceeds ``max_side`` are
    downscaled to it, keeping the aspect ratio (``None`` keeps the full size).
    """
    if max_side is not None and max_side < 1:
        raise ValueError(f"max_side must be positive or None, got {max_side}")
    if isinstance(source, np.ndarray):
        return _downscale(_array_to_rgb(source), max_side)

    if isinstance(source, Image.Image):
        name, head = "the image", b""
        opened: contextlib.AbstractContextManager[Image.Image] | None = contextlib.nullcontext(source)
        stream: BinaryIO | str | None = None
    elif isinstance(source, (bytes, bytearray, memoryview)):
        name, head, opened = "the uploaded file", bytes(source[:16]), None
        if len(source) == 0:
            raise InputError(f"{name} is empty (0 bytes): {IMAGE_HINT}")
        stream = io.BytesIO(bytes(source))
    else:
        path = _check_readable(source, IMAGE_HINT)
        name, opened, stream = _display_name(path), None, str(path)
        with open(path, "rb") as f:
            head = f.read(16)
    if _is_heif(head):
        raise InputError(f"{name} is a HEIC/HEIF/AVIF photo, which is not supported: "
                         "export it as JPEG (on iPhone: Settings › Camera › Formats › Most Compatible)")
    try:
        # Image.open reads the header only. Pillow raises DecompressionBombError above twice its
        # own pixel limit (and warns above it, which our smaller cap then refuses); changing its
        # global limit or the warning filters is not thread-safe, so neither is touched here.
        if opened is None:
            assert stream is not None
            opened = Image.open(stream)
        with opened as im:
            width, height = im.size
            if width * height > max_pixels:
                raise InputError(
                    f"{name} is too large ({width}×{height} = {width * height / 1e6:.0f} megapixels, "
                    f"the limit is {max_pixels / 1e6:.0f}): upload a smaller photo"
                )
            if im.format == "JPEG" and max_side is not None:
                im.draft(None, (max_side, max_side))  # decode at a reduced DCT scale, still ≥ max_side
            rgb = _to_rgb_array(ImageOps.exif_transpose(im))
    except InputError:
        raise
    except Image.DecompressionBombError as exc:
        raise InputError(f"{name} declares an enormous size and looks like a decompression bomb: "
                         f"{IMAGE_HINT} of normal size") from exc
    except UnidentifiedImageError as exc:
        kind = _media_kind(stream) if isinstance(stream, str) else None
        if kind in ("video", "audio"):
            what = "a video" if kind == "video" else "a sound file"
            raise InputError(f"{name} is {what}, not a photo: {IMAGE_HINT}") from exc
        raise InputError(f"{name} is not an image that can be read: {IMAGE_HINT}") from exc
    except (OSError, ValueError, SyntaxError, EOFError) as exc:  # truncated or corrupt data
        raise InputError(f"{name} is damaged or incomplete ({exc}): {IMAGE_HINT}") from exc
    if rgb.shape[0] == 0 or rgb.shape[1] == 0:
        raise InputError(f"{name} is empty (0 pixels): {IMAGE_HINT}")
    return _downscale(rgb, max_side)


def _media_kind(path: str) -> str | None:
    """What ffmpeg makes of a file Pillow cannot open ("video", "audio"...), None when nothing."""
    try:
        return probe(path).kind
    except InputError:
        return None


def save_image(path: str | os.PathLike, image: np.ndarray) -> Path:
    """Write an ``H×W×3`` uint8 RGB array (format from the suffix), atomically."""
    image = _array_to_rgb(np.asarray(image))
    path = Path(path)
    fmt = Image.registered_extensions().get(path.suffix.lower())
    if fmt is None:
        raise ValueError(f"unknown image format for {path.name}: use .png, .jpg, .webp or .bmp")
    with _atomic_output(path) as tmp:
        Image.fromarray(image).save(tmp, format=fmt)
    return path
