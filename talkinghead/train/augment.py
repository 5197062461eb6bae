"""Audio augmentation that turns clean synthetic speech into something like real recordings.

All in numpy/scipy, seeded by the caller's ``numpy.random.Generator``: speed/vocal-tract change
(resampling: pitch, formants and tempo together), reverberation (synthetic room impulse
responses), equalisation and band limits (microphones, phones), additive noise (white, pink,
brown, hum), breathy voice, music-like backgrounds (chords, bass, drums), loudness and soft clipping, 8-bit
µ-law coding. Only :func:`change_speed` changes timing; it returns the factor so phoneme times
can follow.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
from scipy import signal

SR = 16_000


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)) + 1e-20))


def change_speed(x: np.ndarray, factor: float) -> tuple[np.ndarray, float]:
    """Play ``factor`` times faster (resampling): pitch and formants × factor, duration ÷ factor.
    Returns the audio and the exact factor used (a ratio of small integers)."""
    frac = Fraction(factor).limit_denominator(40)
    y = signal.resample_poly(x, frac.denominator, frac.numerator)
    return y.astype(np.float32), frac.numerator / frac.denominator


def room_impulse(rng: np.random.Generator, rt60: float, *, sr: int = SR) -> np.ndarray:
    """A synthetic room impulse response: direct sound, a few early reflections and an
    exponentially decaying noise tail with time constant set by ``rt60`` (s)."""
    n = int(max(rt60, 0.05) * sr)
    t = np.arange(n) / sr
    tail = rng.standard_normal(n) * np.exp(-6.9 * t / max(rt60, 0.05))  # −60 dB at rt60
    tail = signal.lfilter([1.0], [1.0, -rng.uniform(0.2, 0.8)], tail)  # walls absorb highs
    tail[: int(0.003 * sr)] = 0.0
    h = 0.5 * tail / (np.abs(tail).max() + 1e-9)
    for _ in range(int(rng.integers(2, 7))):
        k = int(rng.uniform(0.002, 0.03) * sr)
        if k < n:
            h[k] += rng.uniform(-0.6, 0.6)
    h[0] = 1.0
    return h / np.sqrt(np.sum(h**2))


def reverb(x: np.ndarray, rng: np.random.Generator, *, rt60: float, wet: float) -> np.ndarray:
    y = signal.fftconvolve(x, room_impulse(rng, rt60))[: len(x)]
    return ((1 - wet) * x + wet * y * (_rms(x) / max(_rms(y), 1e-9))).astype(np.float32)


def _biquad_peak(f0: float, gain_db: float, q: float, sr: int = SR) -> tuple[np.ndarray, np.ndarray]:
    """RBJ cookbook peaking EQ."""
    a = 10 ** (gain_db / 40)
    w = 2 * np.pi * f0 / sr
    alpha = np.sin(w) / (2 * q)
    b = np.array([1 + alpha * a, -2 * np.cos(w), 1 - alpha * a])
    den = np.array([1 + alpha / a, -2 * np.cos(w), 1 - alpha / a])
    return b / den[0], den / den[0]


def equalise(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Random microphone/room colouring: 1–3 peaking bands ±10 dB, sometimes a band limit."""
    y = np.asarray(x, dtype=np.float64)
    for _ in range(int(rng.integers(1, 4))):
        f0 = float(np.exp(rng.uniform(np.log(100), np.log(6000))))
        b, a = _biquad_peak(f0, rng.uniform(-10, 10), rng.uniform(0.5, 2.5))
        y = signal.lfilter(b, a, y)
    r = rng.random()
    if r < 0.15:  # telephone band
        sos = signal.butter(4, [300, 3400], btype="bandpass", fs=SR, output="sos")
        y = signal.sosfilt(sos, y)
    elif r < 0.45:  # dull microphone / low bit-rate codec
        sos = signal.butter(4, rng.uniform(2500, 7000), btype="lowpass", fs=SR, output="sos")
        y = signal.sosfilt(sos, y)
    if rng.random() < 0.3:  # rumble removed or small speaker
        sos = signal.butter(2, rng.uniform(60, 400), btype="highpass", fs=SR, output="sos")
        y = signal.sosfilt(sos, y)
    return y.astype(np.float32)


def coloured_noise(rng: np.random.Generator, n: int, colour: str) -> np.ndarray:
    """Unit-RMS noise: white, pink (1/f), brown (1/f²) or mains hum with harmonics."""
    if colour == "hum":
        t = np.arange(n) / SR
        f = rng.choice([50.0, 60.0])
        y = sum(rng.uniform(0.2, 1.0) / k * np.sin(2 * np.pi * f * k * t + rng.uniform(0, 6.3)) for k in range(1, 6))
        y = y + 0.05 * rng.standard_normal(n)
    else:
        spec = np.fft.rfft(rng.standard_normal(n))
        f = np.maximum(np.fft.rfftfreq(n, 1 / SR), 20.0)
        power = {"white": 0.0, "pink": 1.0, "brown": 2.0}[colour]
        y = np.fft.irfft(spec / f ** (power / 2), n)
    return (y / _rms(y)).astype(np.float32)


