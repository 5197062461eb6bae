"""Video out: browser-safe MP4 (H.264 yuv420p + AAC), streamed frame by frame, written atomically."""

from __future__ import annotations

import contextlib
import math
import os
import queue
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO

import numpy as np

from talkinghead.media.audio import SAMPLE_RATE, fit_length
from talkinghead.media.ffmpeg import MAX_FPS, _rate_arg, _tail, ffmpeg_exe
from talkinghead.media.files import _atomic_output

AAC_RATE = 48000  # Hz; the AAC track of written videos (the rate every browser and player expects)
AAC_BITRATE = "128k"


def _check_frame(frame: object, shape: tuple[int, ...] | None, index: int) -> np.ndarray:
    a = np.asarray(frame)
    if a.dtype != np.uint8 or a.ndim != 3 or a.shape[2] != 3:
        raise ValueError(f"frame {index} must be an H×W×3 uint8 array, got {a.dtype} {a.shape}")
    if shape is not None and a.shape != shape:
        raise ValueError(f"frame {index} has shape {a.shape}, the first frame {shape}: all frames must match")
    return a


def _widen_pipe(pipe: IO[bytes] | None, a_frame: int) -> None:
    """Let ``pipe`` hold up to a frame (Linux; 64 kB by default, so a 1920² frame took 85 hand-offs
    to ffmpeg). The system's cap (/proc/sys/fs/pipe-max-size, 1 MB by default) may keep it smaller."""
    try:
        import fcntl

        size = min(a_frame, int(Path("/proc/sys/fs/pipe-max-size").read_text()))
        fcntl.fcntl(pipe.fileno(), fcntl.F_SETPIPE_SZ, size)  # type: ignore[union-attr]
    except (ImportError, AttributeError, OSError, ValueError):
        pass  # another system: its default pipe


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
                 audio_rate: int = SAMPLE_RATE, crf: int = 18, preset: str = "medium",
                 x264_params: str | None = None) -> None:
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
        self.x264_params = x264_params  # e.g. "me=dia": libx264's own options, after the preset's
        self.frames = 0
        self._shape: tuple[int, ...] | None = None
        self._proc: subprocess.Popen | None = None
        self._err: IO[bytes] | None = None
        self._work = tempfile.TemporaryDirectory(prefix="talkinghead-video-")
        self._video = Path(self._work.name) / "video.mp4"

    def _start(self, shape: tuple[int, ...]) -> None:
        h, w = shape[:2]
        cmd = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y",
               "-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", f"{w + w % 2}x{h + h % 2}",
               "-framerate", _rate_arg(self.fps), "-i", "-", "-an",
               # The frames arrive as BT.601 limited-range YUV (see `write`); the stream says so,
               # so every player shows the same colours (untagged streams are read differently by
               # different browsers). sRGB's primaries are BT.709's.
               "-colorspace", "smpte170m", "-color_primaries", "bt709", "-color_trc", "bt709",
               "-color_range", "tv",
               "-c:v", "libx264", "-preset", self.preset, "-crf", str(int(self.crf)), "-pix_fmt", "yuv420p",
               *(["-x264-params", self.x264_params] if self.x264_params else []),
               "-movflags", "+faststart", "-f", "mp4", str(self._video)]
        self._err = tempfile.TemporaryFile()
        self._proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=self._err)
        _widen_pipe(self._proc.stdin, a_frame=(h + h % 2) * (w + w % 2) * 3 // 2)
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
        import cv2

        a = _check_frame(frame, self._shape, self.frames)
        if self._proc is None:
            self._start(a.shape)
        h, w = a.shape[:2]
        if h % 2 or w % 2:  # yuv420p needs even sides: repeat the last row/column
            a = np.pad(a, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")
        # RGB → YUV 4:2:0 here rather than in ffmpeg: OpenCV's SIMD conversion takes about 1 ms for
        # a 1920² frame where ffmpeg's scaler takes over 10, and half as many bytes go down the pipe.
        yuv = cv2.cvtColor(np.ascontiguousarray(a), cv2.COLOR_RGB2YUV_I420)
        try:
            self._proc.stdin.write(memoryview(yuv).cast("B"))  # type: ignore[union-attr]
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
    x264_params: str | None = None,
) -> Path:
    """Write an MP4 that plays in every browser (see :class:`VideoWriter`).

    ``frames`` is a ``T×H×W×3`` uint8 array or any iterable of ``H×W×3`` uint8 frames; an
    iterator is streamed to the encoder, never held in memory. The file appears atomically; on
    failure nothing is left.
    """
    with VideoWriter(path, fps, audio=audio, audio_rate=audio_rate, crf=crf, preset=preset,
                     x264_params=x264_params) as writer:
        for frame in frames:
            writer.write(frame)
    return writer.path


_DONE = object()


def write_in_background(frames: Iterable[np.ndarray], write: Callable[[np.ndarray], None], *, depth: int = 8) -> int:
    """Iterate ``frames`` in this thread (the producer: a renderer) while a second thread calls
    ``write`` on each (the encoders' side), so producing and encoding overlap on two cores.

    At most ``depth`` frames wait in between, so memory does not grow with the length. The first
    error on either side stops both and is raised here; returns the number of frames written."""
    pending: queue.Queue = queue.Queue(maxsize=depth)
    failure: list[BaseException] = []
    written = 0

    def consume() -> None:
        nonlocal written
        while (frame := pending.get()) is not _DONE:
            if failure:
                continue  # drain: the producer learns of the failure at its next put
            try:
                write(frame)
                written += 1
            except BaseException as exc:  # noqa: BLE001 - handed to the producer's thread
                failure.append(exc)

    worker = threading.Thread(target=consume, name="frame-writer", daemon=True)
    worker.start()
    try:
        for frame in frames:
            if failure:
                break
            pending.put(frame)
    finally:
        pending.put(_DONE)
        worker.join()
    if failure:
        raise failure[0]
    return written
