"""Real-video training set (talkinghead.train.realdata), real crops in training, the speaker-free
input option of the generator, and the lip-sync evaluation's measures."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from talkinghead.features import DEFAULT_MEL, frame_windows, voice_energy
from talkinghead.motion import MotionConfig, MotionGenerator, spectral_shape
from talkinghead.train import realdata
from talkinghead.train.trainer import RealBatcher, augment_voice

TINY = MotionConfig(mel_dim=4, channels=(4, 4, 4), feature_dim=8, hidden=8, layers=1)


def _corpus(lengths=(75, 60), fps=25.0, seed=0) -> realdata.RealCorpus:
    rng = np.random.default_rng(seed)
    mels, mots = [], []
    for n in lengths:
        mels.append(rng.standard_normal((int(n / fps * 120) + 1, 80)).astype(np.float16))
        mots.append((rng.standard_normal((n, 68, 3)) * 0.01).astype(np.float16))
    return realdata.RealCorpus(
        mel=np.concatenate(mels), mel_offsets=realdata._offsets(mels), motion=np.concatenate(mots),
        valid=np.ones(sum(lengths), bool), energy=np.ones(sum(lengths), np.float32),
        frame_offsets=realdata._offsets(mots), fps=np.full(len(lengths), fps), offset_s=np.zeros(len(lengths)),
        offset_r=np.zeros(len(lengths)), names=np.array([f"c{i}" for i in range(len(lengths))]),
    )


def test_offset_estimate_finds_a_planted_delay():
    rng = np.random.default_rng(3)
    fps, n = 25.0, 150
    loud = np.convolve(rng.random(n + 20), np.ones(4) / 4, "same")[:n]  # a syllable-like envelope
    energy = 10 ** (loud * 2)
    for delay in (-3, 0, 4):  # frames the mouth comes after the sound
        opening = np.roll(np.log10(energy), delay)
        offset, r = realdata.estimate_offset(opening, energy, fps)
        assert offset == pytest.approx(delay / fps) and r > 0.9


def test_real_batches_match_inference_windows_and_targets():
    corpus = _corpus()
    batcher = RealBatcher(corpus, context=24, seed=0)
    x, y = batcher.sample(2, 50, items=torch.tensor([0, 1]), starts=torch.tensor([5, 0]))
    assert x.shape == (2, 50, 49, 80) and y.shape == (2, 50, 68, 3)
    for i, start in enumerate((5, 0)):
        mel = torch.from_numpy(corpus.mel[corpus.mel_offsets[i]:corpus.mel_offsets[i + 1]].astype(np.float32))
        ref = frame_windows(mel, start + 50, 25.0)[start:]
        torch.testing.assert_close(x[i], ref)
        motion = corpus.motion[corpus.frame_offsets[i] + start: corpus.frame_offsets[i] + start + 50]
        torch.testing.assert_close(y[i], torch.from_numpy(motion.astype(np.float32)))
    x, _ = batcher.sample(3, 500)  # longer than the clips: cut to the shortest drawn clip
    assert x.shape[1] <= 75


def test_subset_keeps_clips_whole():
    corpus = _corpus((75, 60, 40))
    part = corpus.subset(np.array([True, False, True]))
    assert list(part.names) == ["c0", "c2"] and len(part.motion) == 115 and part.frame_offsets.tolist() == [0, 75, 115]
    np.testing.assert_array_equal(part.motion[75:], corpus.motion[135:])
    np.testing.assert_array_equal(part.mel[part.mel_offsets[1]:], corpus.mel[corpus.mel_offsets[2]:])


def test_voice_augmentation_keeps_silence_and_identity_at_zero():
    gen = torch.Generator().manual_seed(0)
    silence = DEFAULT_MEL.silence_value
    w = torch.randn(2, 5, 49, 80) - 5
    w[:, :, :10] = silence
    same = augment_voice(w, gen, warp=0.0, tilt=0.0, silence=silence)
    torch.testing.assert_close(same, w)
    out = augment_voice(w, gen, warp=0.1, tilt=1.5, silence=silence)
    assert out.shape == w.shape and torch.all(out[:, :, :10] == silence) and not torch.allclose(out, w)


def test_utterance_norm_ignores_a_constant_spectral_shape():
    torch.manual_seed(0)
    g = MotionGenerator(config=MotionConfig(**{**TINY.__dict__, "utterance_norm": True})).eval()
    x = torch.randn(1, 20, 49, 80) - 8
    colour = torch.linspace(-1.0, 1.0, 80)  # a microphone's EQ, the same all through the utterance
    torch.testing.assert_close(g(x + colour), g(x), atol=1e-5, rtol=1e-4)
    assert not torch.allclose(g(x + 1.0), g(x))  # the level is kept (loudness carries opening)
    silent = torch.full((1, 4, 80), DEFAULT_MEL.silence_value)
    assert torch.allclose(spectral_shape(silent), torch.zeros(1, 80), atol=1e-5)


def test_voice_energy_follows_a_burst():
    sr = 16_000
    audio = np.zeros(sr * 2, np.float32)
    audio[sr // 2: sr] = np.sin(2 * np.pi * 300 * np.arange(sr // 2) / sr)
    e = voice_energy(audio, 50, 25.0)
    assert e[20] > 100 * e[5] and e[20] > 100 * e[40]


def test_eval_measures():
    from benchmarks.eval_lipsync import moving_lmd, to_crop
    from talkinghead.geometry import canonical_face

    rng = np.random.default_rng(0)
    real = canonical_face()[None] + rng.standard_normal((30, 68, 3)) * 0.01
    assert moving_lmd(real, real) == 0.0
    assert moving_lmd(real + 0.3, real) == pytest.approx(0.0, abs=1e-9)  # a constant offset is not motion
    still = np.repeat(real.mean(0, keepdims=True), 30, 0)
    assert moving_lmd(still, real) > 0
    px = to_crop(real, canonical_face())
    assert px.shape == (30, 68, 2)
    assert np.linalg.norm(px[0, 45] - px[0, 36]) == pytest.approx(0.27 * 512, rel=0.05)  # CropSpec's eye distance


def test_clip_targets_on_a_grid_clip(shared_dir):
    clip = shared_dir / "avdata" / "train" / "grid_s1" / "bbaf2n.mp4"
    if not clip.is_file():
        pytest.skip("../shared/avdata/train/grid_s1 is absent")
    t = realdata.clip_targets(clip)
    n = len(t["motion"])
    assert n == 75 and t["motion"].shape == (75, 68, 3) and t["valid"].mean() > 0.9 and float(t["fps"]) == 25.0
    assert abs(len(t["mel"]) - 3 * 120) <= 2 and t["energy"].shape == (n,)
    opening = realdata._opening(t["motion"])
    assert opening.max() - opening.min() > 0.1  # the mouth moves in speech
    assert np.quantile(np.abs(t["motion"][:, 48:68]).max(-1).max(-1), 0.1) < 0.03  # and rests near its neutral


def test_concatenate_keeps_every_clip():
    a, b = _corpus((75, 60)), _corpus((40,), seed=1)
    both = realdata.concatenate([a, b])
    assert len(both) == 3 and both.frame_offsets.tolist() == [0, 75, 135, 175]
    assert both.mel_offsets.tolist() == [*a.mel_offsets.tolist(), a.mel_offsets[-1] + b.mel_offsets[1]]
    np.testing.assert_array_equal(both.motion[135:], b.motion)
    np.testing.assert_array_equal(both.mel[both.mel_offsets[2]:], b.mel)
    again = both.subset(np.array([True, True, False]))
    np.testing.assert_array_equal(again.motion, a.motion)


def test_retime_plays_faster():
    x = np.arange(10, dtype=np.float64)[:, None]
    np.testing.assert_allclose(realdata._retime(x, 1.25, 8)[:, 0], np.minimum(np.arange(8) * 1.25, 9))
    np.testing.assert_allclose(realdata._retime(x, 0.5, 20)[:, 0], np.minimum(np.arange(20) * 0.5, 9))


def test_augmented_copies_of_a_grid_clip(shared_dir, tmp_path):
    clip_dir = shared_dir / "avdata" / "train" / "grid_s1"
    if not (clip_dir / "bbaf2n.mp4").is_file():
        pytest.skip("../shared/avdata/train/grid_s1 is absent")
    corpus = _corpus((75,))
    corpus.names = np.array(["bbaf2n"])
    aug = realdata.augmented(corpus, clip_dir, tmp_path, copies=3, seed=0)
    assert aug.names.tolist() == ["bbaf2n~0", "bbaf2n~1", "bbaf2n~2"]
    frames = np.diff(aug.frame_offsets)
    mel = np.diff(aug.mel_offsets)
    assert np.all((frames >= 75 / 1.14 - 1) & (frames <= 75 / 0.88 + 1)) and len(set(frames.tolist())) > 1
    np.testing.assert_allclose(mel / 120, frames / 25, atol=0.05)  # sound and motion re-timed together
    np.testing.assert_array_equal(aug.motion[0], corpus.motion[0])  # the first frame is the clip's first
    assert np.isfinite(aug.mel.astype(np.float32)).all()
    assert not np.allclose(aug.mel[: mel[0]].astype(np.float32)[:300], aug.mel[mel[0]:mel[0] + 300].astype(np.float32))
    cached = realdata.augmented(corpus, clip_dir, tmp_path, copies=3, seed=0)
    np.testing.assert_array_equal(cached.mel, aug.mel)
    assert len(list(tmp_path.glob("real_augmented_*.npz"))) == 1
