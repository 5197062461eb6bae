"""Media I/O: images, audio and video in and out, through Pillow and the ffmpeg binary of imageio-ffmpeg.

Everything the rest of the package sees is plain numpy:

* images: ``H×W×3`` uint8 RGB, EXIF orientation applied, transparency composited on white;
* audio: float32 mono at :data:`SAMPLE_RATE` (16 kHz);
* video: a :class:`VideoClip` of ``T×H×W×3`` uint8 RGB frames at a fixed frame rate, as the
  video is *displayed* (phone rotation applied), with its audio track when it has one.

Every bad upload becomes an :class:`~talkinghead.errors.InputError` whose message names the
problem and the fix. ffmpeg is always called with an argument list, its exit code is checked,
and every file we write appears atomically (temporary file in the same folder, then rename), so
a failure never leaves a half-written file behind.

There is no ffprobe in imageio-ffmpeg, so :func:`probe` reads the stream description that
``ffmpeg -i FILE`` prints on stderr.
"""

from __future__ import annotations

import contextlib
import io
import logging
import math
import os
import re
import shutil
import subprocess
import tempfile
import wave
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from pathlib import Path
from typing import IO, BinaryIO, Literal

import imageio_ffmpeg
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from talkinghead.errors import InputError

logger = logging.getLogger(__name__)

SAMPLE_RATE = 16000  # Hz; every audio array in the package is mono float32 at this rate

DEFAULT_MAX_PIXELS = 64_000_000  # refuse larger images before decoding (8000×8000, ~190 MB as RGB)
DEFAULT_MAX_SIDE = 2048  # longer side images are downscaled to by default
SILENCE_PEAK = 1e-3  # peak amplitude (−60 dBFS) under which a recording counts as silent
AAC_RATE = 48000  # Hz; the AAC track of written videos (the rate every browser and player expects)
AAC_BITRATE = "128k"
PROBE_TIMEOUT_S = 60.0  # reading a header never takes this long; a file that does is hostile
MAX_FPS = 240.0  # rates above this in a header are time bases, not frame rates

IMAGE_HINT = "upload a JPEG, PNG, WebP or BMP photo"
AUDIO_HINT = "upload a speech or song recording (WAV, MP3, M4A, OGG or FLAC) or a video with sound"
VIDEO_HINT = "upload a video of someone talking or singing (MP4, MOV, WebM, AVI or GIF)"
MEDIA_HINT = "upload a photo, a recording or a video in a common format (JPEG, PNG, WAV, MP3, MP4...)"

ImageSource = str | os.PathLike | bytes | np.ndarray | Image.Image


# --------------------------------------------------------------------------------------- ffmpeg


@lru_cache(maxsize=1)
def ffmpeg_exe() -> str:
    """Path of the ffmpeg binary shipped with imageio-ffmpeg (or ``$IMAGEIO_FFMPEG_EXE``)."""
    return imageio_ffmpeg.get_ffmpeg_exe()


def _tail(text: str | bytes, n_lines: int = 15, path: str | os.PathLike | None = None) -> str:
    """The last lines of ffmpeg's stderr, with the (temporary, server-side) path shortened to its name."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    if path is not None:
        text = text.replace(str(path), _display_name(path))
    lines = [line for line in text.replace("\r", "\n").splitlines() if line.strip()]
    return "\n".join(lines[-n_lines:])


_LOG_PREFIX = re.compile(r"^(\[[^\]]*\] ?)+")  # "[vist#0:0/h264 @ 0x55…] [dec:h264 @ 0x55…] "


_LOG_NOISE = ("Terminating thread", "Task finished with error", "Conversion failed", "At least one output file",
              "Could not open encoder")
# Summary lines ffmpeg prints after the specific error; used only when nothing more specific is there.
_LOG_GENERIC = ("Error opening input", "Nothing was written")


def _reason(stderr: str | bytes, path: str | os.PathLike) -> str:
    """ffmpeg's most specific error line, without its internal prefixes, for a user-facing message."""
    lines = [_LOG_PREFIX.sub("", line).strip() for line in _tail(stderr, 8, path).splitlines()]
    lines = [line for line in lines if line and not line.startswith(_LOG_NOISE)]
    specific = [line for line in lines if not line.startswith(_LOG_GENERIC)]
    reason = (specific or lines or ["no details"])[-1]
    return reason if len(reason) <= 240 else reason[:237] + "..."