def music(rng: np.random.Generator, n: int) -> np.ndarray:
    """A unit-RMS music-like background: chord pads with harmonics, a bass line and drums at a
    random tempo — harmonic and rhythmic like real accompaniment, but no voice."""
    t = np.arange(n) / SR
    bpm = rng.uniform(70, 160)
    beat = 60.0 / bpm
    root = rng.uniform(40, 60)  # MIDI
    out = np.zeros(n)
    chords = [[0, 4, 7], [0, 3, 7], [5, 9, 12], [7, 11, 14], [-3, 0, 4], [2, 5, 9]]
    bar = 4 * beat
    for start in np.arange(0, n / SR, bar):
        chord = chords[int(rng.integers(len(chords)))]
        seg = (t >= start) & (t < start + bar)
        tt = t[seg] - start
        env = np.minimum(1.0, tt / 0.05) * np.exp(-tt / rng.uniform(0.5, 4.0))
        for step in chord:
            f = 440 * 2 ** ((root + 12 + step - 69) / 12)
            for h in range(1, 6):
                out[seg] += env * np.sin(2 * np.pi * f * h * tt) / h**1.5
        fb = 440 * 2 ** ((root - 12 + chord[0] - 69) / 12)
        out[seg] += 1.5 * env * np.sin(2 * np.pi * fb * tt)
    drums = np.zeros(n)
    for start in np.arange(0, n / SR, beat / 2):
        k = int(start * SR)
        m = min(n - k, int(0.15 * SR))
        if m <= 0:
            continue
        tt = np.arange(m) / SR
        if rng.random() < 0.5:  # kick
            drums[k : k + m] += np.sin(2 * np.pi * 60 * tt * np.exp(-tt * 8)) * np.exp(-tt * 25)
        else:  # hi-hat / snare
            drums[k : k + m] += 0.4 * rng.standard_normal(m) * np.exp(-tt * rng.uniform(30, 80))
    out = out / _rms(out) + rng.uniform(0.2, 1.0) * drums / max(_rms(drums), 1e-9)
    return (out / _rms(out)).astype(np.float32)


def mix_at_snr(x: np.ndarray, noise: np.ndarray, snr_db: float, ref_rms: float | None = None) -> np.ndarray:
    """``x + noise`` with the noise ``snr_db`` below ``ref_rms`` (default: x's RMS)."""
    ref = _rms(x) if ref_rms is None else ref_rms
    return (x + noise[: len(x)] * ref / 10 ** (snr_db / 20)).astype(np.float32)


def augment(x: np.ndarray, rng: np.random.Generator, *, strength: float = 1.0) -> np.ndarray:
    """A random chain (no timing change) for clean 16 kHz speech/singing ``x``. ``strength`` in
    [0, 1] scales how likely each effect is."""
    y = np.asarray(x, dtype=np.float32)
    voiced_rms = _rms(y[np.abs(y) > 1e-4]) if np.any(np.abs(y) > 1e-4) else _rms(y)
    p = strength
    if rng.random() < 0.6 * p:
        y = equalise(y, rng)
    if rng.random() < 0.45 * p:
        y = reverb(y, rng, rt60=rng.uniform(0.15, 0.9), wet=rng.uniform(0.2, 0.7))
    if rng.random() < 0.3 * p:
        y = mix_at_snr(y, music(rng, len(y)), rng.uniform(6, 25), voiced_rms)
    if rng.random() < 0.3 * p:  # breathy voice: aspiration noise that follows the voice's envelope
        env = signal.fftconvolve(np.abs(y), np.hanning(321) / 160.5, mode="same")
        highpass = signal.butter(2, 1000, btype="highpass", fs=SR, output="sos")
        hiss = signal.sosfilt(highpass, rng.standard_normal(len(y)))
        y = (y + hiss * env * 10 ** (-rng.uniform(6, 20) / 20)).astype(np.float32)
    if rng.random() < 0.6 * p:
        colour = str(rng.choice(["white", "pink", "brown", "hum"], p=[0.35, 0.35, 0.2, 0.1]))
        y = mix_at_snr(y, coloured_noise(rng, len(y), colour), rng.uniform(8, 45), voiced_rms)
    y = y * np.float32(10 ** (rng.uniform(-30, 6) / 20))
    if rng.random() < 0.1 * p:
        y = np.tanh(y * rng.uniform(1.5, 4.0)) / np.tanh(rng.uniform(1.5, 4.0))
    if rng.random() < 0.08 * p:  # 8-bit µ-law coding
        mu = 255.0
        scale = max(float(np.abs(y).max()), 1e-6)
        c = np.sign(y / scale) * np.log1p(mu * np.abs(y / scale)) / np.log1p(mu)
        c = np.round(c * 127) / 127
        y = scale * np.sign(c) * np.expm1(np.abs(c) * np.log1p(mu)) / mu
    return np.clip(y, -1.0, 1.0).astype(np.float32)
