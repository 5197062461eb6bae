"""Real-video training set: ``python -m talkinghead.train.realdata [--data ../shared/avdata]``.

For every training clip (GRID speaker s1 by default, ``train/grid_s1`` of ``../shared/avdata``):

1. **Motion targets** in exactly the space the generator predicts: the project's landmark tracker
   (:func:`talkinghead.face.get_landmarker`, smoothed track) and the style-clip analysis
   (:func:`talkinghead.style.analysis.analyse_track`), whose φ_s is the clip's canonical-frame
   shape minus the person's own neutral (the median of their most closed, eyes-open frames) worn
   by the canonical face. Target = ``φ_s − canonical_face()``: the displacement from the neutral
   in inter-ocular units, one row per video frame.
2. **Audio features**: the clip's own sound, level-normalised log-mel at 120 Hz
   (:func:`talkinghead.features.log_mel` after :func:`talkinghead.features.normalise_level`), the same
   front end as at inference.
3. **Audio–video offset**: the lag (±400 ms) at which the tracked inner-lip opening best
   correlates with the voice loudness (dB of the voice-band RMS,
   :func:`talkinghead.features.voice_energy`) over the voiced stretch; positive = the mouth follows
   the sound. Reported per clip and for the mean curve of all clips; not applied to the targets
   (GRID is recorded in sync — the mean curve peaks at 0 — and a 3 s clip's own estimate is
   noisier than the true offset).

Each clip is cached as its own ``.npz`` under ``--cache`` (a rerun only tracks what is missing),
then all are concatenated into one :class:`RealCorpus` file. The held-out GRID speakers in
``train/grid_other`` and the ``eval/`` clips are never read here.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import multiprocessing
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from talkinghead.features import DEFAULT_MEL, log_mel, normalise_level, voice_energy
from talkinghead.geometry import N_POINTS, canonical_face, mouth_features

log = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parents[2]
VERSION = 1  # bump when the per-clip content changes (part of the cache key)
MAX_OFFSET_S = 0.4  # offsets searched within ±this
PAD_S = 0.25  # the offset is estimated on the voiced stretch ± this
VOICED_DB = -20.0  # voiced: loudness above the clip's peak + this (dB)


@dataclass
class RealCorpus:
    """Real clips concatenated: clip i is ``mel[mel_offsets[i]:mel_offsets[i+1]]`` (120 Hz) and
    ``motion[frame_offsets[i]:frame_offsets[i+1]]`` (video frames at ``fps[i]``)."""

    mel: np.ndarray  # N_mel×80 float16 log-mel at 120 Hz
    mel_offsets: np.ndarray  # n+1 int64
    motion: np.ndarray  # N_frames×68×3 float16 displacement from the person's neutral (canonical frame)
    valid: np.ndarray  # N_frames bool: a face was tracked and usable (StyleTrack.valid)
    energy: np.ndarray  # N_frames float32 voice-band RMS at the video frames (audio.voice_energy)
    frame_offsets: np.ndarray  # n+1 int64
    fps: np.ndarray  # n float64 video frame rate of each clip
    offset_s: np.ndarray  # n float64 estimated audio–video offset (+: the mouth follows the sound)
    offset_r: np.ndarray  # n float64 correlation of opening and voice energy at that offset
    names: np.ndarray  # n str clip names

    def __len__(self) -> int:
        return len(self.names)

    def seconds(self) -> float:
        return float(((self.frame_offsets[1:] - self.frame_offsets[:-1]) / self.fps).sum())

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.npz")
        np.savez(tmp, **{k: getattr(self, k) for k in self.__dataclass_fields__})
        tmp.replace(path)

    @staticmethod
    def load(path: Path) -> RealCorpus:
        with np.load(path, allow_pickle=False) as z:
            return RealCorpus(**{k: z[k] for k in RealCorpus.__dataclass_fields__})

    def subset(self, keep: np.ndarray) -> RealCorpus:
        """The clips where ``keep`` (n bool) is True."""
        idx = np.flatnonzero(keep)
        mel = [self.mel[self.mel_offsets[i]:self.mel_offsets[i + 1]] for i in idx]
        mot = [self.motion[self.frame_offsets[i]:self.frame_offsets[i + 1]] for i in idx]
        val = [self.valid[self.frame_offsets[i]:self.frame_offsets[i + 1]] for i in idx]
        energy = np.concatenate([self.energy[self.frame_offsets[i]:self.frame_offsets[i + 1]] for i in idx])
        return RealCorpus(
            mel=np.concatenate(mel), mel_offsets=_offsets(mel), motion=np.concatenate(mot),
            valid=np.concatenate(val), energy=energy, frame_offsets=_offsets(mot), fps=self.fps[idx],
            offset_s=self.offset_s[idx], offset_r=self.offset_r[idx], names=self.names[idx],
        )


def _offsets(parts: list[np.ndarray]) -> np.ndarray:
    return np.concatenate([[0], np.cumsum([len(p) for p in parts])]).astype(np.int64)


def offset_curve(opening: np.ndarray, loud_db: np.ndarray, fps: float, max_s: float = MAX_OFFSET_S,
                 pad_s: float = PAD_S) -> tuple[np.ndarray, np.ndarray]:
    """(lags in frames, correlation per lag) of the mouth opening ``opening[t + k]`` with the voice
    loudness ``loud_db[t]`` over the voiced stretch of the clip (first to last frame within 20 dB
    of the peak, ± ``pad_s``). Restricting to the stretch keeps mouth motion before and after the
    utterance (breathing in, GRID speakers' open-mouth pauses) out of the estimate."""
    n = len(opening)
    voiced = np.flatnonzero(loud_db > loud_db.max() + VOICED_DB)
    pad = int(round(pad_s * fps))
    lo, hi = (0, n) if len(voiced) == 0 else (max(0, voiced[0] - pad), min(n, voiced[-1] + pad + 1))
    lags = np.arange(-int(round(max_s * fps)), int(round(max_s * fps)) + 1)
    corr = np.zeros(len(lags))
    for i, k in enumerate(lags):
        t = np.arange(max(lo, -k), min(hi, n - k))
        if len(t) < 3:
            continue
        x, y = opening[t + k] - opening[t + k].mean(), loud_db[t] - loud_db[t].mean()
        den = np.sqrt((x * x).sum() * (y * y).sum())
        corr[i] = (x * y).sum() / den if den > 0 else 0.0
    return lags, corr


def loudness_db(energy: np.ndarray) -> np.ndarray:
    """Voice-band RMS → dB re the clip's peak, floored at −60 dB (opening follows loudness on a
    log scale: with linear energy the loud first word of a sentence dominates the estimate)."""
    e = np.asarray(energy, dtype=np.float64)
    return 20 * np.log10(e / max(e.max(), 1e-12) + 1e-3)


def estimate_offset(opening: np.ndarray, energy: np.ndarray, fps: float) -> tuple[float, float]:
    """(offset s, correlation): the lag within ±``MAX_OFFSET_S`` where the mouth opening best
    follows the voice loudness (dB) over the voiced stretch (+: the mouth comes later than the
    sound). ``energy`` is linear (:func:`talkinghead.features.voice_energy`)."""
    lags, corr = offset_curve(opening, loudness_db(energy), fps)
    i = int(np.argmax(corr))
    return float(lags[i] / fps), float(corr[i])


def clip_targets(path: Path, landmarker=None) -> dict[str, np.ndarray]:
    """Track one clip and return its arrays: ``mel`` (float16), ``motion`` (T×68×3 float16),
    ``valid`` (T bool), ``fps``, ``energy`` (T voice-band RMS at the video frames) and ``neutral``
    (68×3, the person's neutral face in the canonical frame)."""
    from talkinghead import media
    from talkinghead.face import get_landmarker
    from talkinghead.style.analysis import analyse_track

    clip = media.load_video(path)
    if clip.audio is None:
        raise ValueError(f"{path.name} has no audio track")
    landmarker = landmarker or get_landmarker("mediapipe")
    vl = landmarker.track(clip.frames, clip.fps, what=path.name)
    analysis = analyse_track(vl, clip.fps, clip.frames)
    motion = analysis.phi_s() - canonical_face()[None]  # φ_s − canonical = canonical_t − neutral
    mel = log_mel(normalise_level(clip.audio)).numpy()
    return {
        "mel": mel.astype(np.float16), "motion": motion.astype(np.float16),
        "valid": analysis.track.valid.astype(bool), "fps": np.float64(clip.fps),
        "energy": voice_energy(clip.audio, len(motion), clip.fps).astype(np.float32),
        "neutral": analysis.neutral.astype(np.float32),
    }


def _cache_key() -> str:
    text = json.dumps({"version": VERSION, "mel": repr(DEFAULT_MEL)}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _work(args: tuple[list[str], str]) -> list[str]:
    """Track each clip not cached yet (one landmarker per process)."""
    import torch

    from talkinghead.face import get_landmarker

    torch.set_num_threads(1)
    paths, cache = args
    landmarker = get_landmarker("mediapipe")
    failed = []
    for p in map(Path, paths):
        out = Path(cache) / f"{p.stem}.npz"
        if out.is_file():
            continue
        try:
            arrays = clip_targets(p, landmarker)
        except Exception as exc:  # noqa: BLE001 — a bad clip is reported and skipped, not fatal
            log.warning("skipped %s: %s", p.name, exc)
            failed.append(p.name)
            continue
        tmp = out.with_suffix(".tmp.npz")
        np.savez(tmp, **arrays)
        tmp.replace(out)
    return failed


def build(paths: list[Path], cache_dir: Path, *, workers: int = 1) -> RealCorpus:
    """Track every clip (cached per clip in ``cache_dir``) and concatenate them."""
    paths = sorted(paths)
    clip_dir = cache_dir / f"real_{_cache_key()}"
    clip_dir.mkdir(parents=True, exist_ok=True)
    todo = [str(p) for p in paths if not (clip_dir / f"{p.stem}.npz").is_file()]
    t0 = time.time()
    if todo:
        log.info("tracking %d of %d clips with %d process(es)", len(todo), len(paths), workers)
        shares = [(todo[w::workers], str(clip_dir)) for w in range(workers)]
        if workers > 1:
            with multiprocessing.get_context("spawn").Pool(workers) as pool:
                failed = sum(pool.map(_work, shares), [])
        else:
            failed = _work(shares[0])
        log.info("tracked in %.0f s (%d failed: %s)", time.time() - t0, len(failed), ", ".join(failed[:10]))
    parts = {}
    for p in paths:
        f = clip_dir / f"{p.stem}.npz"
        if f.is_file():
            with np.load(f) as z:
                parts[p.stem] = {k: z[k] for k in z.files}
    names = list(parts)
    mel = [parts[n]["mel"] for n in names]
    mot = [parts[n]["motion"] for n in names]
    fps = np.array([float(parts[n]["fps"]) for n in names])
    offsets = [estimate_offset(_opening(parts[n]["motion"]), parts[n]["energy"], f) for n, f in zip(names, fps)]
    return RealCorpus(
        mel=np.concatenate(mel), mel_offsets=_offsets(mel),
        motion=np.concatenate(mot).reshape(-1, N_POINTS, 3), valid=np.concatenate([parts[n]["valid"] for n in names]),
        energy=np.concatenate([parts[n]["energy"] for n in names]),
        frame_offsets=_offsets(mot), fps=fps, offset_s=np.array([o for o, _ in offsets]),
        offset_r=np.array([r for _, r in offsets]), names=np.array(names),
    )


def concatenate(parts: list[RealCorpus]) -> RealCorpus:
    """Several corpora as one (clips in order)."""
    def cat(key: str) -> np.ndarray:
        return np.concatenate([getattr(c, key) for c in parts])

    def offsets(key: str) -> np.ndarray:  # the clips' lengths, accumulated over all parts
        return np.concatenate([[0], np.cumsum(np.concatenate([np.diff(getattr(c, key)) for c in parts]))]).astype(
            np.int64)

    return RealCorpus(mel=cat("mel"), mel_offsets=offsets("mel_offsets"), motion=cat("motion"), valid=cat("valid"),
                      energy=cat("energy"), frame_offsets=offsets("frame_offsets"), fps=cat("fps"),
                      offset_s=cat("offset_s"), offset_r=cat("offset_r"), names=cat("names"))


def _retime(x: np.ndarray, factor: float, n_out: int) -> np.ndarray:
    """``x`` (T×…) played ``factor`` times faster: ``n_out`` rows, row ``t'`` = ``x`` at ``t'·factor``
    (linear interpolation)."""
    src = np.minimum(np.arange(n_out) * factor, len(x) - 1)
    lo = np.floor(src).astype(np.int64)
    hi = np.minimum(lo + 1, len(x) - 1)
    w = (src - lo).reshape(-1, *([1] * (x.ndim - 1)))
    return x[lo] * (1 - w) + x[hi] * w


def augmented(corpus: RealCorpus, clip_dir: Path, cache_dir: Path, *, copies: int, seed: int = 0,
              speed: tuple[float, float] = (0.88, 1.14)) -> RealCorpus:
    """``copies`` augmented versions of every clip of ``corpus`` (sound re-read from
    ``clip_dir/<name>.mp4``), cached in ``cache_dir``: played 0.88–1.14× as fast (pitch,
    formants and timing change together: another voice's tract and speaking rate; the motion
    is re-timed with it), then the synthetic corpus' channel chain
    (:func:`talkinghead.train.augment.augment`: microphones, rooms, noise, music beds, gain,
    clipping, µ-law). Real motion heard through other voices and channels."""
    from talkinghead import media
    from talkinghead.train.augment import augment, change_speed

    key = hashlib.sha256(json.dumps({"names": corpus.names.tolist(), "copies": copies, "seed": seed, "speed": speed,
                                     "base": _cache_key()}).encode()).hexdigest()[:12]
    out = cache_dir / f"real_augmented_{key}.npz"
    if out.is_file():
        return RealCorpus.load(out)
    t0 = time.time()
    parts: list[RealCorpus] = []
    for i, name in enumerate(corpus.names):
        audio = media.load_audio(clip_dir / f"{name}.mp4")
        sl = clip_slice(corpus, i)
        motion, valid, energy = (corpus.motion[sl].astype(np.float32), corpus.valid[sl], corpus.energy[sl])
        for c in range(copies):
            rng = np.random.default_rng([seed, i, c])
            y, factor = change_speed(audio, float(rng.uniform(*speed)))
            y = augment(y, rng)
            n = int(round(len(motion) / factor))
            mel = log_mel(normalise_level(y)).numpy().astype(np.float16)
            parts.append(RealCorpus(
                mel=mel, mel_offsets=np.array([0, len(mel)]), motion=_retime(motion, factor, n).astype(np.float16),
                valid=_retime(valid.astype(np.float32), factor, n) > 0.999, energy=_retime(energy, factor, n),
                frame_offsets=np.array([0, n]), fps=corpus.fps[i:i + 1], offset_s=corpus.offset_s[i:i + 1],
                offset_r=corpus.offset_r[i:i + 1], names=np.array([f"{name}~{c}"])))
    result = concatenate(parts)
    result.save(out)
    log.info("%d augmented copies of %d real clips in %.0f s", copies, len(corpus), time.time() - t0)
    return result


def _opening(motion: np.ndarray) -> np.ndarray:
    return mouth_features(canonical_face()[None] + motion.astype(np.float32)).opening


def default_clips(data: Path) -> list[Path]:
    """The training clips: every video of ``train/grid_s1`` (GRID speaker s1)."""
    return sorted((data / "train" / "grid_s1").glob("*.mp4"))


def default_path(cache_dir: Path) -> Path:
    return cache_dir / "real_grid_s1.npz"


def clip_slice(corpus: RealCorpus, i: int) -> slice:
    return slice(int(corpus.frame_offsets[i]), int(corpus.frame_offsets[i + 1]))


def pooled_offset(corpus: RealCorpus) -> tuple[float, float]:
    """(offset s, mean correlation) of the mean offset curve over all clips (clips at one frame
    rate): one estimate for the whole corpus, far steadier than a 3 s clip's own."""
    curves = []
    for i in range(len(corpus)):
        sl = clip_slice(corpus, i)
        lags, c = offset_curve(_opening(corpus.motion[sl]), loudness_db(corpus.energy[sl]), float(corpus.fps[i]))
        curves.append(c)
    mean = np.mean(curves, axis=0)
    k = int(np.argmax(mean))
    return float(lags[k] / corpus.fps[0]), float(mean[k])


def summarise(corpus: RealCorpus) -> str:
    off = corpus.offset_s * 1000
    h = np.histogram(off, bins=[-401, -150, -70, -30, 30, 70, 150, 401])[0]
    pooled, pooled_r = pooled_offset(corpus)
    return (
        f"{len(corpus)} clips, {corpus.seconds() / 60:.1f} min, {100 * corpus.valid.mean():.1f} % of frames valid\n"
        f"audio–video offset (+: mouth after sound), mean curve of all clips: "
        f"{1000 * pooled:+.0f} ms (r {pooled_r:.2f}); "
        f"per clip: median {np.median(off):+.0f} ms, |offset| ≤ 30 ms in {100 * np.mean(np.abs(off) < 30):.0f} % "
        f"of clips, ≤ 70 ms in {100 * np.mean(np.abs(off) < 70):.0f} %; histogram "
        f"(<-150, -150..-70, -70..-30, ±30, 30..70, 70..150, >150 ms): {h.tolist()}; "
        f"opening–loudness r at the offset: median {np.median(corpus.offset_r):.2f}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m talkinghead.train.realdata", description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "avdata")
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "talkinghead")
    parser.add_argument("--workers", type=int, default=1, help="tracking processes")
    parser.add_argument("--limit", type=int, default=None, help="only the first N clips (a quick check)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    paths = default_clips(args.data)
    if not paths:
        print(f"no training clips under {args.data}/train/grid_s1")
        return 2
    paths = paths[: args.limit] if args.limit else paths
    corpus = build(paths, args.cache, workers=args.workers)
    if args.limit is None:
        corpus.save(default_path(args.cache))
        print(f"wrote {default_path(args.cache)}")
    print(summarise(corpus))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