def _display_name(path: str | os.PathLike) -> str:
    """The file name a user recognises (upload paths are long temporary folders)."""
    return Path(path).name or str(path)


def _check_readable(path: str | os.PathLike, hint: str) -> Path:
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path} does not exist: check the path, or {hint}")
    if not path.is_file():
        raise InputError(f"{path} is not a file: {hint}")
    if path.stat().st_size == 0:
        raise InputError(f"{_display_name(path)} is empty (0 bytes): {hint}")
    return path


# ---------------------------------------------------------------------------------------- probe


@dataclass(frozen=True)
class MediaInfo:
    """What ``ffmpeg -i`` says about a file: its kind and the streams it holds."""

    kind: Literal["image", "video", "audio"]  # still picture, moving picture, or sound only
    container: str  # ffmpeg demuxer names, e.g. "mov,mp4,m4a,3gp,3g2,mj2"
    duration: float | None  # seconds (container); None when the header does not say
    has_video: bool  # a real video/picture stream (cover art of a song does not count)
    width: int | None  # display width: rotation and non-square pixels applied
    height: int | None  # display height
    fps: float | None  # average frame rate of the video stream
    rotation: int  # display rotation in degrees (counter-clockwise), 0 when none
    video_codec: str | None  # e.g. "h264"
    pix_fmt: str | None  # e.g. "yuv420p"
    has_audio: bool
    audio_codec: str | None  # e.g. "aac"
    audio_rate: int | None  # Hz
    audio_channels: str | None  # channel layout, e.g. "mono", "stereo", "5.1(side)"

    @property
    def frame_count_estimate(self) -> int | None:
        """Frames expected from duration × fps (None when either is unknown)."""
        if self.duration is None or self.fps is None:
            return None
        return max(1, round(self.duration * self.fps))


_SPLIT_FIELDS = re.compile(r",\s*(?![^()]*\))")  # commas outside parentheses
_STREAM_LINE = re.compile(r"^\s*Stream #0:(\d+)\S*: (Video|Audio|Subtitle|Data|Attachment): (.*)$")
_SIZE = re.compile(r"^(\d+)x(\d+)(?:\s|$)")
_SAR = re.compile(r"\bSAR (\d+):(\d+)")
_RATE = re.compile(r"^([\d.]+)(k?) (fps|tbr)$")
_DURATION = re.compile(r"Duration: (\d+):(\d+):(\d+(?:\.\d+)?)")
_NTSC_RATES = (24000 / 1001, 30000 / 1001, 48000 / 1001, 60000 / 1001, 120000 / 1001)
_ROTATION = re.compile(r"rotation of (-?[\d.]+) degrees|^\s*rotate\s*:\s*(-?\d+)", re.IGNORECASE | re.MULTILINE)


def _parse_rate(fields: list[str], unit: str) -> float | None:
    for field in fields:
        m = _RATE.match(field.strip())
        if m and m.group(3) == unit:
            value = float(m.group(1)) * (1000.0 if m.group(2) else 1.0)
            return value if value > 0 else None
    return None


def _parse_streams(text: str) -> list[tuple[str, list[str], str]]:
    """``(kind, fields, block)`` per input stream; block = the stream line and its indented details."""
    streams: list[tuple[str, list[str], str]] = []
    lines = text.splitlines()
    in_input = False
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("Input #0"):
            in_input = True
        elif line.startswith(("Output #", "Stream mapping")):
            break
        m = _STREAM_LINE.match(line) if in_input else None
        if m is None:
            i += 1
            continue
        indent = len(line) - len(line.lstrip())
        block = [line]
        i += 1
        while i < len(lines) and (len(lines[i]) - len(lines[i].lstrip())) > indent:
            block.append(lines[i])
            i += 1
        streams.append((m.group(2), _SPLIT_FIELDS.split(m.group(3)), "\n".join(block)))
    return streams


