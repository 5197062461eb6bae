"""`python -m talkinghead generate`: portrait + audio + style clip → styled talking-head video + JSON."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--portrait", required=True, help="portrait image (one clearly visible face)")
    parser.add_argument("--audio", required=True, help="speech or singing (any format ffmpeg reads)")
    parser.add_argument("--style", required=True, help="style clip: a video of someone talking or singing")
    parser.add_argument(
        "-o", "--output", default="out.mp4", help="output video (.mp4); a .json summary is written beside it"
    )
    parser.add_argument("--renderer", default="auto", choices=["auto", "warp", "liveportrait"])
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    parser.add_argument(
        "--cpu-threads", type=int, default=None,
        help="torch threads on the CPU (default: the cores, at most 4; 1 is steadier on shared cores)",
    )
    parser.add_argument("--strength", type=float, default=1.0, help="style strength: 0 none, 1 paper, >1 exaggerated")
    parser.add_argument("--head-motion", type=float, default=1.0, help="0 still head, 1 the clip's head motion")
    parser.add_argument("--steps", type=int, default=None, help="style-transfer steps (default 40; 0: the start only)")
    parser.add_argument("--fps", type=int, default=25)
    parser.add_argument("--framing", default="full", choices=["full", "face"],
                        help="full: the whole portrait (default); face: the aligned 512² face crop")
    parser.add_argument("--size", type=int, default=None,
                        help="longest side of the output video (default: the portrait's own, up to 1920 px; "
                        "512 for face)")
    parser.add_argument("--no-blinks", action="store_true")
    parser.add_argument("--side-by-side", action="store_true", help="also write OUTPUT_side_by_side.mp4")
    parser.add_argument("--seed", type=int, default=0)


class ProgressBar:
    """A one-line text progress bar on stderr with the current stage name."""

    def __init__(self, width: int = 30) -> None:
        self.width = width
        self.tty = sys.stderr.isatty()
        self.last = ""
        self.logged = 0.0

    def __call__(self, stage: str, fraction: float) -> None:
        done = int(self.width * max(0.0, min(1.0, fraction)))
        line = f"[{'#' * done}{'.' * (self.width - done)}] {fraction * 100:5.1f}% {stage}"
        if self.tty:
            sys.stderr.write("\r" + line.ljust(70))
        elif stage.split(":")[0] != self.last.split(":")[0] or fraction >= self.logged + 0.1:
            # A log gets a line per stage and per tenth of the request, not one per frame batch.
            sys.stderr.write(line + "\n")
            self.logged = fraction
        self.last = stage
        sys.stderr.flush()

    def close(self) -> None:
        if self.tty:
            sys.stderr.write("\n")


def _place(src: str | Path, dst: Path) -> Path:
    """Move a finished file to ``dst`` through a hidden partial name beside it, so ``dst`` is
    never half-written (a copy across file systems interrupted by Ctrl-C leaves nothing)."""
    partial = dst.with_name(f".{dst.stem}.part{dst.suffix}")
    try:
        shutil.move(str(src), partial)
        os.replace(partial, dst)
    finally:
        partial.unlink(missing_ok=True)
    return dst


def run(args: argparse.Namespace) -> int:
    from talkinghead.pipeline import Pipeline, PipelineConfig, RequestOptions

    out = Path(args.output)
    if out.suffix.lower() != ".mp4":
        out = out.with_suffix(".mp4")
    out.parent.mkdir(parents=True, exist_ok=True)
    options = RequestOptions(
        fps=args.fps,
        strength=args.strength,
        head_motion=args.head_motion,
        blinks=not args.no_blinks,
        steps=RequestOptions.steps if args.steps is None else args.steps,
        seed=args.seed,
        output_size=args.size,
        framing=args.framing,
        side_by_side=args.side_by_side,
    )
    pipeline = Pipeline(PipelineConfig(renderer=args.renderer, device=args.device, cpu_threads=args.cpu_threads))
    bar = ProgressBar()
    # The request's folder goes whatever happens (a finished, failed or interrupted request);
    # the outputs appear only complete, each renamed into place.
    with tempfile.TemporaryDirectory(prefix="talkinghead-cli-") as workdir:
        try:
            result = pipeline.generate(args.portrait, args.audio, args.style, options, workdir=workdir, progress=bar)
        finally:
            bar.close()
        summary_path = _place(result.video_path, out).with_suffix(".json")
        result.video_path = out
        if result.side_by_side_path is not None:
            result.side_by_side_path = _place(result.side_by_side_path, out.with_name(out.stem + "_side_by_side.mp4"))
        summary = result.summary()
        scratch = Path(workdir) / "summary.json"
        scratch.write_text(json.dumps(summary, indent=2))
        _place(scratch, summary_path)
    print(f"renderer: {result.renderer} ({pipeline.renderer_reason})")
    for ref in summary["references"]:
        flag = "  (low confidence)" if ref["low_confidence"] else ""
        print(
            f"  {ref['label']:>4}: frame {ref['frame_index']:4d}  t={ref['time']:6.2f}s  score {ref['score']:.3f}{flag}"
        )
    from talkinghead.metrics import REQUEST_STATISTICS

    print("style (clip; before → after the transfer):")
    for key, label in REQUEST_STATISTICS:
        c, b, a = (result.statistics[view][key] for view in ("clip", "before", "after"))
        print(f"  {label}: clip {c:.3f}; {b:.3f} → {a:.3f}")
    print("style metrics against the clip (lower is closer; before → after):")
    for label, b, a in result.metric_rows():
        print(f"  {label}: {b:.4f} → {a:.4f}")
    print("timings: " + ", ".join(f"{k} {v:.2f}s" for k, v in result.timings.items()))
    for w in result.warnings:
        print(f"warning: {w}")
    print(f"wrote {out} and {summary_path}")
    return 0
