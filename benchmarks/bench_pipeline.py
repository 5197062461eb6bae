"""End-to-end benchmark: 10 s of audio + a 10 s style clip → video at 25 fps (and the side-by-side).

Prints per-stage times, frames/s and peak memory for every renderer and device available here,
the ZeroGPU reservation the app would make for the same request (``app.GPU_BUDGET``) next to the
measured time, and writes the numbers as JSON.

    python benchmarks/bench_pipeline.py [--audio A] [--style S] [--seconds 10] [--device all|cpu|cuda]
                                         [--renderers warp,liveportrait] [--framing face|full]
                                         [--portrait P] [--no-side-by-side] [--threads N]
                                         [--json out.json]

The same request runs twice on one pipeline: the first request after start-up, then again (the
stages per second shown are the second's); both totals are printed.

Defaults: the example portrait, the example speech (looped to the length), the example ballad
style clip, ``face`` framing (the 512² crop) with the side-by-side video.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]


def _audio(path: Path, seconds: float, out: Path) -> Path:
    from talkinghead import media

    wav = media.load_audio(path)
    n = int(seconds * media.SAMPLE_RATE)
    wav = np.tile(wav, int(np.ceil(n / len(wav))))[:n]
    return media.save_wav(out, wav)


def _style(path: Path, seconds: float, out: Path, fps: int = 25) -> Path:
    """The style clip looped/cut to ``seconds`` at ``fps`` (a 10 s, 25 fps clip)."""
    from talkinghead import media

    clip = media.load_video(path)
    n = int(seconds * fps)
    idx = (np.arange(n) / fps * clip.fps).astype(int) % len(clip.frames)
    return media.write_video(out, clip.frames[idx], fps)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--portrait", default=str(REPO / "examples/portrait_astronaut.png"))
    parser.add_argument("--audio", default=str(REPO / "examples/speech_en.wav"))
    parser.add_argument("--style", default=str(REPO / "examples/style_ballad.mp4"))
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--renderers", default="warp,liveportrait")
    parser.add_argument("--device", choices=["all", "cpu", "cuda"], default="all",
                        help="device to run on (all: the CPU and, when there is one, the GPU)")
    parser.add_argument("--framing", choices=["face", "full"], default="face")
    parser.add_argument("--no-side-by-side", action="store_true", help="write the result video only")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch CPU threads (default: the pipeline's, the cores up to 4)")
    parser.add_argument("--json", default="bench_pipeline.json")
    args = parser.parse_args()

    sys.path.insert(0, str(REPO))
    from app import GPU_BUDGET
    from talkinghead import media
    from talkinghead.errors import InputError
    from talkinghead.pipeline import Pipeline, PipelineConfig, RequestOptions

    inputs = tempfile.TemporaryDirectory(prefix="bench-pipeline-")
    audio = _audio(Path(args.audio), args.seconds, Path(inputs.name) / "bench_audio.wav")
    style = _style(Path(args.style), args.seconds, Path(inputs.name) / "bench_style.mp4")
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    if args.device != "all":
        if args.device not in devices:
            parser.error(f"--device {args.device}: no such device here")
        devices = [args.device]
    rows = []
    for renderer in args.renderers.split(","):
        for device in devices:
            try:
                t0 = time.perf_counter()
                pipe = Pipeline(PipelineConfig(renderer=renderer, device=device, cpu_threads=args.threads))
                load = time.perf_counter() - t0
            except InputError as exc:
                print(f"skip {renderer}/{device}: {exc}", file=sys.stderr)
                continue
            if torch.cuda.is_available():
                torch.cuda.reset_peak_memory_stats()
            totals, stages = [], []
            for _ in range(2):  # the first request after start-up, then the same request again
                with tempfile.TemporaryDirectory() as work:
                    t0 = time.perf_counter()
                    opts = RequestOptions(framing=args.framing, side_by_side=not args.no_side_by_side)
                    res = pipe.generate(args.portrait, audio, style, opts, workdir=work)
                    totals.append(time.perf_counter() - t0)
                    stages.append({k: round(v, 2) for k, v in res.timings.items()})
                    info = media.probe(res.video_path)
                    output = [info.width, info.height]
            first, total = totals
            frames = len(res.phi_styled)
            row = {
                "renderer": res.renderer,
                "device": device,
                "audio_s": args.seconds,
                "frames": frames,
                "framing": args.framing,
                "output": output,
                "model_load_s": round(load, 2),
                "threads": torch.get_num_threads(),
                "first_total_s": round(first, 2),
                "first_x_realtime": round(first / args.seconds, 2),
                "total_s": round(total, 2),
                "x_realtime": round(total / args.seconds, 2),
                "frames_per_s": round(frames / total, 1),
                "first_stages_s": stages[0],
                "stages_s": stages[1],
                "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 0),
                "peak_cuda_mb": round(torch.cuda.max_memory_allocated() / 2**20, 0) if device == "cuda" else None,
                "zerogpu_reservation_s": GPU_BUDGET.seconds(
                    audio_seconds=args.seconds, steps=RequestOptions.steps, renderer=res.renderer
                ),
                "metrics": res.metrics,
            }
            rows.append(row)
    inputs.cleanup()
    header = f"{'renderer':<13}{'device':<7}{'threads':>8}{'first s':>8}{'× audio':>8}{'again s':>8}{'× audio':>8}"
    print(header + f"{'fps':>7}{'RSS MB':>8}{'ZeroGPU s':>10}  stages (s)")
    for r in rows:
        stages = ", ".join(f"{k} {v}" for k, v in r["stages_s"].items())
        print(
            f"{r['renderer']:<13}{r['device']:<7}{r['threads']:>8}{r['first_total_s']:>8}{r['first_x_realtime']:>8}"
            f"{r['total_s']:>8}{r['x_realtime']:>8}{r['frames_per_s']:>7}"
            f"{r['peak_rss_mb']:>8.0f}{r['zerogpu_reservation_s']:>10}  {stages}"
        )
    Path(args.json).write_text(json.dumps(rows, indent=2))
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
