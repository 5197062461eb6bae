"""Audio front end (paper §5.1): 80-d log-mel spectrogram at 120 frames/s, aligned to video frames.

The paper computes "80-dimensional log Mel spectrograms with 1/120 s frameshift, 1/60 s frame
length and 512-point STFT". At 16 kHz the hop is 133⅓ samples and the window 266⅔ samples,
neither an integer. We frame at the *exact* times instead of rounding:

* Mel frame ``i`` is centred at ``t_i = i/120`` s, i.e. sample ``c_i = 400·i/3``. Its fractional
  part repeats with period 3 (0, ⅓, ⅔), so the spectrogram is three interleaved ``torch.stft``
  passes with an integer hop of 400 samples. Pass ``j`` starts ``⌊400·j/3⌋`` samples in and uses a
  Hann window of the exact length 266⅔ samples sampled at the offset ``frac(400·j/3)``, zero-padded
  to the 512-point FFT. No resampling, no rounding of frame times.
* Power spectrum normalised by the window sum (a full-scale sine has peak power 0.25), then a
  mel filterbank built here with librosa's default formulas: the **Slaney** mel scale (linear
  below 1 kHz, logarithmic above) and Slaney area normalisation (``librosa.filters.mel(sr=16000,
  n_fft=512, n_mels=80)``), 0–8 kHz. Then ``log(mel + eps)``.
* Level: before the spectrogram, :func:`normalise_level` scales the utterance so its active
  speech sits at -23 dBFS (gain clamped to [-20, +30] dB; near-silent input is left alone). This
  is a per-utterance gain only — relative loudness inside the utterance is kept, so a louder
  vowel still looks louder than a quiet one, and silence stays silence.

:func:`frame_windows` aligns mel frames to any video frame rate: output frame ``k`` sits at time
``k/fps`` (its presentation time) and gets a fixed window of ``2·context+1`` mel frames centred on
it, linearly interpolated at the exact fractional mel position and padded with the silence value
outside the clip. Output frame count: ``round(duration·fps)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch

from talkinghead.media import SAMPLE_RATE


@dataclass(frozen=True)
class MelConfig:
    """Log-mel front end (paper §5.1)."""

    sample_rate: int = SAMPLE_RATE  # input audio rate, Hz
    n_mels: int = 80  # mel bands
    n_fft: int = 512  # FFT points
    frame_rate: int = 120  # mel frames per second (hop 1/120 s)
    window_s: float = 1.0 / 60.0  # analysis window length, s (Hann)
    f_min: float = 0.0  # lowest filter edge, Hz
    f_max: float = 8000.0  # highest filter edge, Hz
    log_eps: float = 1e-10  # eps in log(mel + eps); ≈ 16-bit dither noise in the Slaney-normalised mel
    context: int = 24  # mel frames each side of an output frame (24/120 s = ±0.2 s)
    target_dbfs: float = -23.0  # active-speech level after normalise_level
    max_gain_db: float = 30.0  # most amplification normalise_level applies
    min_gain_db: float = -20.0  # most attenuation normalise_level applies
    silence_dbfs: float = -65.0  # input whose loudest 20 ms is below this is left as is

    def __post_init__(self) -> None:
        if (3 * self.sample_rate) % self.frame_rate:
            raise ValueError("3·sample_rate must be a multiple of frame_rate (the hop repeats every 3 frames)")
        if self.window_s * self.sample_rate > self.n_fft:
            raise ValueError("window longer than n_fft")
        if not 0 <= self.f_min < self.f_max <= self.sample_rate / 2:
            raise ValueError("need 0 ≤ f_min < f_max ≤ sample_rate/2")

    @property
    def hop(self) -> float:
        """Hop in samples (133⅓ at the defaults)."""
        return self.sample_rate / self.frame_rate

    @property
    def window_length(self) -> int:
        """Channels of one output frame's window: ``2·context + 1``."""
        return 2 * self.context + 1

    @property
    def silence_value(self) -> float:
        """The log-mel value of digital silence."""
        return math.log(self.log_eps)


DEFAULT_MEL = MelConfig()


# ---------------------------------------------------------------------------------------------
# Mel filterbank (Slaney / librosa formulas)

_F_SP = 200.0 / 3.0  # Hz per mel in the linear part
_MIN_LOG_HZ = 1000.0
_MIN_LOG_MEL = _MIN_LOG_HZ / _F_SP  # 15 mel
_LOGSTEP = math.log(6.4) / 27.0  # log-part step: 1 kHz·6.4 = 6.4 kHz is 27 mel above 1 kHz


def hz_to_mel(freq: np.ndarray | float) -> np.ndarray:
    """Slaney mel scale (librosa ``htk=False``): linear below 1 kHz, logarithmic above."""
    f = np.asarray(freq, dtype=np.float64)
    lin = f / _F_SP
    log = _MIN_LOG_MEL + np.log(np.maximum(f, 1e-10) / _MIN_LOG_HZ) / _LOGSTEP
    return np.where(f >= _MIN_LOG_HZ, log, lin)


