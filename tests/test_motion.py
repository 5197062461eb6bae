"""Audio encoder + motion generator, its shipped weights, and the viseme model it was trained on."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest
import torch

from talkinghead import geometry
from talkinghead.motion import (
    MotionConfig,
    MotionGenerator,
    audio_features,
    load_motion_generator,
    read_config,
    save_motion_generator,
)
from talkinghead.train import visemes as V
from talkinghead.weights import WeightsError

TINY = MotionConfig(mel_dim=4, channels=(4, 4, 4), feature_dim=8, hidden=8, layers=1)
SR = 16_000


@pytest.fixture(scope="module")
def gen(repo_dir) -> MotionGenerator:
    path = repo_dir / "weights" / "motion_generator.safetensors"
    assert path.is_file(), "weights/motion_generator.safetensors is missing: run python -m talkinghead.train"
    return load_motion_generator(path=path)


def _opening(gen: MotionGenerator, audio: np.ndarray, fps: float = 25.0) -> np.ndarray:
    with torch.inference_mode():
        disp = gen(audio_features(audio, fps=fps))[0].numpy()
    return geometry.mouth_features(geometry.canonical_face() + disp).opening


def test_tiny_forward_shapes_and_parts():
    g = MotionGenerator(config=TINY).eval()
    x = torch.randn(2, 7, 49, 80)
    out = g(x)
    assert out.shape == (2, 7, 68, 3) and out.dtype == torch.float32
    torch.testing.assert_close(g.decode(g.encode(x)), out)
    assert g.encode(x).shape == (2, 7, 2 * TINY.hidden)
    style = {id(p) for p in g.style_parameters()}
    assert style and not any(id(p) in style for p in g.encoder.parameters())
    with pytest.raises(ValueError):
        g(torch.randn(1, 3, 10, 80))


def test_gradients_flow_to_every_parameter():
    g = MotionGenerator(config=TINY)
    g(torch.randn(1, 5, 49, 80)).square().sum().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in g.parameters())


TINY_PHONES = MotionConfig(mel_dim=4, channels=(4, 4, 4), feature_dim=8, hidden=8, layers=1, phones=True)


def _with_acoustic_model(g: MotionGenerator) -> MotionGenerator:
    from talkinghead.acoustic import read_pocketsphinx_model

    g.encoder.phones.load_model(read_pocketsphinx_model())
    return g


def test_phone_input_shapes_gradients_and_round_trip(tmp_path):
    g = _with_acoustic_model(MotionGenerator(config=TINY_PHONES))
    x = torch.randn(2, 6, 49, 80) - 12
    g(x).square().sum().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in g.parameters())
    g.eval()
    path = save_motion_generator(g, tmp_path / "m.safetensors")
    assert read_config(path) == TINY_PHONES
    torch.testing.assert_close(load_motion_generator(path=path)(x), g(x))  # the acoustic model travels in the file


def test_configs_without_phone_fields_load_as_spectral_only():
    data = json.loads(TINY.to_json())
    for key in ("phones", "acoustic_scale"):
        data.pop(key)
    cfg = MotionConfig.from_json(json.dumps(data))
    assert cfg == TINY and not cfg.phones


def test_save_and_load_round_trip(tmp_path):
    g = MotionGenerator(config=TINY).eval()
    path = save_motion_generator(g, tmp_path / "m.safetensors", summary={"steps": 1})
    assert read_config(path) == TINY
    loaded = load_motion_generator(path=path)
    x = torch.randn(1, 4, 49, 80)
    torch.testing.assert_close(loaded(x), g(x))


def test_loading_is_strict(tmp_path):
    from safetensors.torch import load_file, save_file

    g = MotionGenerator(config=TINY)
    path = save_motion_generator(g, tmp_path / "m.safetensors")
    tensors = load_file(str(path))
    tensors.pop("head.bias")
    broken = tmp_path / "broken.safetensors"
    save_file(tensors, str(broken), metadata={"config": TINY.to_json()})
    with pytest.raises(WeightsError, match="head.bias"):
        load_motion_generator(path=broken)


def test_shipped_weights_load_strictly(repo_dir, gen):
    path = repo_dir / "weights" / "motion_generator.safetensors"
    from safetensors.torch import load_file

    tensors = load_file(str(path))
    assert set(tensors) == set(gen.state_dict())
    assert all(t.dtype == torch.float32 for t in tensors.values())
    assert path.stat().st_size < 8 * 2**20  # a few MB
    sidecar = json.loads(path.with_suffix(".json").read_text())
    assert MotionConfig.from_json(json.dumps(sidecar["config"])) == gen.config
    assert not gen.training


def test_deterministic_and_copy_safe(gen):
    rng = np.random.default_rng(0)
    audio = (rng.standard_normal(2 * SR) * 0.1).astype(np.float32)
    feats = audio_features(audio, fps=25)
    with torch.inference_mode():
        a, b = gen(feats), gen(feats)
    assert torch.equal(a, b)
    before = {k: v.clone() for k, v in gen.state_dict().items()}
    tuned = copy.deepcopy(gen).train()
    opt = torch.optim.SGD(tuned.style_parameters(), lr=0.1)
    tuned(feats).square().mean().backward()
    opt.step()
    assert all(torch.equal(v, gen.state_dict()[k]) for k, v in before.items())  # the shared copy is untouched


def test_silence_keeps_the_mouth_closed(gen):
    canonical = float(geometry.mouth_features(geometry.canonical_face()).opening)
    hiss = np.random.default_rng(1).standard_normal(2 * SR).astype(np.float32) * 1e-4  # −80 dBFS
    for audio in (np.zeros(2 * SR, np.float32), hiss):
        opening = _opening(gen, audio)
        assert np.all(np.abs(opening - canonical) < 0.02), opening.max()


def _vowel(text: str = "aah") -> np.ndarray:
    from talkinghead import speech

    if not speech.available():
        pytest.skip("espeak-ng's library is not installed")
    return speech.synthesize(text, voice="en-us", rate=110, range=0).audio


def test_vowels_open_the_mouth_and_louder_vowels_open_it_more(gen):
    vowel = _vowel()
    gap = np.zeros(int(0.6 * SR), np.float32)
    audio = np.concatenate([gap, 0.15 * vowel, gap, 1.0 * vowel, gap])  # one clip: quiet, then loud (−16 dB)
    opening = _opening(gen, audio)
    t = np.arange(len(opening)) / 25.0
    first = (t > 0.6) & (t < 0.6 + len(vowel) / SR)
    second = (t > 1.2 + len(vowel) / SR) & (t < 1.2 + 2 * len(vowel) / SR)
    closed = float(geometry.mouth_features(geometry.canonical_face()).opening)
    assert opening[first].max() > closed + 0.05  # a vowel opens the mouth
    assert opening[second].max() > opening[first].max() + 0.01  # the louder one more


def test_frame_rates_agree(gen):
    vowel = _vowel("mama papa")
    audio = np.concatenate([np.zeros(SR // 2, np.float32), vowel, np.zeros(SR // 2, np.float32)])
    o25, o60 = _opening(gen, audio, 25.0), _opening(gen, audio, 60.0)
    assert len(o25) == round(len(audio) / SR * 25) and len(o60) == round(len(audio) / SR * 60)
    resampled = np.interp(np.arange(len(o25)) / 25.0, np.arange(len(o60)) / 60.0, o60)
    assert np.corrcoef(o25, resampled)[0, 1] > 0.85


# --- viseme model (training targets) -----------------------------------------------------------


def test_viseme_table_is_measured_symmetric_and_mouth_only():
    table = V.load_table()
    assert table.shapes.shape == (V.N_VISEMES, 68, 3)
    assert np.all(table.shapes[V.INDEX["rest"]] == 0)
    moving = set(geometry.JAW + geometry.OUTER_LIPS + geometry.INNER_LIPS)
    others = [i for i in range(68) if i not in moving]
    assert np.all(table.shapes[:, others] == 0)
    from talkinghead.train.measure_visemes import symmetrise

    for shape in table.shapes:
        np.testing.assert_allclose(symmetrise(shape), shape, atol=1e-6)
    opening = geometry.mouth_features(geometry.canonical_face() + table.shapes).opening
    o = dict(zip(V.VISEMES, opening, strict=True))
    assert o["AA"] > o["EH"] > o["UW"] > o["PBM"] and o["AA"] > o["IY"]
    width = dict(zip(V.VISEMES, geometry.mouth_features(geometry.canonical_face() + table.shapes).width, strict=True))
    assert width["IY"] > width["rest"] > width["UW"]


def test_espeak_and_arpabet_symbols_map_to_visemes():
    for sym in ["ə", "d", "k", "p", "n", "ɪ", "ð", "ɛ", "b", "z", "t", "l", "w", "s", "iː", "m", "aʊ", "ɜː", "ɹ",
                "v", "ɒ", "ʌ", "dʒ", "aɪ", "ʊ", "a", "ʃ", "h", "ʒ", "ŋ", "ɐ", "j", "ɔɪ", "əl", "θ", "ɑː", "eɪ",
                "ɡ", "f", "ɚ", "uː", "oʊ", "æ", "ɾ"]:
        assert sym in V._IPA or sym.rstrip("ː") in V._IPA, sym
    assert V.viseme_parts("m") == [("PBM", 1.0, 1.0)]
    assert [p[0] for p in V.viseme_parts("aɪ")] == ["AA", "IY"]
    assert V.viseme_parts("M") == V.viseme_parts("m")
    assert V.viseme_parts("_") == V.viseme_parts("SIL") == [("rest", 1.0, 1.0)]


def test_coarticulation_closes_for_bilabials_and_rests_in_silence():
    phones = [(0.0, 0.5, "_"), (0.5, 0.7, "ɑː"), (0.7, 0.76, "m"), (0.76, 1.0, "ɑː"), (1.0, 1.06, "t"),
              (1.06, 1.3, "ɑː"), (1.3, 2.0, "_")]
    t = np.arange(0, 2.0, 1 / 120)
    w = V.viseme_weights(V.segments(phones), t)
    at = lambda s: w[int(round(s * 120))]  # noqa: E731
    assert at(0.73)[V.INDEX["PBM"]] > 0.8  # a 60 ms /m/ still closes the lips
    assert at(0.6)[V.INDEX["AA"]] > 0.75
    assert at(0.2)[V.INDEX["rest"]] > 0.99 and at(1.8)[V.INDEX["rest"]] > 0.99
    assert at(0.45)[V.INDEX["AA"]] > 0.02  # anticipation: the mouth starts opening before the vowel
    assert at(1.03)[V.INDEX["AA"]] > at(1.03)[V.INDEX["TDNL"]]  # a short /t/ takes the vowels' shape
    loud = V.viseme_weights(V.segments(phones), t, loudness=np.where((t > 0.76) & (t < 1.0), -10.0, -20.0))
    assert loud[int(0.9 * 120), V.INDEX["AA"]] > 1.2 * loud[int(0.6 * 120), V.INDEX["AA"]]


def test_training_batches_match_inference_windows():
    from talkinghead.features import frame_windows
    from talkinghead.train.corpus import Corpus
    from talkinghead.train.trainer import Batcher

    rng = np.random.default_rng(0)
    mels = [rng.standard_normal((n, 80)).astype(np.float16) for n in (300, 420)]
    corpus = Corpus(np.concatenate(mels), np.zeros((720, V.N_VISEMES), np.float16), np.array([0, 300, 720]),
                    np.zeros(2, np.int8))
    batcher = Batcher(corpus, np.zeros((V.N_VISEMES, 68, 3)), context=24, seed=0)
    for fps in (25.0, 30.0, 60.0):
        x, _ = batcher.sample(2, 30, fps, items=torch.tensor([0, 1]), starts=torch.zeros(2, dtype=torch.float64))
        for i in range(2):
            ref = frame_windows(torch.from_numpy(mels[i].astype(np.float32)), 30, fps)
            torch.testing.assert_close(x[i], ref)


def test_a_corpus_item_is_consistent():
    from talkinghead import speech
    from talkinghead.train.corpus import CorpusConfig, make_item

    if not speech.available():
        pytest.skip("espeak-ng's library is not installed")
    mel, weights, kind = make_item(CorpusConfig(), 5)
    assert kind == 0 and mel.shape[1] == 80 and weights.shape == (len(mel), V.N_VISEMES)
    assert len(mel) >= CorpusConfig().min_seconds / 1.14 * 120  # min length, then at most 14 % faster
    w = weights.astype(np.float32)
    assert w[:5, V.INDEX["rest"]].min() > 0.9  # starts in silence
    assert (w.sum(1) > 0.3).all() and np.isfinite(mel.astype(np.float32)).all()


@pytest.mark.slow
def test_motion_command_end_to_end(repo_dir, tmp_path, capsys):
    from talkinghead import media
    from talkinghead.cli import main

    out = tmp_path / "motion.mp4"
    assert main(["motion", str(repo_dir / "examples" / "speech_en.wav"), "-o", str(out), "--size", "128"]) == 0
    text = capsys.readouterr().out
    rows = [line for line in text.splitlines() if line.strip() and line.split()[0].isdigit()]
    duration = len(media.load_audio(repo_dir / "examples" / "speech_en.wav")) / SR
    assert len(rows) == round(duration * 25)
    openings = np.array([float(r.split()[2]) for r in rows])
    assert openings.max() > 0.15 and openings.min() < 0.05  # opens for vowels, closes in pauses
    clip = media.load_video(out)
    assert len(clip) == len(rows) and clip.size == (128, 128) and clip.audio is not None
    assert main(["motion", str(tmp_path / "missing.wav")]) == 2  # a clear error, not a traceback


def test_training_is_seeded_and_reproducible():
    from talkinghead.train.corpus import Corpus
    from talkinghead.train.trainer import TrainConfig, train

    rng = np.random.default_rng(0)
    n = 900
    weights = np.zeros((n, V.N_VISEMES), np.float16)
    weights[np.arange(n), rng.integers(0, V.N_VISEMES, n)] = 1
    corpus = Corpus((rng.standard_normal((n, 80)) - 15).astype(np.float16), weights, np.array([0, 400, 900]),
                    np.zeros(2, np.int8))
    cfg = TrainConfig(steps=4, batch=2, frames=12, warmup=2, log_every=2, val_every=4, threads=1)
    runs = [train(corpus, corpus, V.load_table().shapes, cfg, TINY) for _ in range(2)]
    (a, summary), (b, _) = runs
    assert all(torch.equal(a.state_dict()[k], b.state_dict()[k]) for k in a.state_dict())
    assert [h["train_total"] for h in summary["history"]] == [h["train_total"] for h in runs[1][1]["history"]]
    assert "val_total" in summary["final"] and np.isfinite(summary["final"]["val_total"])


def test_long_audio_is_encoded_in_chunks_without_seams(repo_dir, gen):
    """Chunked encoding (8 s chunks, 2 s of context) equals one pass over 30 s of speech, and
    the motion's speed at each chunk border is that of the rest of the sequence."""
    from talkinghead import media
    from talkinghead.motion import Chunking, encode_audio

    speech = media.load_audio(repo_dir / "examples" / "speech_en.wav")
    audio = np.tile(speech, int(np.ceil(30 * SR / len(speech))))[: 30 * SR]
    with torch.inference_mode():
        whole = gen.decode(gen.encode(audio_features(audio, fps=25.0)))[0].numpy()
        chunked = gen.decode(encode_audio(gen, audio, 25.0, chunking=Chunking(seconds=8.0, overlap=2.0)))[0].numpy()
        short = gen.decode(encode_audio(gen, speech, 25.0))[0].numpy()  # one chunk: exactly one pass
    assert chunked.shape == whole.shape == (750, 68, 3)
    with torch.inference_mode():
        np.testing.assert_array_equal(short, gen(audio_features(speech, fps=25.0))[0].numpy())
    spread = whole.std(0).mean()
    assert np.abs(chunked - whole).max(-1).mean() < 0.05 * spread
    opening = geometry.mouth_features(geometry.canonical_face() + chunked).opening
    speed = np.abs(np.diff(opening))
    borders = [199, 399, 599]  # the steps from frame 199 to 200 etc.
    normal = np.percentile(speed, 99)
    assert all(speed[b - 2 : b + 3].max() <= normal for b in borders), (speed[[b for b in borders]], normal)
    deviation = np.abs(chunked - whole).max(-1).mean(-1)
    assert deviation[[b for b in borders]].max() < 0.1 * spread
