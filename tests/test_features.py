"""Log-mel front end: Slaney mel filterbank, exact 1/120 s framing, frame counts, level, windows."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from talkinghead import features

SR = 16_000


def slaney_mel(f: float) -> float:
    """Closed form of the Slaney mel scale: 3f/200 below 1 kHz, 15 + 27·ln(f/1000)/ln(6.4) above."""
    return 3.0 * f / 200.0 if f < 1000.0 else 15.0 + 27.0 * math.log(f / 1000.0) / math.log(6.4)


def slaney_hz(m: float) -> float:
    return 200.0 * m / 3.0 if m < 15.0 else 1000.0 * math.exp((m - 15.0) * math.log(6.4) / 27.0)


def test_mel_scale_anchor_points():
    assert features.hz_to_mel(1000.0) == pytest.approx(15.0)
    assert features.hz_to_mel(6400.0) == pytest.approx(42.0)
    assert features.hz_to_mel(500.0) == pytest.approx(7.5)
    for f in (0.0, 120.0, 999.0, 1000.0, 2500.0, 7999.0):
        assert features.hz_to_mel(f) == pytest.approx(slaney_mel(f))
        assert features.mel_to_hz(features.hz_to_mel(f)) == pytest.approx(f, abs=1e-6)


@pytest.mark.parametrize("m", [0, 7, 26, 40, 63, 79])
def test_filterbank_matches_closed_form_triangles(m):
    fb = features.mel_filterbank()
    assert fb.shape == (80, 257)
    edges = [slaney_hz(i * slaney_mel(8000.0) / 81) for i in range(82)]
    lo, centre, hi = edges[m], edges[m + 1], edges[m + 2]
    freqs = np.arange(257) * SR / 512
    expected = np.maximum(0, np.minimum((freqs - lo) / (centre - lo), (hi - freqs) / (hi - centre))) * 2 / (hi - lo)
    np.testing.assert_allclose(fb[m], expected, rtol=1e-9, atol=1e-12)
    # the filter peaks at the FFT bin nearest its centre frequency
    assert abs(freqs[int(np.argmax(fb[m]))] - centre) <= SR / 512


def test_filterbank_has_no_empty_band_and_covers_spectrum():
    fb = features.mel_filterbank()
    assert (fb.max(axis=1) > 0).all()
    assert (fb[:, 1:-1].sum(axis=0) > 0).all()  # every bin between DC and Nyquist feeds a band


def test_exact_fractional_frame_centres():
    # frame i is centred at sample 400·i/3: an impulse there lands in frame i only
    for i in (7, 8, 9, 30):
        x = np.zeros(SR, np.float32)
        x[round(400 * i / 3)] = 1.0
        energy = features.log_mel(x).exp().sum(1)
        assert int(energy.argmax()) == i
        assert energy[i - 1] < 0.05 * energy[i] and energy[i + 1] < 0.05 * energy[i]


def test_tone_lands_in_its_band():
    t = np.arange(SR) / SR
    mel = features.log_mel(0.5 * np.sin(2 * np.pi * 1000.0 * t))
    band = int(mel[40].argmax())
    edges = [slaney_hz(i * slaney_mel(8000.0) / 81) for i in range(82)]
    assert edges[band] < 1000.0 < edges[band + 2]


@pytest.mark.parametrize("seconds", [0.5, 1.0, 3.37, 10.0])
@pytest.mark.parametrize("fps", [25, 30, 60])
def test_frame_counts(seconds, fps):
    n = int(round(seconds * SR))
    assert features.mel_frame_count(n) == math.floor(n * 120 / SR + 1e-9) + 1
    assert features.log_mel(np.zeros(n, np.float32)).shape == (features.mel_frame_count(n), 80)
    feats = features.audio_features(np.zeros(n, np.float32), fps)
    assert feats.shape == (1, round(seconds * fps), 49, 80)
    assert feats.dtype == torch.float32


def test_silence_is_the_floor_and_level_normalisation_is_gain_free():
    silent = features.audio_features(np.zeros(8000, np.float32), 25)
    assert torch.allclose(silent, torch.full_like(silent, features.DEFAULT_MEL.silence_value))
    rng = np.random.default_rng(0)
    x = (rng.standard_normal(SR) * 0.05).astype(np.float32)
    a, b = features.audio_features(x, 25), features.audio_features(x * 0.1, 25)
    assert float((a - b).abs().max()) < 1e-3  # a −20 dB copy gives the same features
    y = features.normalise_level(x)
    assert 20 * np.log10(np.sqrt(np.mean(y**2))) == pytest.approx(-23.0, abs=0.5)


def test_normalise_level_keeps_relative_loudness_and_leaves_near_silence():
    rng = np.random.default_rng(1)
    quiet, loud = rng.standard_normal(SR) * 0.01, rng.standard_normal(SR) * 0.1
    y = features.normalise_level(np.concatenate([quiet, loud]).astype(np.float32))
    ratio = np.sqrt(np.mean(y[SR:] ** 2) / np.mean(y[:SR] ** 2))
    assert ratio == pytest.approx(10.0, rel=0.05)
    hiss = (rng.standard_normal(SR) * 1e-5).astype(np.float32)  # −100 dBFS
    np.testing.assert_array_equal(features.normalise_level(hiss), hiss)


def test_frame_windows_interpolate_at_exact_times():
    mel = torch.arange(240, dtype=torch.float32)[:, None].repeat(1, 80)  # value = mel frame index
    w = features.frame_windows(mel, 50, 25.0)
    assert w.shape == (50, 49, 80)
    k = 10  # at 25 fps frame 10 is at 0.4 s = mel position 48: window holds 24…72
    np.testing.assert_allclose(w[k, :, 0].numpy(), np.arange(24, 73), atol=1e-5)
    k = 11  # 0.44 s = mel position 52.8 (fractional): linear interpolation
    np.testing.assert_allclose(w[k, 24, 0].item(), 52.8, atol=1e-4)
    assert (w[0, :24, 0] == features.DEFAULT_MEL.silence_value).all()  # before the clip: silence


def test_bad_input_is_rejected():
    with pytest.raises(ValueError):
        features.audio_features(np.zeros((2, 100), np.float32), 25)
    with pytest.raises(ValueError):
        features.audio_features(np.full(100, np.nan, np.float32), 25)
    with pytest.raises(ValueError):
        features.frame_windows(torch.zeros(10, 80), 5, 0.0)