def parse_probe(text: str, name: str = "the file", hint: str = MEDIA_HINT) -> MediaInfo:
    """Parse the stderr of ``ffmpeg -i FILE`` into a :class:`MediaInfo` (see :func:`probe`).

    ``name`` and ``hint`` (what the user should do instead) go into the error messages.
    """
    m = re.search(r"^Input #0, (.+?), from ", text, re.MULTILINE)
    if m is None:
        reason = _reason(text, name)
        raise InputError(
            f"{name} is not a media file that can be read ({reason}): {hint}"
        )
    container = m.group(1)
    d = _DURATION.search(text)
    duration = int(d.group(1)) * 3600 + int(d.group(2)) * 60 + float(d.group(3)) if d else None

    video = audio = None
    for kind, fields, block in _parse_streams(text):
        if kind == "Video" and video is None and "(attached pic)" not in block:
            video = (fields, block)
        elif kind == "Audio" and audio is None:
            audio = (fields, block)

    width = height = None
    fps = None
    rotation = 0
    video_codec = pix_fmt = None
    if video is not None:
        fields, block = video
        video_codec = fields[0].split()[0] if fields[0].split() else None
        pix_fmt = fields[1].split("(")[0].strip() if len(fields) > 1 else None
        for field in fields[1:]:
            s = _SIZE.match(field.strip())
            if s:
                width, height = int(s.group(1)), int(s.group(2))
                sar = _SAR.search(block.splitlines()[0])
                if sar and int(sar.group(1)) > 0 and int(sar.group(2)) > 0:
                    num, den = int(sar.group(1)), int(sar.group(2))
                    if num != den:  # non-square pixels: ffmpeg displays them stretched horizontally
                        width = max(1, round(width * num / den))
                break
        fps = _parse_rate(fields, "fps")
        if fps is None or fps > MAX_FPS:
            tbr = _parse_rate(fields, "tbr")
            fps = tbr if tbr is not None and tbr <= MAX_FPS else None
        if fps is not None:  # the header rounds to 2 decimals: 23.98 is 24000/1001, 29.97 is 30000/1001
            fps = next((r for r in _NTSC_RATES if abs(fps - r) < 0.006), fps)
        r = _ROTATION.search(block)
        if r:
            rotation = round(float(r.group(1) or r.group(2))) % 360
        if width is not None and height is not None and rotation in (90, 270):
            width, height = height, width

    audio_codec = audio_channels = None
    audio_rate = None
    if audio is not None:
        fields, _ = audio
        audio_codec = fields[0].split()[0] if fields[0].split() else None
        for field in fields[1:]:
            hz = re.match(r"^(\d+) Hz$", field.strip())
            if hz:
                audio_rate = int(hz.group(1))
        if len(fields) > 2:
            audio_channels = fields[2].strip()

    has_video = video is not None and width is not None
    if has_video:
        single_frame = duration is not None and fps is not None and duration * fps < 1.5
        is_image = container.endswith("_pipe") or container in ("image2", "image2pipe")
        if is_image or (single_frame and audio is None):
            kind: Literal["image", "video", "audio"] = "image"
        else:
            kind = "video"
    elif audio is not None:
        kind = "audio"
    else:
        raise InputError(f"{name} holds neither pictures nor sound that can be read: {hint}")
    return MediaInfo(
        kind=kind,
        container=container,
        duration=duration,
        has_video=has_video,
        width=width,
        height=height,
        fps=fps,
        rotation=rotation,
        video_codec=video_codec,
        pix_fmt=pix_fmt,
        has_audio=audio is not None,
        audio_codec=audio_codec,
        audio_rate=audio_rate,
        audio_channels=audio_channels,
    )


