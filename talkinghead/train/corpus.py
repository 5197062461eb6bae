"""Synthetic training corpus: speech and singing with exact phoneme timing → (log-mel, viseme weights).

Each item is made from a seed alone (reproducible, order-free, parallel):

* **speech** (most items): random English text (:mod:`talkinghead.train.text`) spoken by espeak-ng
  with a random voice and variant, rate, pitch, pitch range and word gap, sometimes with SSML
  pauses, emphasis and loudness changes; one to three utterances joined by pauses.
* **song**: a random melody in a random key (3–8 notes, 0.3–2 s each, lyrics from sung
  syllables), vibrato, dynamics and envelopes, sung by :func:`talkinghead.speech.sing`.
* **background only**: music-like or noise-only audio, the mouth at rest throughout.

Pauses sometimes hold an audible breath (mouth at rest).

Targets are the coarticulated viseme weights (:func:`talkinghead.train.visemes.viseme_weights`)
on the clean audio at the mel frame times, then the audio is augmented
(:mod:`talkinghead.train.augment`) and turned into log-mel exactly as at inference.
"""

from __future__ import annotations

import hashlib
import json
import logging
import multiprocessing
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from scipy import signal

from talkinghead import speech
from talkinghead.features import DEFAULT_MEL, log_mel, mel_frame_count, normalise_level
from talkinghead.train import augment as aug
from talkinghead.train.text import TextGenerator
from talkinghead.train.visemes import N_VISEMES, loudness_db, segments, viseme_weights

log = logging.getLogger(__name__)

SR = speech.SAMPLE_RATE
BASE_VOICES = ("en-us", "en-us", "en-us", "en", "en-gb-x-rp", "en-029", "en-gb-scotland", "en-us-nyc",
               "en-gb-x-gbclan", "en-gb-x-gbcwmd")
SUNG_SYLLABLES = ("la", "laa", "ah", "oh", "ooh", "ee", "na", "ma", "da", "love", "you", "me", "my", "baby",
                  "so", "go", "day", "night", "shine", "heart", "fly", "away", "home", "yeah", "hallelujah",
                  "moon", "blue", "sky", "dream", "alone", "more", "tonight", "oh no", "mmm ah", "why")
KINDS = ("speech", "song", "background")


@dataclass(frozen=True)
class CorpusConfig:
    """What and how much to synthesise."""

    seed: int = 1234  # master seed; item i uses seed (seed, i)
    n_speech: int = 2000  # speech items
    n_song: int = 400  # sung items
    n_background: int = 100  # music/noise-only items
    min_seconds: float = 3.5  # items are at least this long (silence padding)
    max_seconds: float = 10.0  # and at most this long
    clean_fraction: float = 0.12  # items left without augmentation
    workers: int = 2  # processes (part of the corpus identity: see build)

    def key(self) -> str:
        fields = asdict(self)
        fields["version"] = 7
        return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:16]


@dataclass
class Corpus:
    """All items concatenated: item i is ``mel[offsets[i]:offsets[i+1]]`` (and weights alike)."""

    mel: np.ndarray  # N_frames×80 float16 log-mel at 120 Hz
    weights: np.ndarray  # N_frames×N_VISEMES float16 viseme weights at the same frames
    offsets: np.ndarray  # n_items+1 int64
    kinds: np.ndarray  # n_items int8 index into KINDS

    def __len__(self) -> int:
        return len(self.kinds)

    def seconds(self) -> float:
        return len(self.mel) / DEFAULT_MEL.frame_rate

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.npz")
        np.savez(tmp, mel=self.mel, weights=self.weights, offsets=self.offsets, kinds=self.kinds)
        tmp.replace(path)

    @staticmethod
    def load(path: Path) -> Corpus:
        with np.load(path) as d:
            return Corpus(d["mel"], d["weights"], d["offsets"], d["kinds"])


def _voice(rng: np.random.Generator, variants: list[str]) -> str:
    base = str(rng.choice(BASE_VOICES))
    if rng.random() < 0.75 and variants:
        return f"{base}+{rng.choice(variants)}"
    return base


def _ssml_text(gen: TextGenerator, rng: np.random.Generator) -> str:
    """Text with random SSML pauses, emphasis and loudness (escaped plain words otherwise)."""
    words = gen.text().split()
    out = []
    for w in words:
        r = rng.random()
        if r < 0.06:
            out.append(f'<break time="{int(rng.uniform(150, 900))}ms"/>')
        if r > 0.93:
            out.append(f'<prosody volume="{rng.choice(["loud", "x-loud", "soft", "x-soft"])}">{w}</prosody>')
        elif r > 0.89:
            out.append(f"<emphasis>{w}</emphasis>")
        else:
            out.append(w)
    return " ".join(out)


