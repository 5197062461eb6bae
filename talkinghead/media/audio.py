"""Sound in and out: every audio array in the package is float32 mono at :data:`SAMPLE_RATE`."""

from __future__ import annotations

import math
import os
import subprocess
import wave
from pathlib import Path

import numpy as np

from talkinghead.errors import InputError
from talkinghead.media.ffmpeg import _reason, ffmpeg_exe, probe
from talkinghead.media.files import _atomic_output, _check_readable, _display_name

SAMPLE_RATE = 16000  # Hz; every audio array in the package is mono float32 at this rate

SILENCE_PEAK = 1e-3  # peak amplitude (−60 dBFS) under which a recording counts as silent

AUDIO_HINT = "upload a speech or song recording (WAV, MP3, M4A, OGG or FLAC) or a video with sound"


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


def fit_length(audio: np.ndarray, n_samples: int) -> np.ndarray:
    """Pad with silence or trim so that ``len(audio) == n_samples``."""
    audio = np.asarray(audio, dtype=np.float32)
    if len(audio) >= n_samples:
        return audio[:n_samples]
    return np.concatenate([audio, np.zeros(n_samples - len(audio), dtype=np.float32)])
