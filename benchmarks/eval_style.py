"""Style that shows and is right: the style transfer judged against the truth.

    python -m benchmarks.eval_style [--parts self cross timing] [--clips NAME ...] [--styles CLIP ...]
                                    [--max-seconds 30] [--seconds S] [--threads 1] [--json out.json]

A few minutes on a 2-core CPU; ``--clips`` / ``--styles`` / ``--seconds`` / ``--max-seconds`` run less.

**self** — self-reenactment. Every clip of ``../shared/avdata/eval/`` and the style clips of
``../shared/media/style_clips/`` that have their own voice (:data:`VOICED_STYLE_CLIPS`): the shipped
motion generator driven by the clip's own audio (:func:`talkinghead.motion.encode_audio`, as the
pipeline does), the clip itself as the style (:func:`talkinghead.transfer.transfer_style`), and the
clip's own tracked face as the truth (its φ_s at the output fps: the person's expressions relative
to their own neutral, worn by the canonical face — the generator's space). The clip's audio–video
offset is estimated from the real mouth and the voice alone (as :mod:`benchmarks.eval_lipsync`) and
reported; every score is taken at the lag (±160 ms) where the *un-styled* motion's mouth opening
best follows the real one, the same lag before and after the transfer. Per clip, before → after the
transfer, and the **still** mouth (the truth's own time-average shape, not moving; it has no
amplitude or correlation, shown "–") beside them. A clip that cannot be scored (no voice, no usable
face) is listed with the reason.

* **shape** — distance of the time-averaged mouth (20 points, each frame centred on its mouth
  centroid) to the truth's, pixels of the 512² crop aligned on the person's neutral face;
* **|amp|** — |log(std of the mouth opening / the truth's)|: 0 = the real amplitude;
* **LMD** — the paper's mouth landmark distance to the truth, same crop pixels;
* **r** — correlation of the mouth opening with the real one;
* **Δbrow**, **Δeye** — median brow height (inter-ocular units × 100) and eye aspect ratio
  (× 100) minus the truth's (:func:`talkinghead.metrics.style_statistics`);
* **SLD / SLV / SMD** — the paper's style metrics against the truth (eq. 10, canonical motion in
  the 512² crop's scale, :func:`talkinghead.metrics.style_metrics`).

**cross** — does the style show after rendering? One portrait and one audio, rendered with each
style clip by the pipeline (renderer ``warp``, framing ``face``, no side-by-side); the landmarks
are tracked back from the result video (as ``benchmarks/compare_styles.py``) and reduced to
:func:`talkinghead.metrics.style_statistics`, like the clip's own track. Across clips, the Spearman
rank correlation of each statistic between the clip and the output says whether the output follows
the styles' order; strength 0 (the un-styled motion, with the clip's head motion and blinks still
applied) is the baseline, so the difference is what the transfer adds. ``motion`` is the same for
what the renderer was asked to draw (the portrait wearing the styled motion, the head track and the
blink schedule), ``video`` for what it drew. The clip side is taken twice: its **track** (the clip
person's face, identity included) and its **φ_s** (their expressions relative to their own neutral,
worn by the canonical face: what the transfer is given, so the fair target for mouth width, brows
and eyes, which a person's face sets more than a style). **gain** is the least-squares slope of the
output's statistic on the clip φ_s's: how much of the differences between styles shows.

**timing** — the style transfer alone (default settings) for 10 s of the example speech, with one
torch thread and with the pipeline's CPU threads.
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from benchmarks.eval_lipsync import MAX_LAG_S, best_lag, shift_pair, to_crop

if TYPE_CHECKING:
    from torch import nn

    from talkinghead.face import Landmarker
    from talkinghead.style import StyleTrack

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
EXAMPLES = REPO / "examples"
VOICED_STYLE_CLIPS = ("lp_d3", "lp_d10", "lp_d14", "sad_WDA_KatieHill_000")  # style clips with their own voice
VARIANTS = ("before", "after", "still")
TIMED_AUDIO_S = 10.0


# ---------------------------------------------------------------------------------------------
# Self-reenactment


@dataclass
class SelfScore:
    name: str
    seconds: float  # scored duration
    fps: float  # the clip's frame rate (the output's is --fps)
    offset_ms: float  # model-independent audio–video offset (+: mouth after sound)
    lag_ms: float  # the lag every score is taken at (+: the generated mouth after the real one)
    transfer_s: float  # seconds the transfer took
    scores: dict[str, dict[str, float]] = field(default_factory=dict)  # variant → metric → value


def self_clips(shared: Path) -> list[Path]:
    voiced = [shared / "media" / "style_clips" / f"{name}.mp4" for name in VOICED_STYLE_CLIPS]
    return sorted((shared / "avdata" / "eval").glob("*.mp4")) + [p for p in voiced if p.is_file()]


def _moves(x: np.ndarray) -> bool:
    """Whether a signal varies beyond float round-off (a still mouth's opening does not)."""
    return bool(x.std() > 1e-9 * (1.0 + np.abs(x).max()))


def _pearson(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson correlation; NaN when either signal is constant."""
    return float(np.corrcoef(x, y)[0, 1]) if _moves(x) and _moves(y) else float("nan")


def compare(motion: np.ndarray, truth: np.ndarray, neutral: np.ndarray, fps: float) -> dict[str, float]:
    """Scores of a time-aligned ``T×68×3`` canonical motion against the truth (see the module docstring)."""
    from talkinghead import geometry, metrics
    from talkinghead.metrics.normalise import smd_frames

    canonical = geometry.canonical_face()[None]
    m_px, t_px = (to_crop(neutral + x - canonical, neutral) for x in (motion, truth))  # T×68×2, crop pixels
    mean_gap = smd_frames(m_px).mean(0) - smd_frames(t_px).mean(0)  # 20×2
    o_m, o_t = geometry.mouth_features(motion).opening, geometry.mouth_features(truth).opening
    s_m, s_t = metrics.style_statistics(motion, fps), metrics.style_statistics(truth, fps)
    log_amp = float(np.log(o_m.std() / o_t.std())) if _moves(o_m) else float("-inf")
    return {
        "shape": float(np.sqrt((mean_gap**2).sum(-1)).mean()),
        "log_amp": log_amp,
        "amp": abs(log_amp),
        "lmd": metrics.lmd(m_px, t_px),
        "r": _pearson(o_m, o_t),
        "d_brow": 100 * (s_m["brow_height"] - s_t["brow_height"]),
        "d_eye": 100 * (s_m["eye_open"] - s_t["eye_open"]),
        **metrics.style_metrics(motion, truth),
    }


def score_self(
    gen: nn.Module, path: Path, *, fps: float, max_seconds: float, seed: int, landmarker: Landmarker,
    transfer: dict | None = None,
) -> SelfScore:
    """One clip driven by its own voice, styled by itself, scored against its own tracked face."""
    from talkinghead import media
    from talkinghead.features import voice_energy
    from talkinghead.geometry import mouth_features
    from talkinghead.motion import encode_audio
    from talkinghead.style import StyleConfig, analyse_style
    from talkinghead.train.realdata import estimate_offset
    from talkinghead.transfer import TransferConfig, transfer_style

    style = analyse_style(path, config=StyleConfig(max_seconds=max_seconds), landmarker=landmarker)
    wav = media.load_audio(path, max_seconds=style.track.duration)
    phi_s = style.phi_s(fps)  # the truth, and the style
    config = TransferConfig(seed=seed, **(transfer or {}))
    result = transfer_style(gen, None, phi_s, config, states=encode_audio(gen, wav, fps))
    n = min(len(result.unstyled), len(phi_s))
    before, after, truth = result.unstyled[:n], result.styled[:n], phi_s[:n]
    o_truth = mouth_features(truth).opening
    offset, _ = estimate_offset(o_truth, voice_energy(wav, n, fps), fps)
    _, lag = best_lag(mouth_features(before).opening, o_truth, int(round(MAX_LAG_S * fps)))
    b, q = shift_pair(before, truth, lag)
    a, _ = shift_pair(after, truth, lag)
    still = np.repeat(q.mean(0, keepdims=True), len(q), axis=0)
    neutral = style.neutral
    return SelfScore(
        name=path.stem,
        seconds=len(q) / fps,
        fps=style.track.fps,
        offset_ms=1000 * offset,
        lag_ms=1000 * lag / fps,
        transfer_s=result.seconds,
        scores={k: compare(x, q, neutral, fps) for k, x in zip(VARIANTS, (b, a, still), strict=True)},
    )


# (title, columns): each column (score, width, decimals) prints before → after (still).
SELF_TABLES = (
    ("mouth against the truth", (("shape", 5, 2), ("amp", 4, 2), ("lmd", 5, 2), ("r", 5, 2))),
    (
        "face and style against the truth",
        (("d_brow", 5, 1), ("d_eye", 5, 1), ("SLD", 5, 2), ("SLV", 5, 2), ("SMD", 5, 2)),
    ),
)
LOWER_IS_BETTER = {
    "shape": True,
    "amp": True,
    "lmd": True,
    "r": False,
    "d_brow": True,
    "d_eye": True,
    "SLD": True,
    "SLV": True,
    "SMD": True,
}


def _cell(v: dict[str, dict[str, float]], key: str, width: int, decimals: int) -> str:
    """``before→after (still)``; "–" where a score is undefined (a still mouth has no amplitude or correlation)."""
    b, a, s = (f"{x:.{decimals}f}" if np.isfinite(x) else "–" for x in (v[x][key] for x in VARIANTS))
    return f"{b:>{width}}→{a:<{width}}({s:>{width}})"


def self_summary(scores: list[SelfScore]) -> dict[str, dict[str, float]]:
    """Mean of each score per variant (of |Δ| for the signed differences), the share of clips the
    transfer improved, and the transfer's time per 10 s of audio."""

    def values(variant: str, key: str) -> np.ndarray:
        vals = np.array([s.scores[variant][key] for s in scores])
        return np.abs(vals) if key.startswith("d_") else vals

    def mean(x: np.ndarray) -> float:  # over the clips where the score is defined
        x = x[np.isfinite(x)]
        return float(x.mean()) if len(x) else float("nan")

    out: dict[str, dict[str, float]] = {}
    for variant in VARIANTS:
        out[variant] = {key: mean(values(variant, key)) for key in (*LOWER_IS_BETTER, "log_amp")}
    out["improved"] = {}
    for key, lower in LOWER_IS_BETTER.items():
        b, a = values("before", key), values("after", key)
        out["improved"][key] = float(np.mean(a < b if lower else a > b))
    per_10s = [10 * s.transfer_s / s.seconds for s in scores]
    out["transfer"] = {"s_per_10s_audio": float(np.mean(per_10s))}
    return out


def print_self(scores: list[SelfScore], unscored: list[tuple[str, str]], summary: dict) -> None:
    for title, columns in SELF_TABLES:
        print(f"\nself-reenactment, {title}: before → after the transfer (still mouth)")
        print(f"{'clip':<34}{'sec':>5}{'offs':>6}{'lag':>6}" + "".join(f"{k:>{3 * w + 5}}" for k, w, _ in columns))
        for s in scores:
            row = f"{s.name[:33]:<34}{s.seconds:5.1f}{s.offset_ms:+6.0f}{s.lag_ms:+6.0f}"
            print(row + "".join(f"{_cell(s.scores, k, w, d):>{3 * w + 5}}" for k, w, d in columns))
        row = f"{'mean (of |Δ| for Δbrow, Δeye)':<51}"
        print(row + "".join(f"{_cell(summary, k, w, d):>{3 * w + 5}}" for k, w, d in columns))
        better = ", ".join(f"{k} {100 * summary['improved'][k]:.0f} %" for k, _, _ in columns)
        print(f"  the transfer improves: {better} of the {len(scores)} clips")
    print(
        f"  mean log(std ratio) of the mouth opening: before {summary['before']['log_amp']:+.2f}, "
        f"after {summary['after']['log_amp']:+.2f} (negative: the mouth moves less than the real one)"
    )
    print(f"  transfer: {summary['transfer']['s_per_10s_audio']:.2f} s per 10 s of audio (mean over the clips)")
    for name, why in unscored:
        print(f"  not scored: {name}: {why}")


def run_self(args: argparse.Namespace) -> dict:
    from talkinghead.face import get_landmarker
    from talkinghead.motion import load_motion_generator

    clips = self_clips(args.shared)
    if args.clips:
        clips = [p for p in clips if any(c in p.stem for c in args.clips)]
    gen = load_motion_generator(device="cpu")
    landmarker = get_landmarker()
    scores, unscored = [], []
    for path in clips:
        try:
            scores.append(
                score_self(
                    gen, path, fps=args.fps, max_seconds=args.max_seconds, seed=args.seed, landmarker=landmarker,
                    transfer=args.transfer,
                )
            )
        except ValueError as exc:  # InputError (no voice, no usable face) or too short to lag: say which and why
            unscored.append((path.stem, str(exc)))
    if not scores:
        print("self-reenactment: no clip could be scored")
        return {"clips": [], "unscored": unscored}
    summary = self_summary(scores)
    print_self(scores, unscored, summary)
    return {"clips": [asdict(s) for s in scores], "unscored": unscored, "summary": summary}


# ---------------------------------------------------------------------------------------------
# Cross-style


def track_statistics(track: StyleTrack, points: np.ndarray | None = None) -> dict[str, float]:
    """:func:`talkinghead.metrics.style_statistics` of a tracked face, of its own points or of
    ``points`` (``T×68×3``, e.g. its φ_s) with its head rotations and eye openness."""
    from talkinghead.metrics import style_statistics

    shapes = track.canonical if points is None else points
    return style_statistics(shapes, track.fps, rotations=track.rotations, eye_open=track.eye_open)


def spearman(x: list[float], y: list[float]) -> float:
    """Rank correlation; NaN when either side is constant."""
    from scipy.stats import spearmanr

    if np.ptp(x) == 0 or np.ptp(y) == 0:
        return float("nan")
    return float(spearmanr(x, y).statistic)


def gain(x: list[float], y: list[float]) -> float:
    """Least-squares slope of ``y`` on ``x``: how much of the clips' differences the outputs keep."""
    return float(np.polyfit(x, y, 1)[0]) if np.ptp(x) > 0 else float("nan")


def default_styles() -> list[Path]:
    examples = [EXAMPLES / f"style_{k}.mp4" for k in ("ballad", "rap", "opera")]
    return examples + sorted((SHARED / "media" / "style_clips").glob("*.mp4"))


# Where each statistic of a cross-style row comes from: the clip (its track; its φ_s, i.e. its
# expressions relative to its own neutral, worn by the canonical face, with its head motion and
# eyes), and the output with (s=1) and without (s=0) the transfer, as asked of the renderer
# ("motion") and as tracked back from the video ("video").
CROSS_SOURCES = (
    ("clip track", "track"),
    ("clip φ_s", "phi_s"),
    ("motion s=1", "motion_1"),
    ("motion s=0", "motion_0"),
    ("video s=1", "video_1"),
    ("video s=0", "video_0"),
)
OUTPUTS = ("motion_1", "motion_0", "video_1", "video_0")


def render_styles(args: argparse.Namespace) -> tuple[list[dict], list[tuple[str, str]], float]:
    """One request per style clip and strength (1, 0); the statistics of every source of a row.
    Returns the rows, the clips that could not be used (with why) and the audio's seconds."""
    from talkinghead import media
    from talkinghead.errors import InputError
    from talkinghead.metrics import style_statistics
    from talkinghead.pipeline import LoadedAudio, Pipeline, PipelineConfig, RequestOptions
    from talkinghead.style import analyse_style

    out = Path(args.out)
    pipeline = Pipeline(PipelineConfig(renderer="warp", cpu_threads=args.threads))
    sound = pipeline.load_audio(args.audio)
    if args.seconds is not None:
        sound = LoadedAudio(sound.samples[: int(args.seconds * media.SAMPLE_RATE)])
    rows, skipped = [], []
    for clip in [Path(s) for s in args.styles] or default_styles():
        t0 = time.perf_counter()
        try:
            preview = pipeline.analyse(args.portrait, clip, renderer="warp")
        except InputError as exc:
            skipped.append((clip.stem, str(exc)))
            continue
        style = preview.style
        row = {
            "clip": clip.stem,
            "track": track_statistics(style.track),
            "phi_s": track_statistics(style.track, style.phi_s()),
        }
        for strength in (1.0, 0.0):
            options = RequestOptions(
                fps=args.fps, strength=strength, framing="face", side_by_side=False, seed=args.seed
            )
            result = pipeline.generate(
                args.portrait, sound, clip, options, preview=preview, workdir=out / clip.stem / f"strength_{strength:g}"
            )
            tg = result.targets
            row[f"motion_{strength:g}"] = style_statistics(
                tg.canonical, args.fps, rotations=tg.rotation, eye_open=tg.eye_open
            )
            row[f"video_{strength:g}"] = track_statistics(
                analyse_style(result.video_path, landmarker=pipeline.landmarker).track
            )
        row["seconds"] = time.perf_counter() - t0
        rows.append(row)
        print(f"  {clip.stem}: {row['seconds']:.0f} s", flush=True)
    return rows, skipped, len(sound.samples) / media.SAMPLE_RATE


def _num(x: float, width: int, decimals: int) -> str:
    return f"{x:>{width}.{decimals}f}" if np.isfinite(x) else f"{'–':>{width}}"


def run_cross(args: argparse.Namespace) -> dict:
    from talkinghead.metrics import STYLE_STATISTICS as STATS

    rows, skipped, seconds = render_styles(args)
    print(
        f"\ncross-style: {Path(args.portrait).name} speaking {seconds:.1f} s of {Path(args.audio).name}, "
        f"{len(rows)} style clips (renderer warp, framing face)"
    )
    print(f"{'clip':<28}{'':<11}" + "".join(f"{k:>13}" for k in STATS))
    for row in rows:
        for i, (label, key) in enumerate(CROSS_SOURCES):
            name = row["clip"][:27] if i == 0 else ""
            print(f"{name:<28}{label:<11}" + "".join(_num(row[key][k], 13, 3) for k in STATS))

    def column(key: str, stat: str) -> list[float]:
        return [r[key][stat] for r in rows]

    rho = {
        ref: {out: {k: spearman(column(ref, k), column(out, k)) for k in STATS} for out in OUTPUTS}
        for ref in ("track", "phi_s")
    }
    gains = {out: {k: gain(column("phi_s", k), column(out, k)) for k in STATS} for out in ("motion_1", "video_1")}
    print(
        f"\nSpearman ρ across the {len(rows)} clips, the clip's statistic vs the output's (s=0: no transfer, "
        "the baseline; – where one side is constant);\ngain: least-squares slope of the output's statistic on "
        "the clip φ_s's (1: the clips' differences show in full)"
    )
    print(f"{'':<14}{'vs the clip track':^32}  {'vs the clip φ_s':^32}  {'gain vs φ_s':^16}")
    labels = ("mot s=1", "mot s=0", "vid s=1", "vid s=0")
    print(
        f"{'statistic':<14}"
        + "".join(f"{k:>8}" for k in labels)
        + "  "
        + "".join(f"{k:>8}" for k in labels)
        + "  "
        + "".join(f"{k:>8}" for k in ("motion", "video"))
    )
    for k in STATS:
        print(
            f"{k:<14}"
            + "".join(_num(rho["track"][o][k], 8, 2) for o in OUTPUTS)
            + "  "
            + "".join(_num(rho["phi_s"][o][k], 8, 2) for o in OUTPUTS)
            + "  "
            + "".join(_num(gains[o][k], 8, 2) for o in ("motion_1", "video_1"))
        )
    for name, why in skipped:
        print(f"  not used: {name}: {why}")
    return {"clips": rows, "spearman": rho, "gain": gains, "skipped": skipped}


# ---------------------------------------------------------------------------------------------
# Timing


def run_timing(args: argparse.Namespace) -> dict:
    import torch

    from talkinghead import media, runtime
    from talkinghead.motion import encode_audio, load_motion_generator
    from talkinghead.style import analyse_style
    from talkinghead.transfer import TransferConfig, transfer_style

    gen = load_motion_generator(device="cpu")
    speech = media.load_audio(args.audio)
    n = int(TIMED_AUDIO_S * media.SAMPLE_RATE)
    wav = np.tile(speech, int(np.ceil(n / len(speech))))[:n]
    phi_s = analyse_style(EXAMPLES / "style_rap.mp4").phi_s(args.fps)
    states = encode_audio(gen, wav, args.fps)
    out = {}
    for threads in sorted({1, runtime.cpu_threads()}):
        torch.set_num_threads(threads)
        transfer_style(gen, None, phi_s, TransferConfig(steps=1), states=states)  # first-use work, as at start-up
        runs = [
            transfer_style(gen, None, phi_s, TransferConfig(seed=args.seed), states=states).seconds for _ in range(3)
        ]
        out[f"threads_{threads}"] = {"median_s": statistics.median(runs), "runs_s": runs}
        print(
            f"transfer for {TIMED_AUDIO_S:g} s of audio ({TransferConfig.steps} steps), {threads} thread(s): "
            f"median {statistics.median(runs):.2f} s of {', '.join(f'{r:.2f}' for r in runs)} (target ≤ 3 s)"
        )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.eval_style", description=__doc__.splitlines()[0])
    parser.add_argument("--parts", nargs="+", default=["self", "cross", "timing"], choices=["self", "cross", "timing"])
    parser.add_argument("--shared", type=Path, default=SHARED, help="the shared data folder (avdata/, media/)")
    parser.add_argument("--clips", nargs="*", help="self: only clips whose name contains one of these")
    parser.add_argument("--max-seconds", type=float, default=30.0, help="self: seconds of each clip scored at most")
    parser.add_argument("--styles", nargs="*", default=[], help="cross: style clips (default: examples + shared)")
    parser.add_argument("--portrait", default=str(EXAMPLES / "portrait_astronaut.png"))
    parser.add_argument("--audio", default=str(EXAMPLES / "speech_en.wav"), help="cross and timing: the speech")
    parser.add_argument("--seconds", type=float, default=None, help="cross: seconds of the audio rendered (all)")
    parser.add_argument("--out", default="out/eval_style", help="cross: folder for the rendered videos")
    parser.add_argument("--fps", type=int, default=25, help="output frame rate")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads of the self and cross parts")
    parser.add_argument(
        "--transfer", nargs="*", default=[], metavar="FIELD=VALUE",
        help="self: TransferConfig fields to change (e.g. steps=80 lr=0.001), to try a variant",
    )
    parser.add_argument("--json", type=Path, help="also write the results as JSON")
    args = parser.parse_args(argv)
    from talkinghead.transfer import TransferConfig

    fields = TransferConfig.__dataclass_fields__
    try:
        pairs = [item.split("=", 1) for item in args.transfer]
        args.transfer = {k: type(getattr(TransferConfig, k))(v) for k, v in pairs if k in fields}
    except ValueError:
        parser.error("--transfer takes FIELD=VALUE pairs of TransferConfig")
    if len(args.transfer) != len(pairs):
        parser.error(f"--transfer: unknown fields; TransferConfig has {', '.join(fields)}")
    logging.basicConfig(level=logging.WARNING)

    import torch

    torch.set_num_threads(args.threads)
    result = {}
    for part, run in (("self", run_self), ("cross", run_cross), ("timing", run_timing)):
        if part in args.parts:
            result[part] = run(args)
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
