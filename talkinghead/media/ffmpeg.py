"""The ffmpeg binary of imageio-ffmpeg: its path, its error messages, and probing a file with it.

ffmpeg is always called with an argument list and its exit code is checked. There is no ffprobe
in imageio-ffmpeg, so :func:`probe` reads the stream description that ``ffmpeg -i FILE`` prints on
stderr.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from typing import Literal

import imageio_ffmpeg

from talkinghead.errors import InputError
from talkinghead.media.files import _check_readable, _display_name

PROBE_TIMEOUT_S = 60.0  # reading a header never takes this long; a file that does is hostile
MAX_FPS = 240.0  # rates above this in a header are time bases, not frame rates

MEDIA_HINT = "upload a photo, a recording or a video in a common format (JPEG, PNG, WAV, MP3, MP4...)"


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


def _rate_arg(fps: float) -> str:
    """A frame rate as the exact fraction ffmpeg expects (29.97 → 30000/1001)."""
    frac = Fraction(fps).limit_denominator(1001)
    return f"{frac.numerator}/{frac.denominator}"


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