def _speech_audio(rng: np.random.Generator, gen: TextGenerator, variants: list[str]) -> speech.Utterance:
    voice = _voice(rng, variants)
    rate = int(np.clip(rng.normal(175, 40), 90, 300))
    pitch = int(rng.integers(10, 91))
    rng_ = int(rng.integers(10, 101))
    gap = int(rng.choice([0, 0, 0, 2, 5, 10]))
    parts: list[speech.Utterance] = []
    for _ in range(int(rng.choice([1, 1, 2, 3]))):
        if rng.random() < 0.35:
            text, ssml = _ssml_text(gen, rng), True
        else:
            text, ssml = gen.text(), False
        parts.append(speech.synthesize(text, voice=voice, rate=rate, pitch=pitch, range=rng_, word_gap=gap, ssml=ssml))
    return _join(parts, rng)


def _join(parts: list[speech.Utterance], rng: np.random.Generator) -> speech.Utterance:
    audio: list[np.ndarray] = []
    phones: list[tuple[float, float, str]] = []
    t = 0.0
    for i, u in enumerate(parts):
        if i:
            pause = np.zeros(int(rng.uniform(0.15, 1.0) * SR), np.float32)
            audio.append(pause)
            phones.append((t, t + len(pause) / SR, speech.SILENCE))
            t += len(pause) / SR
        audio.append(u.audio)
        phones += [(t + s, t + e, p) for s, e, p in u.phonemes]
        t += u.duration
    return speech.Utterance(np.concatenate(audio), phones)


def _song_audio(rng: np.random.Generator, variants: list[str]) -> speech.Utterance:
    female = rng.random() < 0.5
    base = str(rng.choice(("en-us", "en", "en-gb-x-rp")))
    fem = [v for v in variants if v.startswith("f") or v in ("Annie", "belinda", "linda", "steph", "aunty", "anika")]
    pool = fem if female and fem else variants
    voice = f"{base}+{rng.choice(pool)}" if pool and rng.random() < 0.8 else base
    root = rng.uniform(55, 70) if female else rng.uniform(43, 58)
    scale = [0, 2, 4, 5, 7, 9, 11] if rng.random() < 0.6 else [0, 2, 3, 5, 7, 8, 10]
    degree = int(rng.integers(0, 5))
    notes = []
    for _ in range(int(rng.integers(3, 9))):
        degree = int(np.clip(degree + rng.choice([-2, -1, -1, 0, 1, 1, 2, 3]), -2, 9))
        octave, step = divmod(degree, 7)
        midi = root + 12 * octave + scale[step]
        notes.append(speech.Note(
            syllable=str(rng.choice(SUNG_SYLLABLES)),
            midi=float(midi),
            duration=float(rng.choice([rng.uniform(0.3, 0.7), rng.uniform(0.7, 2.0)])),
            dynamic_db=float(rng.uniform(-9, 3)),
            envelope=str(rng.choice(["flat", "flat", "swell", "crescendo", "decrescendo"])),
            rest=float(rng.choice([0.0, 0.0, 0.0, rng.uniform(0.15, 0.6)])),
        ))
    depth, rate = float(rng.uniform(0, 60)), float(rng.uniform(4.5, 7.0))
    return speech.sing(notes, voice=voice, vibrato_cents=depth, vibrato_hz=rate)


def _background(rng: np.random.Generator) -> speech.Utterance:
    n = int(rng.uniform(3.5, 7.0) * SR)
    if rng.random() < 0.6:
        y = aug.music(rng, n) * 0.1
    else:
        y = aug.coloured_noise(rng, n, str(rng.choice(["white", "pink", "brown", "hum"]))) * 0.03
    return speech.Utterance(y.astype(np.float32), [(0.0, n / SR, speech.SILENCE)])


def _fit_length(u: speech.Utterance, rng: np.random.Generator, cfg: CorpusConfig) -> speech.Utterance:
    """Random leading/trailing silence, at least ``min_seconds``, at most ``max_seconds``."""
    lead = rng.uniform(0.05, 0.6)
    tail = rng.uniform(0.05, 0.6)
    total = lead + u.duration + tail
    if total < cfg.min_seconds:
        extra = cfg.min_seconds - total
        share = rng.uniform(0, 1)
        lead, tail = lead + share * extra, tail + (1 - share) * extra
    audio = np.concatenate([np.zeros(int(lead * SR), np.float32), u.audio, np.zeros(int(tail * SR), np.float32)])
    t0 = int(lead * SR) / SR
    phones = [(0.0, t0, speech.SILENCE)] + [(s + t0, e + t0, p) for s, e, p in u.phonemes]
    end = len(audio) / SR
    phones.append((phones[-1][1], end, speech.SILENCE))
    limit = cfg.max_seconds
    if end > limit:
        audio = audio[: int(limit * SR)]
        phones = [(s, min(e, limit), p) for s, e, p in phones if s < limit]
    return speech.Utterance(audio, phones)


