"""Video in: frames as displayed (phone rotation applied) at a constant rate, with the clip's sound."""

from __future__ import annotations

import logging
import math
import os
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from talkinghead.errors import InputError
from talkinghead.media.audio import SAMPLE_RATE, _decode_audio, fit_length
from talkinghead.media.ffmpeg import MAX_FPS, MediaInfo, _rate_arg, _reason, ffmpeg_exe, probe
from talkinghead.media.files import _check_readable, _display_name
from talkinghead.media.images import _fit_side

logger = logging.getLogger(__name__)

VIDEO_HINT = "upload a video of someone talking or singing (MP4, MOV, WebM, AVI or GIF)"


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
