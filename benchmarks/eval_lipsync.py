"""Lip sync against real mouths: the motion generator driven by each clip's own voice, scored
against the clip's tracked face.

    python -m benchmarks.eval_lipsync [--data ../shared/avdata] [--weights FILE] [--json out.json]
                                      [--no-proxies] [--clips NAME ...]

Clips (people the generator was never trained on): every clip in ``../shared/avdata/eval/`` (TV,
interviews, MEAD acted emotions, one French) and the six held-out GRID speakers of
``train/grid_other/`` (the training uses GRID speaker s1 only).

**Truth**: the clip's face through the project's tracker and the style-clip analysis
(:func:`talkinghead.train.realdata.clip_targets`, cached in ``~/.cache/talkinghead``): per frame the
displacement from the person's own neutral in the canonical frame — the space the generator
predicts. **Prediction**: the generator on the clip's audio at the clip's frame rate.

Per clip:

* **offset** — the clip's audio–video offset, estimated from the real mouth and the voice alone
  (:func:`talkinghead.train.realdata.estimate_offset`, ±400 ms; + = mouth after sound). Reported.
* **r** — Pearson correlation of the predicted and the real inner-lip opening at the best lag
  within ±160 ms (the lag is reported); **loud** / **dB** — the same for the voice-band RMS
  envelope (:func:`talkinghead.features.voice_energy`) and its level in dB: the loudness baselines.
* **mLMD** — moving-part LMD: the 20 mouth points (x, y, canonical frame) minus each sequence's own
  time average, mean distance to the truth's, inter-ocular units × 100; scored at the lag of *r*.
  **still** — the same for a still mouth at the speaker's average shape (its moving part is 0).
* **LMD, D-L, D-V, D-A** — the paper's Table 1 metrics (:func:`talkinghead.metrics.frame_scores`)
  with both sequences worn by the person's neutral face, pose removed, in a 512² aligned crop
  (pixels; D-L/D-V in % of the face width, D-A in % of the real open-mouth area), for the
  network and for the still mouth (the truth's time-average shape), at the lag of *r*.

Then the means over ``eval/`` and over the held-out GRID speakers, the share of clips where the
network's mLMD is below the still mouth's, and (unless ``--no-proxies``) the proxies of
:mod:`benchmarks.eval_motion` (silences closed, bilabials closed, singing open, speed).
"""

from __future__ import annotations

import argparse
import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
MAX_LAG_S = 0.16  # best lag searched within ±this for r
CACHE_VERSION = 1


@dataclass
class ClipScore:
    name: str
    group: str  # "eval" | "grid"
    seconds: float
    fps: float
    offset_ms: float  # model-independent audio–video offset (+: mouth after sound)
    r: float  # predicted vs real opening, best lag ±160 ms
    lag_ms: float
    r_loud: float  # voice-band RMS envelope vs real opening, best lag ±160 ms
    r_db: float  # the envelope in dB
    mlmd: float  # moving-part LMD of the network (inter-ocular units × 100)
    mlmd_still: float  # … of a still mouth
    lmd: float  # paper LMD, 512-crop pixels
    d_l: float
    d_v: float
    d_a: float
    lmd_still: float
    d_l_still: float
    d_v_still: float
    d_a_still: float