def add_breaths(u: speech.Utterance, rng: np.random.Generator, probability: float = 0.4) -> speech.Utterance:
    """Audible breaths (band-passed noise, 0.15–0.45 s, 15–32 dB under the voice) in some pauses
    of at least 0.3 s; the phonemes stay silence, so the mouth stays at rest for them."""
    audio = u.audio.copy()
    voiced = audio[np.abs(audio) > 1e-4]
    ref = float(np.sqrt(np.mean(voiced**2))) if len(voiced) else 0.05
    for s, e, p in u.phonemes:
        if p != speech.SILENCE or e - s < 0.3 or rng.random() > probability:
            continue
        dur = min(rng.uniform(0.15, 0.45), e - s - 0.1)
        start = s + 0.05 + rng.uniform(0.0, max(0.0, e - s - 0.1 - dur))
        n = int(dur * SR)
        lo, hi = rng.uniform(200, 600), rng.uniform(1500, 4000)
        sos = signal.butter(2, [lo, hi], btype="bandpass", fs=SR, output="sos")
        noise = signal.sosfilt(sos, rng.standard_normal(n)) * np.hanning(n)
        noise *= ref * 10 ** (-rng.uniform(15, 32) / 20) / (np.sqrt(np.mean(noise**2)) + 1e-12)
        k = int(start * SR)
        audio[k : k + n] += noise[: len(audio) - k].astype(np.float32)
    return speech.Utterance(audio, u.phonemes)


def make_item(cfg: CorpusConfig, index: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Item ``index`` → (log-mel T×80 float16, viseme weights T×N_VISEMES float16, kind)."""
    rng = np.random.default_rng([cfg.seed, index])
    gen = TextGenerator(int(rng.integers(2**31)))
    variants = speech.list_variants()
    if index < cfg.n_speech:
        kind, u = 0, _speech_audio(rng, gen, variants)
    elif index < cfg.n_speech + cfg.n_song:
        kind, u = 1, _song_audio(rng, variants)
    else:
        kind, u = 2, _background(rng)
    if kind != 2:
        u = add_breaths(_fit_length(u, rng, cfg), rng)
        # vocal-tract / tempo change: resample, scale the phoneme times
        if rng.random() < 0.5:
            audio, f = aug.change_speed(u.audio, float(rng.uniform(0.88, 1.14)))
            u = speech.Utterance(audio, [(s / f, e / f, p) for s, e, p in u.phonemes])
    times = np.arange(mel_frame_count(len(u.audio))) / DEFAULT_MEL.frame_rate
    weights = viseme_weights(segments(u.phonemes), times, loudness=loudness_db(u.audio, times))
    clean = rng.random() < cfg.clean_fraction
    audio = u.audio if clean else aug.augment(u.audio, rng)
    mel = log_mel(normalise_level(audio)).numpy()
    if len(mel) != len(weights):
        raise RuntimeError(f"item {index}: {len(mel)} mel frames but {len(weights)} target frames")
    return mel.astype(np.float16), weights.astype(np.float16), kind


def _work(args: tuple[CorpusConfig, list[int]]) -> list[tuple[np.ndarray, np.ndarray, int]]:
    cfg, indices = args
    import torch

    torch.set_num_threads(1)
    return [make_item(cfg, i) for i in indices]


def build(cfg: CorpusConfig, cache_dir: Path | None = None) -> Corpus:
    """Synthesise the corpus (or load it from ``cache_dir`` when the same config was built).

    espeak-ng carries a little state from one call to the next (the glottal cycle phase, which
    shifts later phonemes by a few samples), so each worker is a fresh process that makes a fixed
    share of the items (every ``workers``-th) in order: the same config and ``workers`` give the
    same corpus.
    """
    path = None if cache_dir is None else Path(cache_dir) / f"motion_corpus_{cfg.key()}.npz"
    if path is not None and path.is_file():
        log.info("loading cached corpus %s", path)
        return Corpus.load(path)
    total = cfg.n_speech + cfg.n_song + cfg.n_background
    t0 = time.time()
    shares = [(cfg, list(range(w, total, cfg.workers))) for w in range(cfg.workers)]
    log.info("corpus: synthesising %d items with %d process(es)", total, cfg.workers)
    if cfg.workers > 1:
        ctx = multiprocessing.get_context("spawn")  # fresh processes: espeak starts from its initial state
        with ctx.Pool(cfg.workers) as pool:
            parts = pool.map(_work, shares)
    else:
        parts = [_work(shares[0])]
    items: list[tuple[np.ndarray, np.ndarray, int]] = [None] * total  # type: ignore[list-item]
    for (_, indices), part in zip(shares, parts, strict=True):
        for i, item in zip(indices, part, strict=True):
            items[i] = item
    lengths = np.array([len(m) for m, _, _ in items])
    corpus = Corpus(
        mel=np.concatenate([m for m, _, _ in items]),
        weights=np.concatenate([w for _, w, _ in items]),
        offsets=np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
        kinds=np.array([k for _, _, k in items], np.int8),
    )
    assert corpus.weights.shape[1] == N_VISEMES
    log.info("corpus: %d items, %.2f h of audio in %.0f s", len(corpus), corpus.seconds() / 3600, time.time() - t0)
    if path is not None:
        corpus.save(path)
    return corpus