def probe(path: str | os.PathLike, *, hint: str = MEDIA_HINT) -> MediaInfo:
    """Describe a media file: kind (image/video/audio), display size, fps, duration, audio track.

    Callers use it to decide what an upload is before decoding it (a still photo given as a
    style clip, a video given as the audio...). Raises :class:`InputError` for a missing, empty
    or non-media file; ``hint`` is the advice its message ends with.
    """
    path = _check_readable(path, hint)
    try:
        result = subprocess.run(
            [ffmpeg_exe(), "-nostdin", "-hide_banner", "-i", str(path)],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=PROBE_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired as exc:
        raise InputError(f"{_display_name(path)} could not be read in {PROBE_TIMEOUT_S:.0f} s: "
                         f"{hint}") from exc
    # Without an output file ffmpeg always exits with 1; the header on stderr is what counts.
    text = result.stderr.decode("utf-8", "replace").replace(str(path), _display_name(path))
    return parse_probe(text, _display_name(path), hint)


def video_duration(path: str | os.PathLike) -> float:
    """Container duration of a media file in seconds (InputError when the header has none)."""
    info = probe(path)
    if info.duration is None:
        raise InputError(f"{_display_name(path)} does not state its duration: re-encode it as MP4")
    return info.duration


# ---------------------------------------------------------------------------------------- images


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


# ----------------------------------------------------------------------------------------- audio


def _to_float_samples(samples: np.ndarray) -> np.ndarray:
    """Integer PCM or float samples → float32 in [-1, 1] (channels kept)."""
    a = np.asarray(samples)
    if a.dtype == np.uint8:
        return (a.astype(np.float32) - 128.0) / 128.0
    if np.issubdtype(a.dtype, np.signedinteger):
        return (a.astype(np.float64) / float(2 ** (8 * a.dtype.itemsize - 1))).astype(np.float32)
    if np.issubdtype(a.dtype, np.floating):
        return a.astype(np.float32)
    raise ValueError(f"audio samples must be integer PCM or float, got {a.dtype}")


def _check_audio(audio: np.ndarray, name: str) -> np.ndarray:
    if audio.size == 0:
        raise InputError(f"{name} contains no audio samples: {AUDIO_HINT}")
    if not np.all(np.isfinite(audio)):
        raise InputError(f"{name} contains invalid samples (NaN or infinity): {AUDIO_HINT}")
    peak = float(np.max(np.abs(audio)))
    if peak < SILENCE_PEAK:
        level = "holds only digital silence" if peak == 0 else f"peaks at {20 * math.log10(peak):.0f} dBFS"
        raise InputError(f"the audio is silent: {name} {level}; {AUDIO_HINT}")
    return audio


def _decode_audio(path: Path, name: str, *, max_seconds: float | None = None) -> np.ndarray:
    """First audio stream → float32 mono 16 kHz, no checks on the content."""
    cmd = [ffmpeg_exe(), "-nostdin", "-hide_banner", "-loglevel", "error", "-i", str(path),
           "-map", "0:a:0", "-vn", "-sn", "-dn"]
    if max_seconds is not None:
        cmd += ["-t", f"{max_seconds:.6f}"]
    # rematrix_maxval 1 makes the down-mix an average (plain -ac 1 sums stereo at 1/√2 each, so
    # identical full-scale channels would come out at 1.41).
    cmd += ["-rematrix_maxval", "1", "-ac", "1", "-ar", str(SAMPLE_RATE), "-f", "f32le", "-"]
    result = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True)
    if result.returncode != 0:
        raise InputError(
            f"{name} could not be decoded as audio ({_reason(result.stderr, path)}): {AUDIO_HINT}"
        )
    n = len(result.stdout) // 4
    return np.frombuffer(result.stdout[: 4 * n], dtype="<f4").astype(np.float32)


def load_audio(path: str | os.PathLike, *, max_seconds: float | None = None) -> np.ndarray:
    """Decode any audio file, or the sound of a video, to float32 mono at :data:`SAMPLE_RATE`.

    WAV of any bit depth and rate, MP3, M4A/AAC, OGG (Vorbis/Opus), FLAC, and the audio track
    of MP4/MOV/WebM/... all go through ffmpeg. Channels are averaged. ``max_seconds`` keeps only
    the beginning. Raises :class:`InputError` for a file with no audio track, an undecodable
    file, or a silent recording.
    """
    path = _check_readable(path, AUDIO_HINT)
    name = _display_name(path)
    info = probe(path, hint=AUDIO_HINT)
    if not info.has_audio:
        what = "an image" if info.kind == "image" else "a video without sound" if info.has_video else "a file"
        raise InputError(f"{name} has no audio track (it is {what}): {AUDIO_HINT}")
    if max_seconds is not None and max_seconds <= 0:
        raise ValueError(f"max_seconds must be positive, got {max_seconds}")
    audio = _decode_audio(path, name, max_seconds=max_seconds)
    return _check_audio(audio, name)