def mel_to_hz(mel: np.ndarray | float) -> np.ndarray:
    """Inverse of :func:`hz_to_mel`."""
    m = np.asarray(mel, dtype=np.float64)
    return np.where(m >= _MIN_LOG_MEL, _MIN_LOG_HZ * np.exp(_LOGSTEP * (m - _MIN_LOG_MEL)), _F_SP * m)


@lru_cache(maxsize=8)
def mel_filterbank(cfg: MelConfig = DEFAULT_MEL) -> np.ndarray:
    """``n_mels × (n_fft/2+1)`` triangular filters, Slaney-normalised (each has area ``2/(f₊−f₋)``
    per Hz so band energies do not grow with bandwidth) — librosa's default ``filters.mel``."""
    fft_freqs = np.linspace(0.0, cfg.sample_rate / 2.0, cfg.n_fft // 2 + 1)
    edges = mel_to_hz(np.linspace(hz_to_mel(cfg.f_min), hz_to_mel(cfg.f_max), cfg.n_mels + 2))
    widths = np.diff(edges)
    ramps = edges[:, None] - fft_freqs[None, :]
    lower = -ramps[:-2] / widths[:-1, None]
    upper = ramps[2:] / widths[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper))
    weights *= (2.0 / (edges[2:] - edges[:-2]))[:, None]
    if np.any(weights.max(axis=1) <= 0):
        raise ValueError("empty mel filters: too many mel bands for this n_fft")
    weights.setflags(write=False)
    return weights


# ---------------------------------------------------------------------------------------------
# Spectrogram


def mel_frame_count(n_samples: int, cfg: MelConfig = DEFAULT_MEL) -> int:
    """Mel frames of a clip: every centre ``i·hop`` inside ``[0, n_samples]``."""
    return int(math.floor(n_samples * cfg.frame_rate / cfg.sample_rate + 1e-9)) + 1


def output_frame_count(n_samples: int, fps: float, cfg: MelConfig = DEFAULT_MEL) -> int:
    """Video frames for a clip: ``round(duration·fps)``, at least 1."""
    return max(1, int(round(n_samples / cfg.sample_rate * fps)))


@lru_cache(maxsize=8)
def _phase_windows(cfg: MelConfig) -> tuple[tuple[int, ...], torch.Tensor]:
    """Start offsets (samples) and ``3 × n_fft`` Hann windows for the three hop phases."""
    period = 3 * cfg.sample_rate // cfg.frame_rate  # samples per 3 frames (400)
    n = np.arange(cfg.n_fft, dtype=np.float64)
    length = cfg.window_s * cfg.sample_rate
    offsets, windows = [], []
    for j in range(3):
        centre = period * j / 3.0
        start = int(math.floor(centre))
        frac = centre - start
        u = (n - cfg.n_fft / 2 - frac) / length  # window position in [-½, ½] is inside
        w = np.where(np.abs(u) < 0.5, 0.5 + 0.5 * np.cos(2 * np.pi * u), 0.0)
        offsets.append(start)
        windows.append(w / w.sum())
    return tuple(offsets), torch.tensor(np.stack(windows), dtype=torch.float32)


