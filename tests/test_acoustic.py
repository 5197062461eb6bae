"""Phone posteriors from pocketsphinx's acoustic model (talkinghead.acoustic)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from talkinghead import acoustic as A
from talkinghead.features import audio_features, mel_filterbank

SR = 16_000


@pytest.fixture(scope="module")
def posteriors() -> A.PhonePosteriors:
    layer = A.PhonePosteriors(context=24, spread=0, acoustic_scale=0.1)
    layer.load_model(A.read_pocketsphinx_model())
    return layer.eval()


def test_model_layout_and_weights():
    model = A.read_pocketsphinx_model()
    assert model.means.shape == model.variances.shape == (A.N_STREAMS, A.N_PHONES, A.N_DENSITY, A.N_CEP)
    assert model.log_weights.shape == (A.N_STREAMS, A.N_PHONES, A.N_STATES, A.N_DENSITY)
    assert (model.variances > 0).all() and np.isfinite(model.means).all()
    sums = np.exp(model.log_weights).sum(-1)
    assert np.allclose(sums, 1.0, atol=0.1)
    assert A.PHONES[32] == "SIL" and len(A.PHONES) == A.N_PHONES


def test_front_end_matrices():
    fb = A.sphinx_filterbank()
    assert fb.shape == (A.N_FILTERS, 257) and (fb >= 0).all()
    np.testing.assert_allclose(fb.sum(1) * 31.25, 1.0, atol=0.1)  # unit area (per Hz)
    fit = A.band_map().T @ mel_filterbank()  # the Slaney bands rebuild sphinx's filters
    assert np.abs(fit - fb).sum() / fb.sum() < 0.15
    dct = A.dct_lifter()
    np.testing.assert_allclose(dct[:, 0], np.full(A.N_FILTERS, 1 / np.sqrt(A.N_FILTERS)))
    taps = A.stream_taps(24, 0, 120.0)
    assert taps.shape == (3, 1, 49)
    np.testing.assert_allclose(taps.sum(-1), [[1.0], [0.0], [0.0]], atol=1e-12)  # Δ, ΔΔ of a constant: 0
    ramp = np.arange(49.0)
    np.testing.assert_allclose(taps[1, 0] @ ramp, 4 * 1.2)  # Δ = c(t+2) − c(t−2) at 100 frames/s


def _espeak(text: str, voice: str) -> np.ndarray:
    from talkinghead import speech

    if not speech.available():
        pytest.skip("espeak-ng's library is not installed")
    audio = speech.synthesize(text, voice=voice, rate=110, range=0).audio
    gap = np.zeros(SR // 4, np.float32)
    return np.concatenate([gap, audio, gap])


def test_posteriors_are_distributions_and_ignore_the_level(posteriors):
    feats = audio_features(_espeak("mama", "en-us"), 25.0)
    with torch.no_grad():
        p = posteriors(feats)
        louder = posteriors(feats + 2.0)  # a gain: constant in log-mel, removed by CMN
    assert p.shape == (1, feats.shape[1], A.N_PHONES)
    torch.testing.assert_close(p.sum(-1), torch.ones(1, feats.shape[1]))
    torch.testing.assert_close(louder, p, atol=1e-4, rtol=1e-3)


@pytest.mark.parametrize("voice", ["en-us", "en-us+f3"])
def test_an_open_vowel_is_heard_as_a_vowel_in_other_voices(posteriors, voice):
    audio = _espeak("aah", voice)
    feats = audio_features(audio, 25.0)
    energy = feats[0, :, 24].mean(-1)
    voiced = energy > energy.max() - 2.0  # the loud middle of the vowel
    with torch.no_grad():
        p = posteriors(feats)[0, voiced].mean(0)
    vowels = [A.PHONES.index(v) for v in ("AA", "AH", "AO", "AE", "AW", "AY", "OW")]
    stops = [A.PHONES.index(v) for v in ("P", "B", "M", "T", "D", "K", "G", "S", "F", "SIL")]
    assert p[vowels].mean() > 2 * p[stops].mean()  # per phone, open vowels far more likely