def resample(audio: np.ndarray, rate: int, target_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Band-limited polyphase resampling (scipy ``resample_poly``) of a 1-D float signal."""
    if rate == target_rate:
        return np.asarray(audio, dtype=np.float32)
    from scipy.signal import resample_poly

    g = math.gcd(int(rate), int(target_rate))
    out = resample_poly(np.asarray(audio, dtype=np.float64), target_rate // g, int(rate) // g)
    return out.astype(np.float32)


def load_audio_array(
    samples: np.ndarray, rate: int, *, max_seconds: float | None = None, name: str = "the recording"
) -> np.ndarray:
    """An in-memory recording (Gradio's ``(rate, samples)``) → float32 mono at :data:`SAMPLE_RATE`.

    ``samples`` is 1-D or ``n×channels`` (``channels×n`` is recognised when the first axis is
    the short one), integer PCM (int16/int32/uint8) or float. Same checks as :func:`load_audio`.
    """
    if not isinstance(rate, (int, np.integer)) or rate <= 0:
        raise InputError(f"{name} has an invalid sample rate ({rate!r}): {AUDIO_HINT}")
    a = _to_float_samples(np.asarray(samples))
    if a.ndim == 2:
        if a.shape[0] <= 8 < a.shape[1]:
            a = a.T  # channels × n → n × channels
        a = a.mean(axis=1)
    elif a.ndim != 1:
        raise ValueError(f"audio samples must be 1-D or n×channels, got shape {a.shape}")
    if max_seconds is not None:
        a = a[: int(round(max_seconds * rate))]
    _check_audio(a, name)
    return _check_audio(resample(a, int(rate)), name)


def save_wav(path: str | os.PathLike, audio: np.ndarray, rate: int = SAMPLE_RATE) -> Path:
    """Write mono float audio in [-1, 1] as a 16-bit PCM WAV file, atomically."""
    a = np.asarray(audio, dtype=np.float64)
    if a.ndim != 1:
        raise ValueError(f"save_wav writes mono audio: expected a 1-D array, got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError("audio contains NaN or infinity")
    pcm = np.clip(np.rint(a * 32767.0), -32768, 32767).astype("<i2")
    path = Path(path)
    with _atomic_output(path) as tmp, wave.open(str(tmp), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(int(rate))
        w.writeframes(pcm.tobytes())
    return path


# ----------------------------------------------------------------------------------------- video


@dataclass
class VideoClip:
    """Decoded frames at a fixed rate, as displayed, with the clip's sound when it has one."""

    frames: np.ndarray  # T×H×W×3 uint8 RGB
    fps: float  # frames per second (constant; variable-rate sources are resampled to it)
    audio: np.ndarray | None  # float32 mono at SAMPLE_RATE, exactly `duration` long; None without a track
    duration: float  # seconds = T / fps
    truncated: bool = False  # True when max_frames/max_seconds cut the clip short

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of the frames."""
        return int(self.frames.shape[2]), int(self.frames.shape[1])

    def __len__(self) -> int:
        return int(self.frames.shape[0])


def _output_size(info: MediaInfo, target_size: int | tuple[int, int] | None) -> tuple[int, int]:
    assert info.width is not None and info.height is not None
    if target_size is None:
        return info.width, info.height
    if isinstance(target_size, (int, np.integer)):
        if target_size < 1:
            raise ValueError(f"target_size must be positive, got {target_size}")
        return _fit_side(info.width, info.height, int(target_size))
    w, h = (int(v) for v in target_size)
    if w < 1 or h < 1:
        raise ValueError(f"target_size must be positive, got {target_size}")
    return w, h


def _rate_arg(fps: float) -> str:
    """A frame rate as the exact fraction ffmpeg expects (29.97 → 30000/1001)."""
    frac = Fraction(fps).limit_denominator(1001)
    return f"{frac.numerator}/{frac.denominator}"


def _video_info(path: str | os.PathLike) -> tuple[Path, MediaInfo]:
    path = _check_readable(path, VIDEO_HINT)
    name = _display_name(path)
    info = probe(path, hint=VIDEO_HINT)
    if info.kind == "image":
        raise InputError(f"{name} is a still image, not a video clip: {VIDEO_HINT}")
    if not info.has_video:
        raise InputError(f"{name} has no video track (it is audio only): {VIDEO_HINT}")
    return path, info


def iter_video_frames(
    path: str | os.PathLike,
    *,
    fps: float | None = None,
    target_size: int | tuple[int, int] | None = None,
    max_frames: int | None = None,
    info: MediaInfo | None = None,
) -> Iterator[np.ndarray]:
    """Stream the frames of a video (``H×W×3`` uint8 RGB each) without holding them all in memory.

    Frames are resampled to a constant ``fps`` (default: the file's average rate) and rotated as
    the video is displayed. ``target_size`` is an int (downscale so the longer side is at most
    that many pixels) or an exact ``(width, height)``. ``max_frames`` stops early.
    """
    if info is None:
        path, info = _video_info(path)
    else:
        path = Path(path)
    name = _display_name(path)
    rate = float(fps if fps is not None else info.fps or 25.0)
    if not (math.isfinite(rate) and 0 < rate <= MAX_FPS):
        raise ValueError(f"fps must be in (0, {MAX_FPS:.0f}], got {rate}")
    width, height = _output_size(info, target_size)
    flags = "area" if width * height < (info.width or 0) * (info.height or 0) else "bicubic"
    # ffmpeg rotates phone videos before the filters run, so the scale target is the display size;
    # the fps filter turns variable frame rate into a constant one.
    vf = f"fps=fps={_rate_arg(rate)}:round=near,scale={width}:{height}:flags={flags},setsar=1"
    cmd = [ffmpeg_exe(), "-nostdin", "-hide_banner", "-loglevel", "error", "-i", str(path),
           "-map", "0:v:0", "-an", "-sn", "-dn", "-vf", vf]
    if max_frames is not None:
        cmd += ["-frames:v", str(int(max_frames))]
    cmd += ["-f", "rawvideo", "-pix_fmt", "rgb24", "-"]
    frame_bytes = width * height * 3
    n = 0
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err)
        try:
            assert proc.stdout is not None
            while True:
                frame = np.empty((height, width, 3), dtype=np.uint8)
                view = memoryview(frame).cast("B")
                got = 0
                while got < frame_bytes:
                    k = proc.stdout.readinto(view[got:])
                    if not k:
                        break
                    got += k
                if got < frame_bytes:
                    break  # end of stream (a partial frame only comes from a killed process)
                n += 1
                yield frame
            rc = proc.wait()
        finally:
            if proc.poll() is None:  # the consumer stopped early
                proc.kill()
                proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()
        err.seek(0)
        stderr = err.read()
    if rc != 0:
        if n == 0:
            raise InputError(f"{name} has no decodable video frames ({_reason(stderr, path)}): {VIDEO_HINT}")
        logger.warning("%s: ffmpeg stopped with errors after %d frames: %s", name, n, _reason(stderr, path))
    elif n == 0:
        raise InputError(f"{name} contains no video frames: {VIDEO_HINT}")


def load_video(
    path: str | os.PathLike,
    *,
    max_frames: int | None = None,
    max_seconds: float | None = None,
    target_size: int | tuple[int, int] | None = None,
    fps: float | None = None,
    with_audio: bool = True,
) -> VideoClip:
    """Decode a clip (MP4, MOV, WebM, AVI, GIF...) into a :class:`VideoClip`.

    Frames are as displayed (phone rotation applied) at a constant rate: ``fps`` or the file's
    average rate. ``max_frames``/``max_seconds`` cap the length (``truncated`` says whether they
    cut anything); ``target_size`` as in :func:`iter_video_frames`. The audio track, if any, is
    decoded to 16 kHz mono and padded/trimmed to exactly the frames' duration (a silent track is
    kept as is: style clips may well be silent). Raises :class:`InputError` for a still image,
    an audio-only file, an undecodable file or one with no frames.
    """
    path, info = _video_info(path)
    name = _display_name(path)
    rate = float(fps if fps is not None else info.fps or 25.0)
    limit: int | None = None
    if max_frames is not None:
        if max_frames < 1:
            raise ValueError(f"max_frames must be at least 1, got {max_frames}")
        limit = int(max_frames)
    if max_seconds is not None:
        if max_seconds <= 0:
            raise ValueError(f"max_seconds must be positive, got {max_seconds}")
        by_time = max(1, math.floor(max_seconds * rate + 1e-6))
        limit = by_time if limit is None else min(limit, by_time)

    width, height = _output_size(info, target_size)
    estimate = info.frame_count_estimate
    capacity = (limit + 1) if limit is not None else max(16, int((estimate or 0) * 1.05) + 2)
    if estimate is not None:
        capacity = min(capacity, int(estimate * 1.05) + 2)
    frames = np.empty((capacity, height, width, 3), dtype=np.uint8)
    n = 0
    # One frame past the cap tells whether the cap cut anything.
    for frame in iter_video_frames(path, fps=rate, target_size=(width, height),
                                   max_frames=None if limit is None else limit + 1, info=info):
        if n == len(frames):
            grown = np.empty((max(2 * n, 16), height, width, 3), dtype=np.uint8)
            grown[:n] = frames
            frames = grown
        frames[n] = frame
        n += 1
    truncated = limit is not None and n > limit
    if truncated:
        n = limit  # type: ignore[assignment]
    frames = frames[:n] if n == len(frames) or n > 0.9 * len(frames) else frames[:n].copy()
    duration = n / rate

    audio = None
    if with_audio and info.has_audio:
        try:
            audio = _decode_audio(path, name, max_seconds=duration)
        except InputError as exc:
            logger.warning("%s: audio track ignored: %s", name, exc)
        if audio is not None:
            audio = fit_length(audio, round(duration * SAMPLE_RATE))
    return VideoClip(frames=frames, fps=rate, audio=audio, duration=duration, truncated=truncated)


def fit_length(audio: np.ndarray, n_samples: int) -> np.ndarray:
    """Pad with silence or trim so that ``len(audio) == n_samples``."""
    audio = np.asarray(audio, dtype=np.float32)
    if len(audio) >= n_samples:
        return audio[:n_samples]
    return np.concatenate([audio, np.zeros(n_samples - len(audio), dtype=np.float32)])


# ---------------------------------------------------------------------------------------- writer


@contextlib.contextmanager
def _atomic_output(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it to ``path`` on success, delete it on failure."""
    path = Path(path)
    if not path.parent.is_dir():
        raise FileNotFoundError(f"output folder {path.parent} does not exist")
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=f".part{path.suffix}")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _check_frame(frame: object, shape: tuple[int, ...] | None, index: int) -> np.ndarray:
    a = np.asarray(frame)
    if a.dtype != np.uint8 or a.ndim != 3 or a.shape[2] != 3:
        raise ValueError(f"frame {index} must be an H×W×3 uint8 array, got {a.dtype} {a.shape}")
    if shape is not None and a.shape != shape:
        raise ValueError(f"frame {index} has shape {a.shape}, the first frame {shape}: all frames must match")
    return a


class VideoWriter:
    """One MP4 written frame by frame: H.264 yuv420p (+ AAC audio), fast start, browser-safe.

    ``write`` pipes each ``H×W×3`` uint8 frame straight into libx264 (nothing is held in memory,
    so several writers can be fed from one render pass); ``close`` adds the audio — padded with
    silence or trimmed to exactly ``frames / fps`` seconds — and renames the finished file into
    place. Odd sizes are padded by one repeated row/column. Used as a context manager, an
    exception inside the block (or :meth:`abort`) leaves nothing behind; ffmpeg's own failures
    raise :class:`RuntimeError` with its message.
    """

    def __init__(self, path: str | os.PathLike, fps: float, *, audio: np.ndarray | None = None,
                 audio_rate: int = SAMPLE_RATE, crf: int = 18, preset: str = "medium") -> None:
        if not (math.isfinite(fps) and 0 < fps <= MAX_FPS):
            raise ValueError(f"fps must be in (0, {MAX_FPS:.0f}], got {fps}")
        if not 0 <= crf <= 51:
            raise ValueError(f"crf must be in [0, 51], got {crf}")
        if audio is not None:
            audio = np.asarray(audio, dtype=np.float32)
            if audio.ndim != 1:
                raise ValueError(f"audio must be mono (1-D), got shape {audio.shape}")
            if not np.all(np.isfinite(audio)):
                raise ValueError("audio contains NaN or infinity")
        self.path = Path(path)
        if not self.path.parent.is_dir():
            raise FileNotFoundError(f"output folder {self.path.parent} does not exist")
        self.fps, self.audio, self.audio_rate, self.crf, self.preset = fps, audio, audio_rate, crf, preset
        self.frames = 0
        self._shape: tuple[int, ...] | None = None
        self._proc: subprocess.Popen | None = None
        self._err: IO[bytes] | None = None
        self._work = tempfile.TemporaryDirectory(prefix="talkinghead-video-")
        self._video = Path(self._work.name) / "video.mp4"

    def _start(self, shape: tuple[int, ...]) -> None:
        h, w = shape[:2]
        cmd = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y",
               "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w + w % 2}x{h + h % 2}",
               "-framerate", _rate_arg(self.fps), "-i", "-", "-an",
               # Convert with the BT.709 matrix and say so in the stream, so every player shows the
               # same colours (untagged streams are interpreted differently by different browsers).
               "-vf", "scale=out_color_matrix=bt709:out_range=tv,format=yuv420p,"
                      "setparams=color_primaries=bt709:color_trc=bt709:colorspace=bt709:range=tv",
               "-c:v", "libx264", "-preset", self.preset, "-crf", str(int(self.crf)), "-pix_fmt", "yuv420p",
               "-movflags", "+faststart", "-f", "mp4", str(self._video)]
        self._err = tempfile.TemporaryFile()
        self._proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=self._err)
        self._shape = shape

    def _failure(self, what: str) -> RuntimeError:
        rc = self._proc.wait() if self._proc is not None else None
        stderr = b""
        if self._err is not None:
            self._err.seek(0)
            stderr = self._err.read()
        self.abort()
        return RuntimeError(f"ffmpeg failed to {what} (exit code {rc}):\n{_tail(stderr)}")

    def write(self, frame: np.ndarray) -> None:
        a = _check_frame(frame, self._shape, self.frames)
        if self._proc is None:
            self._start(a.shape)
        h, w = a.shape[:2]
        if h % 2 or w % 2:  # yuv420p needs even sides: repeat the last row/column
            a = np.pad(a, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")
        try:
            self._proc.stdin.write(memoryview(np.ascontiguousarray(a)).cast("B"))  # type: ignore[union-attr]
        except BrokenPipeError:
            raise self._failure("encode the video") from None
        self.frames += 1

    def close(self) -> Path:
        """Finish the video (and its audio track) and move it into place; returns the path."""
        if self._proc is None:
            self.abort()
            raise ValueError("no frames to write")
        with contextlib.suppress(BrokenPipeError):
            self._proc.stdin.close()  # type: ignore[union-attr]
        if self._proc.wait() != 0:
            raise self._failure("encode the video")
        try:
            with _atomic_output(self.path) as tmp:
                if self.audio is None:
                    shutil.move(self._video, tmp)
                else:
                    n_samples = round(self.frames / self.fps * self.audio_rate)
                    pcm = np.clip(fit_length(self.audio, n_samples), -1.0, 1.0).astype("<f4")
                    cmd = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y",
                           "-i", str(self._video),
                           "-f", "f32le", "-ar", str(int(self.audio_rate)), "-ac", "1", "-i", "-",
                           "-map", "0:v:0", "-map", "1:a:0", "-c:v", "copy",
                           "-c:a", "aac", "-b:a", AAC_BITRATE, "-ar", str(AAC_RATE),
                           "-movflags", "+faststart", "-f", "mp4", str(tmp)]
                    result = subprocess.run(cmd, input=pcm.tobytes(), capture_output=True)
                    if result.returncode != 0:
                        raise RuntimeError(
                            f"ffmpeg failed to add the audio (exit code {result.returncode}):\n{_tail(result.stderr)}"
                        )
        finally:
            self.abort()
        return self.path

    def abort(self) -> None:
        """Stop the encoder and delete everything written so far (the final path is never created)."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()
        if self._proc is not None and self._proc.stdin is not None:
            with contextlib.suppress(BrokenPipeError):
                self._proc.stdin.close()
        if self._err is not None:
            self._err.close()
        self._work.cleanup()

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def write_video(
    path: str | os.PathLike,
    frames: Iterable[np.ndarray] | np.ndarray,
    fps: float,
    *,
    audio: np.ndarray | None = None,
    audio_rate: int = SAMPLE_RATE,
    crf: int = 18,
    preset: str = "medium",
) -> Path:
    """Write an MP4 that plays in every browser (see :class:`VideoWriter`).

    ``frames`` is a ``T×H×W×3`` uint8 array or any iterable of ``H×W×3`` uint8 frames; an
    iterator is streamed to the encoder, never held in memory. The file appears atomically; on
    failure nothing is left.
    """
    with VideoWriter(path, fps, audio=audio, audio_rate=audio_rate, crf=crf, preset=preset) as writer:
        for frame in frames:
            writer.write(frame)
    return writer.path
