"""Style-transfer evaluation (paper §4, §5.4): does the transfer bring the motion closer to the
style clip while keeping the lip sync?

For every real style clip in ``../shared/media/style_clips`` (or the clips given), with the example
audio: SLD / SLV / SMD between the generated motion and the clip's motion, before and after the
transfer, and two lip-sync measures of the motion (mouth-opening / audio-energy correlation within
±80 ms; mouth closed in silences longer than 200 ms). Prints two tables:

* **expression** — the canonical, pose-free motion: φ_mg⁰ vs the transferred φ, against φ_s
  (what eqs. 4–7 change);
* **with head motion** — what the video shows (the paper's SLD scores "mouth, eyes, head pose
  shapes"): no style (φ_mg⁰, still head) vs styled (φ with the clip's head motion, as the pipeline
  renders it), against φ_s with the clip's own head motion.

For scale, ``same person`` scores the clip's second half against its first half as if it were the
generated motion: what a perfect copy of the style — the same person, other words — reaches.

    python benchmarks/eval_transfer.py [--audio examples/speech_en.wav] [--steps 40] [CLIP ...]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED_CLIPS = REPO.parent / "shared" / "media" / "style_clips"


def closed_level(phi: np.ndarray) -> float:
    """Mouth opening under which ``phi`` counts as closed (the transfer's own definition)."""
    from talkinghead import geometry, transfer

    return transfer.closed_level(geometry.mouth_features(phi).opening)


def lipsync(phi: np.ndarray, wav: np.ndarray, fps: int, closed: float) -> dict[str, float]:
    """Lip-sync measures of T×68×3 motion against the audio it was made from; ``closed`` is the
    opening (inter-ocular units) under which the mouth counts as shut — pass the *un-styled*
    motion's :func:`closed_level` for both motions, so a mouth the transfer holds open in
    silences counts as open."""
    from talkinghead import geometry, media, metrics

    opening = geometry.mouth_features(phi).opening
    hop = media.SAMPLE_RATE / fps
    n = len(opening)
    rms = np.array([np.sqrt(np.mean(wav[int(i * hop) : int((i + 1) * hop)] ** 2) + 1e-12) for i in range(n)])
    db = 20 * np.log10(rms / rms.max())
    silent = db < -35.0  # 35 dB under the loudest frame
    out = {"corr": metrics.mouth_opening_energy_correlation(opening, rms, fps)}
    try:
        out["closed_in_silence"] = metrics.silence_closure_rate(
            opening, silent, threshold=closed, min_silence_frames=int(0.2 * fps)
        )
    except Exception:  # noqa: BLE001 - audio without pauses has nothing to score
        out["closed_in_silence"] = float("nan")
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("clips", nargs="*", help="style clips (default: every clip in ../shared/media/style_clips)")
    parser.add_argument("--audio", default=str(REPO / "examples/speech_en.wav"))
    parser.add_argument("--fps", type=int, default=25)
    parser.add_argument("--steps", type=int, default=None, help="transfer steps (default: TransferConfig's)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", default=None, help="also write the rows as JSON")
    args = parser.parse_args()

    import torch

    from talkinghead import media
    from talkinghead.metrics import style_metrics, with_head_motion
    from talkinghead.motion import audio_features, load_motion_generator
    from talkinghead.style import analyse_style
    from talkinghead.transfer import TransferConfig, transfer_style

    torch.set_num_threads(1)
    clips = [Path(c) for c in args.clips] or sorted(SHARED_CLIPS.glob("*.mp4"))
    wav = media.load_audio(args.audio)
    gen = load_motion_generator(device="cpu")
    feats = audio_features(wav, fps=args.fps)
    config = TransferConfig(seed=args.seed) if args.steps is None else TransferConfig(steps=args.steps, seed=args.seed)
    rows = []
    for clip in clips:
        style = analyse_style(clip)
        phi_s = style.phi_s(args.fps)
        t0 = time.perf_counter()
        res = transfer_style(gen, feats, phi_s, config)
        seconds = time.perf_counter() - t0
        n = len(res.styled)
        style_posed = with_head_motion(phi_s, style.pose_track(len(phi_s), args.fps))
        half = len(phi_s) // 2
        rows.append(
            {
                "clip": clip.stem,
                "expression": {
                    "before": style_metrics(res.unstyled, phi_s),
                    "after": style_metrics(res.styled, phi_s),
                    "same_person": style_metrics(phi_s[half:], phi_s[:half]),
                },
                "with_head_motion": {
                    "before": style_metrics(with_head_motion(res.unstyled, None), style_posed),
                    "after": style_metrics(
                        with_head_motion(res.styled, style.pose_track(n, args.fps, seed=args.seed)), style_posed
                    ),
                    "same_person": style_metrics(style_posed[half:], style_posed[:half]),
                },
                "lipsync_before": lipsync(res.unstyled, wav, args.fps, closed_level(res.unstyled)),
                "lipsync_after": lipsync(res.styled, wav, args.fps, closed_level(res.unstyled)),
                "transfer_s": round(seconds, 2),
            }
        )

    for view in ("expression", "with_head_motion"):
        print(f"\n{view.replace('_', ' ')}: before → after (same person's other half)")
        print(f"{'clip':<36}" + "".join(f"{k:>22}" for k in ("SLD", "SMD", "SLV")))
        for r in rows:
            v = r[view]
            print(
                f"{r['clip'][:35]:<36}"
                + "".join(
                    f"{v['before'][k]:>7.2f}→{v['after'][k]:<6.2f}({v['same_person'][k]:5.2f})"
                    for k in ("SLD", "SMD", "SLV")
                )
            )
        for key in ("SLD", "SMD", "SLV"):
            after = np.mean([(r[view]["before"][key] - r[view]["after"][key]) / r[view]["before"][key] for r in rows])
            same = np.mean(
                [(r[view]["before"][key] - r[view]["same_person"][key]) / r[view]["before"][key] for r in rows]
            )
            print(f"  mean reduction of {key} vs no transfer: {after * 100:5.1f} %  (same person: {same * 100:5.1f} %)")

    def mean_change(key: str) -> float:
        vals = [
            (r["lipsync_after"][key] - r["lipsync_before"][key]) / r["lipsync_before"][key]
            for r in rows
            if np.isfinite(r["lipsync_before"][key]) and r["lipsync_before"][key] > 0
        ]
        return float(np.mean(vals) * 100) if vals else float("nan")

    print(
        f"\nlip sync (mean relative change): corr {mean_change('corr'):+.1f} %, "
        f"closed in silence {mean_change('closed_in_silence'):+.1f} %"
    )
    print(f"transfer time: mean {np.mean([r['transfer_s'] for r in rows]):.2f} s for {n / args.fps:.1f} s of audio")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