def truth(path: Path, cache: Path) -> dict[str, np.ndarray]:
    """The clip's tracked targets (cached): see :func:`talkinghead.train.realdata.clip_targets`."""
    from talkinghead.train.realdata import clip_targets

    out = cache / f"lipsync_truth_v{CACHE_VERSION}" / f"{path.parent.name}_{path.stem}.npz"
    if out.is_file():
        with np.load(out) as z:
            return {k: z[k] for k in z.files}
    arrays = clip_targets(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp.npz")
    np.savez(tmp, **arrays)
    tmp.replace(out)
    return arrays


def predict(gen, audio: np.ndarray, fps: float) -> np.ndarray:
    import torch

    from talkinghead.motion import audio_features

    with torch.inference_mode():
        return gen(audio_features(audio, fps=fps))[0].numpy().astype(np.float64)


def shift_pair(a: np.ndarray, b: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Pairs ``a[t + k]`` with ``b[t]`` (as :func:`talkinghead.metrics.lag_correlations`)."""
    return (a[k:], b[: len(b) - k]) if k >= 0 else (a[:k], b[-k:])


def best_lag(x: np.ndarray, y: np.ndarray, max_lag: int) -> tuple[float, int]:
    from talkinghead.metrics import lag_correlations

    lags, corr = lag_correlations(x, y, max_lag)
    i = int(np.argmax(corr))
    return float(corr[i]), int(lags[i])


def moving_lmd(a: np.ndarray, b: np.ndarray) -> float:
    """Mouth points (x, y) minus each sequence's time average; mean distance × 100."""
    from talkinghead.geometry import MOUTH

    ma, mb = a[:, list(MOUTH), :2], b[:, list(MOUTH), :2]
    d = (ma - ma.mean(0)) - (mb - mb.mean(0))
    return float(100 * np.sqrt((d * d).sum(-1)).mean())


def to_crop(canonical: np.ndarray, neutral: np.ndarray) -> np.ndarray:
    """Canonical-frame ``T×68×3`` → pixels of the 512² crop aligned on the person's neutral face."""
    from talkinghead import geometry

    m = geometry.crop_transform(100.0 * neutral)
    return geometry.transform_points(100.0 * canonical[..., :2].reshape(-1, 2), m).reshape(*canonical.shape[:2], 2)


def score_clip(gen, path: Path, group: str, cache: Path) -> ClipScore:
    from talkinghead import media, metrics
    from talkinghead.geometry import mouth_features
    from talkinghead.train.realdata import estimate_offset, loudness_db

    t = truth(path, cache)
    fps = float(t["fps"])
    real = t["motion"].astype(np.float64)
    neutral = t["neutral"].astype(np.float64)
    energy = t["energy"].astype(np.float64)
    pred = predict(gen, media.load_audio(path), fps)
    n = min(len(pred), len(real))
    pred, real, energy = pred[:n], real[:n], energy[:n]
    o_real = mouth_features(neutral + real).opening
    o_pred = mouth_features(neutral + pred).opening
    offset, _ = estimate_offset(o_real, energy, fps)
    max_lag = int(round(MAX_LAG_S * fps))
    r, lag = best_lag(o_pred, o_real, max_lag)  # o_pred[t + lag] ~ o_real[t]
    r_loud, _ = best_lag(energy, o_real, max_lag)
    r_db, _ = best_lag(loudness_db(energy), o_real, max_lag)
    p, q = shift_pair(pred, real, lag)  # the network at its lag
    still = np.repeat(q.mean(0, keepdims=True), len(q), axis=0)
    p_px, q_px, s_px = (to_crop(neutral + x, neutral) for x in (p, q, still))
    net, base = metrics.frame_scores(p_px, q_px), metrics.frame_scores(s_px, q_px)
    return ClipScore(
        name=path.stem, group=group, seconds=n / fps, fps=fps, offset_ms=1000 * offset, r=r,
        lag_ms=1000 * lag / fps, r_loud=r_loud, r_db=r_db, mlmd=moving_lmd(p, q), mlmd_still=moving_lmd(still, q),
        lmd=net["lmd"], d_l=net["d_l"], d_v=net["d_v"], d_a=net["d_a"],
        lmd_still=base["lmd"], d_l_still=base["d_l"], d_v_still=base["d_v"], d_a_still=base["d_a"],
    )


def clip_list(data: Path) -> list[tuple[Path, str]]:
    return [(p, "eval") for p in sorted((data / "eval").glob("*.mp4"))] + [
        (p, "grid") for p in sorted((data / "train" / "grid_other").glob("*.mp4"))
    ]


def summary(scores: list[ClipScore]) -> dict[str, float]:
    def m(key: str) -> float:
        return float(np.mean([getattr(s, key) for s in scores]))

    keys = ("r", "r_loud", "r_db", "mlmd", "mlmd_still", "lmd", "lmd_still", "d_l", "d_l_still", "d_v",
            "d_v_still", "d_a", "d_a_still")
    out = {k: m(k) for k in keys}
    out["clips"] = len(scores)
    out["mlmd_below_still"] = float(np.mean([s.mlmd < s.mlmd_still for s in scores]))
    out["r_above_loud"] = out["r"] - max(out["r_loud"], out["r_db"])
    return out


def print_table(scores: list[ClipScore]) -> None:
    head = (f"{'clip':40s} {'sec':>5s} {'offs':>5s} {'r':>5s} {'lag':>5s} {'loud':>5s} {'dB':>5s} "
            f"{'mLMD':>5s} {'still':>5s} {'LMD':>5s} {'still':>5s} {'D-L':>5s} {'still':>5s} "
            f"{'D-V':>5s} {'still':>5s} {'D-A':>5s} {'still':>5s}")
    print(head)
    for s in scores:
        print(f"{s.name[:40]:40s} {s.seconds:5.1f} {s.offset_ms:+5.0f} {s.r:5.2f} {s.lag_ms:+5.0f} {s.r_loud:5.2f} "
              f"{s.r_db:5.2f} {s.mlmd:5.2f} {s.mlmd_still:5.2f} {s.lmd:5.2f} {s.lmd_still:5.2f} {s.d_l:5.2f} "
              f"{s.d_l_still:5.2f} {s.d_v:5.2f} {s.d_v_still:5.2f} {s.d_a:5.0f} {s.d_a_still:5.0f}")


def print_summary(name: str, sm: dict[str, float]) -> None:
    print(f"{name} ({sm['clips']} clips): r {sm['r']:.3f} (loudness {sm['r_loud']:.3f}, dB {sm['r_db']:.3f}; "
          f"r − best loudness {sm['r_above_loud']:+.3f}) | mLMD {sm['mlmd']:.3f} vs still {sm['mlmd_still']:.3f}, "
          f"below still on {100 * sm['mlmd_below_still']:.0f} % of clips | LMD {sm['lmd']:.2f} (still "
          f"{sm['lmd_still']:.2f}) D-L {sm['d_l']:.2f} ({sm['d_l_still']:.2f}) D-V {sm['d_v']:.3f} "
          f"({sm['d_v_still']:.3f}) D-A {sm['d_a']:.0f} ({sm['d_a_still']:.0f})")


def proxies(weights: Path | None, media_dir: Path) -> dict[str, float | None]:
    from benchmarks import eval_motion

    return eval_motion.run(eval_motion.load(weights), media_dir, verbose=False)[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.eval_lipsync", description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "avdata")
    parser.add_argument("--media", type=Path, default=REPO.parent / "shared" / "media",
                        help="clips of benchmarks/eval_motion (the proxies)")
    parser.add_argument("--weights", type=Path, default=None, help="weights file (default: the shipped one)")
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "talkinghead")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--clips", nargs="*", help="only clips whose name contains one of these")
    parser.add_argument("--no-proxies", action="store_true", help="skip the eval_motion proxies")
    parser.add_argument("--json", type=Path, help="also write the results as JSON")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)

    import torch

    from talkinghead.motion import load_motion_generator

    torch.set_num_threads(args.threads)
    clips = clip_list(args.data)
    if not clips:
        print(f"no clips under {args.data}: nothing to evaluate")
        return 2
    if args.clips:
        clips = [(p, g) for p, g in clips if any(c in p.stem for c in args.clips)]
    gen = load_motion_generator(path=args.weights)
    scores = [score_clip(gen, p, g, args.cache) for p, g in clips]
    print_table(scores)
    print()
    result: dict = {"clips": [asdict(s) for s in scores], "summary": {}}
    for group, label in (("eval", "eval/ (never trained on)"), ("grid", "GRID held-out speakers")):
        part = [s for s in scores if s.group == group]
        if part:
            result["summary"][group] = sm = summary(part)
            print_summary(label, sm)
    if not args.no_proxies:
        result["proxies"] = prox = proxies(args.weights, args.media)
        print("proxies (benchmarks/eval_motion): " + ", ".join(
            f"{k} {'–' if v is None else f'{v:.3f}' if v < 10 else f'{v:.0f}'}" for k, v in prox.items()))
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
