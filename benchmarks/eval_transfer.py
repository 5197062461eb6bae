"""Style-transfer evaluation (paper §4, §5.4): does the transfer bring the motion closer to the
style clip while keeping the lip sync?

For every real style clip in ``../shared/media/style_clips`` (or the clips given), with the example
audio: SLD / SLV / SMD between the generated motion and the clip's style motion φ_s, before and
after the transfer, and two lip-sync measures of the motion (mouth-opening / audio-energy
correlation within ±80 ms; mouth closed in silences longer than 200 ms). Prints a table.

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


def lipsync(phi: np.ndarray, wav: np.ndarray, fps: int) -> dict[str, float]:
    """Lip-sync measures of T×68×3 motion against the audio it was made from."""
    from talkinghead import geometry, media, metrics

    opening = geometry.mouth_features(phi).opening
    hop = media.SAMPLE_RATE / fps
    n = len(opening)
    rms = np.array([np.sqrt(np.mean(wav[int(i * hop) : int((i + 1) * hop)] ** 2) + 1e-12) for i in range(n)])
    db = 20 * np.log10(rms / rms.max())
    silent = db < -35.0  # 35 dB under the loudest frame
    closed = opening.min() + 0.1 * (opening.max() - opening.min())  # "closed": under 10 % of its range
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
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", default=None, help="also write the rows as JSON")
    args = parser.parse_args()

    import torch

    from talkinghead import media
    from talkinghead.motion import audio_features, load_motion_generator
    from talkinghead.pipeline import style_metrics
    from talkinghead.references import analyse_style
    from talkinghead.transfer import TransferConfig, transfer_style

    torch.set_num_threads(2)
    clips = [Path(c) for c in args.clips] or sorted(SHARED_CLIPS.glob("*.mp4"))
    wav = media.load_audio(args.audio)
    gen = load_motion_generator(device="cpu")
    feats = audio_features(wav, fps=args.fps)
    rows = []
    for clip in clips:
        style = analyse_style(clip)
        phi_s = style.phi_s(args.fps)
        t0 = time.perf_counter()
        res = transfer_style(gen, feats, phi_s, TransferConfig(steps=args.steps, seed=args.seed))
        seconds = time.perf_counter() - t0
        before, after = style_metrics(res.unstyled, phi_s), style_metrics(res.styled, phi_s)
        ls_before, ls_after = lipsync(res.unstyled, wav, args.fps), lipsync(res.styled, wav, args.fps)
        rows.append(
            {
                "clip": clip.stem,
                "before": before,
                "after": after,
                "lipsync_before": ls_before,
                "lipsync_after": ls_after,
                "transfer_s": round(seconds, 2),
            }
        )
    print(
        f"{'clip':<36}{'SLD before→after':>20}{'SMD before→after':>20}{'SLV before→after':>20}"
        f"{'corr':>14}{'closed':>14}{'sec':>6}"
    )
    for r in rows:
        b, a, lb, la = r["before"], r["after"], r["lipsync_before"], r["lipsync_after"]
        print(
            f"{r['clip'][:35]:<36}"
            + "".join(f"{b[k]:>9.2f}→{a[k]:<9.2f}" for k in ("SLD", "SMD", "SLV"))
            + f"{lb['corr']:>7.2f}→{la['corr']:<5.2f}{lb['closed_in_silence']:>7.2f}→{la['closed_in_silence']:<5.2f}"
            + f"{r['transfer_s']:>6}"
        )

    def mean_drop(key: str) -> float:
        return float(np.mean([(r["before"][key] - r["after"][key]) / r["before"][key] for r in rows]) * 100)

    def mean_change(key: str) -> float:
        vals = [
            (r["lipsync_after"][key] - r["lipsync_before"][key]) / r["lipsync_before"][key]
            for r in rows
            if np.isfinite(r["lipsync_before"][key]) and r["lipsync_before"][key] > 0
        ]
        return float(np.mean(vals) * 100) if vals else float("nan")

    print(
        f"\nmean reduction vs no transfer: SLD {mean_drop('SLD'):.1f} %, SMD {mean_drop('SMD'):.1f} %, "
        f"SLV {mean_drop('SLV'):.1f} %"
    )
    print(
        f"mean relative change of lip sync: corr {mean_change('corr'):+.1f} %, "
        f"closed in silence {mean_change('closed_in_silence'):+.1f} %"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
