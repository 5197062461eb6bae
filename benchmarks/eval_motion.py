"""Evaluation of the audio → motion generator on audio it was never trained on.

    python -m benchmarks.eval_motion [--media ../shared/media] [--weights FILE.safetensors] [--json out.json]

Clips: the held-out real recordings in ``../shared/media`` (English and Chinese speech from
``audio/``; ``lp_d10``, a face lip-syncing to a voice track; the audio of ``sad_WDA_KatieHill_000``,
whose *video* was one of the viseme-measurement clips but whose audio the network never saw),
the example speech ``examples/speech_en.wav`` and the sung example ``examples/song_vowels.wav``.
The network was trained only on synthetic espeak-ng speech/singing.

Measures (25 fps; "closed" = opening under 10 % of the clip's opening range above its minimum):

* **corr** — Pearson correlation of the predicted mouth opening with the voiced-speech energy
  envelope (RMS of the 80–3000 Hz band in a 80 ms Hann window at each frame), best lag within
  ±80 ms (:func:`talkinghead.metrics.mouth_opening_energy_correlation`). Target ≥ 0.6.
* **silence** — share of frames with a closed mouth inside silences longer than 200 ms (band
  energy 30 dB under the clip's 95th percentile; the first 2 frames after the sound stops are not
  scored) (:func:`talkinghead.metrics.silence_closure_rate`). Target ≥ 0.9.
* **bilabial** — for every m/b/p that pocketsphinx finds (forced alignment of its decoded words;
  English clips), whether the mouth is closed at some frame within ±2 frames of the phone. Target ≥ 0.7.
* **real r** — for clips with a real face: correlation of the predicted and the real (tracked)
  mouth opening, best lag within ±200 ms (reported, no target: lip-sync videos are loosely synced).
* singing (the sung example, phoneme times known): **open** — share of frames inside sustained
  vowels (> 0.4 s, 60 ms trimmed at each end) whose opening is above 20 % of the range (target
  ≥ 0.9); **loud r** — correlation of opening with loudness (dB) over the clip, best lag ±80 ms
  (target ≥ 0.5), and inside the sustained vowels only.
* **speed** — audio features + generator on 10 s of audio at 25 fps, median of 5 runs,
  as a multiple of real time (target ≥ 50×).
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
FPS = 25.0
CLOSED = 0.10  # closed: opening < min + 10 % of the range
OPEN = 0.20  # open (sung vowels): opening > min + 20 % of the range (twice the closed threshold)
SILENCE_DB = -30.0  # silence: band energy this far under the clip's 95th percentile
MIN_SILENCE_S = 0.2
BILABIAL_TOL = 2  # frames

# (name, path under media, language, has a real face track)
REAL_CLIPS = (
    ("RD_Radio31 (en)", "audio/sad_RD_Radio31_000.wav", "en", False),
    ("echomimic_en (en)", "audio/em_echomimic_en.wav", "en", False),
    ("hallo_1 (en)", "audio/hallo_1.wav", "en", False),
    ("KatieHill audio (en)", "style_clips/sad_WDA_KatieHill_000.mp4", "en", True),
    ("ap_lyl (zh)", "audio/ap_lyl.wav", "zh", False),
    ("chunnuanhuakai (zh)", "audio/em_chunnuanhuakai.wav", "zh", False),
    ("lp_d10 lip-sync", "style_clips/lp_d10.mp4", "music", True),
)


@dataclass
class Row:
    name: str
    seconds: float
    corr: float | None = None
    silence: float | None = None
    n_silence_frames: int = 0
    bilabial: float | None = None
    n_bilabial: int = 0
    real_r: float | None = None
    extra: dict = field(default_factory=dict)


def band_rms(audio: np.ndarray, n: int, fps: float) -> np.ndarray:
    """RMS of the 80–3000 Hz band in an 80 ms Hann window at each frame time k/fps."""
    from talkinghead.features import voice_energy

    return voice_energy(audio, n, fps)


def predict_opening(gen, audio: np.ndarray, fps: float = FPS) -> np.ndarray:
    import torch

    from talkinghead import geometry
    from talkinghead.motion import audio_features

    with torch.inference_mode():
        disp = gen(audio_features(audio, fps=fps))[0].numpy()
    return geometry.mouth_features(geometry.canonical_face() + disp).opening


def closed_threshold(opening: np.ndarray) -> float:
    return float(opening.min() + CLOSED * (opening.max() - opening.min()))


def silence_rate(opening: np.ndarray, energy: np.ndarray) -> tuple[float | None, int]:
    from talkinghead import metrics
    from talkinghead.errors import InputError

    db = 20 * np.log10(energy / np.percentile(energy, 95) + 1e-12)
    silent = db < SILENCE_DB
    try:
        rate = metrics.silence_closure_rate(
            opening, silent, threshold=closed_threshold(opening), min_silence_frames=int(round(MIN_SILENCE_S * FPS))
        )
    except InputError:  # no silence long enough in this clip
        return None, 0
    return rate, int(silent.sum())


def bilabial_rate(opening: np.ndarray, audio: np.ndarray) -> tuple[float | None, int]:
    from talkinghead.train.phones import phone_alignment

    phones, _ = phone_alignment(audio)
    thr = closed_threshold(opening)
    hits = []
    for s, e, ph in phones:
        if ph in ("M", "B", "P"):
            k0 = max(0, int(np.floor(s * FPS)) - BILABIAL_TOL)
            k1 = min(len(opening), int(np.ceil(e * FPS)) + BILABIAL_TOL + 1)
            hits.append(bool((opening[k0:k1] < thr).any()))
    return (float(np.mean(hits)) if hits else None), len(hits)


def best_lag_corr(x: np.ndarray, y: np.ndarray, max_lag: int) -> tuple[float, int]:
    from talkinghead import metrics

    lags, corr = metrics.lag_correlations(x, y, max_lag)
    i = int(np.argmax(corr))
    return float(corr[i]), int(lags[i])


def real_opening(path: Path, n: int) -> np.ndarray:
    """Tracked real mouth opening of a clip at FPS, ``n`` frames."""
    from talkinghead import geometry, media
    from talkinghead.face import get_landmarker

    clip = media.load_video(path, with_audio=False)
    track = get_landmarker("mediapipe").track(clip.frames, clip.fps, what=path.name)
    o = geometry.mouth_features(track.points).opening
    t_src = np.arange(len(o)) / clip.fps
    return np.interp(np.arange(n) / FPS, t_src, o)


def eval_speech(gen, name: str, audio: np.ndarray, *, english: bool, face: Path | None) -> Row:
    from talkinghead import metrics

    opening = predict_opening(gen, audio)
    energy = band_rms(audio, len(opening), FPS)
    row = Row(name, len(audio) / 16000)
    row.corr = metrics.mouth_opening_energy_correlation(opening, energy, FPS, max_lag_ms=80.0)
    row.silence, row.n_silence_frames = silence_rate(opening, energy)
    if english:
        row.bilabial, row.n_bilabial = bilabial_rate(opening, audio)
    if face is not None:
        r, lag = best_lag_corr(opening, real_opening(face, len(opening)), int(0.2 * FPS))
        row.real_r = r
        row.extra["real_lag_ms"] = lag * 1000 / FPS
    return row


def eval_song(gen, audio: np.ndarray, phonemes: list[tuple[float, float, str]]) -> Row:
    from talkinghead import metrics
    from talkinghead.speech import is_vowel
    from talkinghead.train.visemes import loudness_db

    opening = predict_opening(gen, audio)
    n = len(opening)
    times = np.arange(n) / FPS
    loud = loudness_db(audio, times)
    row = Row("song_vowels (example, sung)", len(audio) / 16000)
    row.silence, row.n_silence_frames = silence_rate(opening, band_rms(audio, n, FPS))
    thr_open = opening.min() + OPEN * (opening.max() - opening.min())
    inside = np.zeros(n, bool)
    for s, e, ph in phonemes:
        if is_vowel(ph) and e - s > 0.4:
            inside |= (times >= s + 0.06) & (times <= e - 0.06)
    row.extra["open_in_vowels"] = float(np.mean(opening[inside] > thr_open)) if inside.any() else None
    row.extra["loudness_r"] = metrics.mouth_opening_energy_correlation(opening, loud, FPS, max_lag_ms=80.0)
    in_vowels = float(np.corrcoef(opening[inside], loud[inside])[0, 1]) if inside.sum() > 3 else None
    row.extra["loudness_r_in_vowels"] = in_vowels
    row.corr = metrics.mouth_opening_energy_correlation(opening, band_rms(audio, n, FPS), FPS, max_lag_ms=80.0)
    return row


def speed(gen, audio: np.ndarray) -> float:
    import torch

    from talkinghead.motion import audio_features

    clip = np.resize(audio, 10 * 16000).astype(np.float32)
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        with torch.inference_mode():
            gen(audio_features(clip, fps=FPS))
        times.append(time.perf_counter() - t0)
    return 10.0 / float(np.median(times))


def fmt(v: float | None, digits: int = 2) -> str:
    return "   –" if v is None else f"{v:.{digits}f}"


def load(weights: Path | None):
    """The generator to evaluate: ``weights`` or the shipped file."""
    from talkinghead.motion import load_motion_generator

    return load_motion_generator(path=weights)


def run(gen, media_dir: Path, *, verbose: bool = True) -> tuple[dict[str, float | None], list[Row]]:
    """Score ``gen`` on every clip; print the tables when ``verbose``; return the summary values
    and the per-clip rows."""
    from talkinghead import media
    from talkinghead.speech import Utterance

    rows: list[Row] = []
    for name, rel, lang, has_face in REAL_CLIPS:
        path = media_dir / rel
        if not path.is_file():
            print(f"skip {name}: {path} not found")
            continue
        audio = media.load_audio(path)
        rows.append(eval_speech(gen, name, audio, english=lang == "en", face=path if has_face else None))
    from examples.make_audio import make_song, make_speech

    speech_utt: Utterance = make_speech()
    example = media.load_audio(REPO / "examples" / "speech_en.wav")
    rows.append(eval_speech(gen, "speech_en (example)", example, english=True, face=None))
    song_utt = make_song()
    song = media.load_audio(REPO / "examples" / "song_vowels.wav")
    if abs(len(song) - len(song_utt.audio)) > 160 or abs(len(example) - len(speech_utt.audio)) > 160:
        print("warning: the example files differ from what examples/make_audio.py makes now")
    song_row = eval_song(gen, song, song_utt.phonemes)
    rtf = speed(gen, example)

    speech_rows = [r for r in rows if "lip-sync" not in r.name]

    def mean(values: list[float | None]) -> float | None:
        v = [x for x in values if x is not None]
        return float(np.mean(v)) if v else None

    def pooled_bilabial() -> float | None:
        n = sum(r.n_bilabial for r in speech_rows if r.bilabial is not None)
        return sum(r.bilabial * r.n_bilabial for r in speech_rows if r.bilabial is not None) / n if n else None

    summary = {
        "speech corr (mean)": (mean([r.corr for r in speech_rows]), 0.6),
        "speech corr (worst clip)": (min(r.corr for r in speech_rows), None),
        "closed in silences > 200 ms (mean)": (mean([r.silence for r in speech_rows]), 0.9),
        "bilabials closed ±2 frames (pooled)": (pooled_bilabial(), 0.7),
        "singing: open in sustained vowels": (song_row.extra["open_in_vowels"], 0.9),
        "singing: opening ~ loudness r": (song_row.extra["loudness_r"], 0.5),
        "singing: opening ~ loudness r (in vowels)": (song_row.extra["loudness_r_in_vowels"], None),
        "speed (× real time, 25 fps)": (rtf, 50.0),
    }
    if verbose:
        head = f"{'sec':>5s} {'corr':>5s} {'silence':>7s} {'(fr)':>5s} {'bilabial':>8s} {'(n)':>4s} {'real r':>6s}"
        print(f"\n{'clip':30s} {head}")
        for r in rows + [song_row]:
            print(f"{r.name:30s} {r.seconds:5.1f} {fmt(r.corr):>5s} {fmt(r.silence):>7s} {r.n_silence_frames:5d} "
                  f"{fmt(r.bilabial):>8s} {r.n_bilabial:4d} {fmt(r.real_r):>6s}"
                  + (f"  (lag {r.extra['real_lag_ms']:+.0f} ms)" if "real_lag_ms" in r.extra else ""))
        print(f"\n{'measure':44s} {'value':>7s} {'target':>7s}  pass")
        for k, (v, target) in summary.items():
            ok = "" if target is None or v is None else ("yes" if v >= target else "NO")
            goal = f"≥ {target:g}" if target else ""
            print(f"{k:44s} {fmt(v, 3 if v is not None and v < 10 else 0):>7s} {goal:>7s}  {ok}")
    return {k: v for k, (v, _) in summary.items()}, rows + [song_row]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.eval_motion", description=__doc__.splitlines()[0])
    parser.add_argument("--media", type=Path, default=REPO.parent / "shared" / "media")
    parser.add_argument("--weights", type=Path, default=None, help="weights file (default: the shipped one)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--json", type=Path, help="also write the results as JSON")
    args = parser.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    summary, rows = run(load(args.weights), args.media)
    if args.json is not None:
        args.json.write_text(json.dumps({
            "clips": [r.__dict__ for r in rows],
            "summary": summary,
        }, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