def log_mel(audio: np.ndarray | torch.Tensor, cfg: MelConfig = DEFAULT_MEL) -> torch.Tensor:
    """``T_mel × n_mels`` log-mel spectrogram of 16 kHz mono audio (no level normalisation)."""
    x = torch.as_tensor(np.asarray(audio, dtype=np.float32)).flatten()
    n = x.numel()
    total = mel_frame_count(n, cfg)
    period = 3 * cfg.sample_rate // cfg.frame_rate
    offsets, windows = _phase_windows(cfg)
    fb = torch.tensor(mel_filterbank(cfg), dtype=torch.float32)
    half = cfg.n_fft // 2
    power = torch.zeros(total, cfg.n_fft // 2 + 1)
    # frame m of phase j covers samples start_j + m·period − half … + n_fft: pad once on the left by
    # half and on the right far enough for the last frame of every phase
    end = max(offsets) + max(0, (total - 1) // 3) * period + cfg.n_fft
    padded = torch.nn.functional.pad(x, (half, max(0, end - n - half)))
    for j, start in enumerate(offsets):
        count = len(range(j, total, 3))
        if count == 0:
            continue
        seg = padded[start : start + (count - 1) * period + cfg.n_fft]
        spec = torch.stft(
            seg, cfg.n_fft, hop_length=period, win_length=cfg.n_fft, window=windows[j], center=False,
            return_complex=True,
        )  # (n_fft/2+1) × count
        power[j::3] = (spec.real.square() + spec.imag.square()).T[:count]
    mel = power @ fb.T  # T_mel × 257 → T_mel × n_mels
    return torch.log(mel + cfg.log_eps)


def normalise_level(audio: np.ndarray, cfg: MelConfig = DEFAULT_MEL) -> np.ndarray:
    """Scale a clip so its active frames (20 ms, within 40 dB of the loudest) have RMS
    ``target_dbfs``; gain clamped; a clip quieter than ``silence_dbfs`` everywhere is unchanged."""
    x = np.asarray(audio, dtype=np.float32).ravel()
    hop = cfg.sample_rate // 50
    n = len(x) // hop
    if n == 0:
        return x.copy()
    rms_db = 10 * np.log10(np.mean(x[: n * hop].reshape(n, hop).astype(np.float64) ** 2, axis=1) + 1e-20)
    loudest = rms_db.max()
    if loudest < cfg.silence_dbfs:
        return x.copy()
    active = rms_db[rms_db > loudest - 40.0]
    level = 10 * np.log10(np.mean(10 ** (active / 10)))
    gain_db = float(np.clip(cfg.target_dbfs - level, cfg.min_gain_db, cfg.max_gain_db))
    return (x * 10 ** (gain_db / 20)).astype(np.float32)


def frame_windows(
    mel: torch.Tensor, n_out: int, fps: float, cfg: MelConfig = DEFAULT_MEL, *, start: int = 0
) -> torch.Tensor:
    """Windows of mel frames around each output frame: ``T_mel×80 → n_out×(2·context+1)×80``.

    Output frame ``k`` is at ``k/fps`` s = mel position ``p = k·frame_rate/fps``; its window holds
    the mel spectrum at ``p−context … p+context`` (linear interpolation between mel frames; the
    silence value outside the clip). ``start`` skips the first output frames: frames
    ``start … start+n_out−1`` of the clip, so a long clip can be windowed a chunk at a time.
    """
    if fps <= 0:
        raise ValueError(f"fps must be positive, got {fps}")
    t_mel, n_mels = mel.shape
    pad = cfg.context + 2
    padded = torch.full((t_mel + 2 * pad, n_mels), cfg.silence_value, dtype=mel.dtype)
    padded[pad : pad + t_mel] = mel
    centre = torch.arange(start, start + n_out, dtype=torch.float64) * (cfg.frame_rate / fps)
    pos = centre[:, None] + torch.arange(-cfg.context, cfg.context + 1, dtype=torch.float64)[None, :] + pad
    pos = pos.clamp(0, t_mel + 2 * pad - 1.000001)
    lo = pos.floor().long()
    w = (pos - lo).to(mel.dtype)[..., None]
    return padded[lo] * (1 - w) + padded[lo + 1] * w  # n_out × C × n_mels


def utterance_mel(audio16k: np.ndarray, fps: float, cfg: MelConfig = DEFAULT_MEL) -> tuple[torch.Tensor, int]:
    """The level-normalised log-mel spectrogram of a whole utterance (``T_mel × 80``) and its
    number of video frames, ``round(duration·fps)``: the input of :func:`frame_windows`."""
    x = np.asarray(audio16k, dtype=np.float32)
    if x.ndim != 1:
        raise ValueError(f"audio must be mono 1-D, got shape {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError("audio contains NaN or infinite samples")
    return log_mel(normalise_level(x, cfg), cfg), output_frame_count(len(x), fps, cfg)


def audio_features(audio16k: np.ndarray, fps: float, cfg: MelConfig = DEFAULT_MEL) -> torch.Tensor:
    """What the motion generator consumes: ``1 × T × (2·context+1) × 80`` float32, with
    ``T = round(duration·fps)`` video frames (see module docstring)."""
    mel, n_out = utterance_mel(audio16k, fps, cfg)
    return frame_windows(mel, n_out, fps, cfg)[None]


def voice_energy(audio16k: np.ndarray, n_frames: int, fps: float, *, low_hz: float = 80.0,
                 high_hz: float = 3000.0, window_s: float = 0.08) -> np.ndarray:
    """``n_frames`` voice-band RMS values, one per video frame ``k/fps``: the ``low_hz``–``high_hz``
    band (where voiced speech has its energy), power averaged over a ``window_s`` Hann window.
    The loudness envelope lip-sync measures compare mouth opening with."""
    from scipy import signal

    sos = signal.butter(4, [low_hz, high_hz], btype="bandpass", fs=SAMPLE_RATE, output="sos")
    y = signal.sosfiltfilt(sos, np.asarray(audio16k, dtype=np.float64))
    w = np.hanning(int(window_s * SAMPLE_RATE) + 1)
    power = signal.fftconvolve(y * y, w / w.sum(), mode="same")
    idx = np.clip(np.round(np.arange(n_frames) * SAMPLE_RATE / fps).astype(int), 0, len(y) - 1)
    return np.sqrt(np.maximum(power[idx], 0.0))
