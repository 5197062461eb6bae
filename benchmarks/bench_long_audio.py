"""Long audio through the CLI: wall time and peak memory per stage for 30 s, 2 min and 10 min.

Each length runs `python -m talkinghead generate --side-by-side` in a fresh process (the CLI's
own code, in-process so a sampler thread can read the process's resident memory every 20 ms
and file each sample under the stage the progress bar shows). The speech is real and
synthetic speech concatenated (the example speech and, when present, the recordings in
``../shared/media/audio``), looped to the length. Prints one row per stage per length, then the
totals: peak memory relative to the 30 s request and the wall time against a straight line
through the 30 s and 10 min points (the 2 min point's deviation from it).

    python benchmarks/bench_long_audio.py [--seconds 30,120,600] [--renderer warp] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED_AUDIO = REPO.parent / "shared" / "media" / "audio"


def _speech(seconds: float, out: Path) -> Path:
    from talkinghead import media

    parts = [media.load_audio(REPO / "examples" / "speech_en.wav")]
    parts += [media.load_audio(p) for p in sorted(SHARED_AUDIO.glob("*.wav"))] if SHARED_AUDIO.is_dir() else []
    wav = np.concatenate(parts)
    n = int(seconds * media.SAMPLE_RATE)
    return media.save_wav(out, np.tile(wav, int(np.ceil(n / len(wav))))[:n])


def _rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _one(seconds: float, renderer: str, workdir: Path) -> dict:
    """One CLI request in this process; returns wall time and peak memory per stage."""
    from talkinghead import cli
    from talkinghead.commands import generate

    audio = _speech(seconds, workdir / "speech.wav")
    stage = ["start-up"]
    peaks: dict[str, float] = {}
    walls: dict[str, float] = {}
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peaks[stage[0]] = max(peaks.get(stage[0], 0.0), _rss_mb())
            time.sleep(0.02)

    shown = generate.ProgressBar.__call__
    marks = [time.perf_counter()]

    def tracked(self, name: str, fraction: float) -> None:
        kind = name.split(":")[0]
        if kind != stage[0]:
            now = time.perf_counter()
            walls[stage[0]] = walls.get(stage[0], 0.0) + now - marks[0]
            marks[0] = now
            stage[0] = kind
        shown(self, name, fraction)

    generate.ProgressBar.__call__ = tracked
    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    t0 = time.perf_counter()
    rc = cli.main([
        "generate", "--portrait", str(REPO / "examples" / "portrait_astronaut.png"), "--audio", str(audio),
        "--style", str(REPO / "examples" / "style_ballad.mp4"), "--renderer", renderer, "--device", "cpu",
        "--side-by-side", "-o", str(workdir / "out.mp4"),
    ])
    wall = time.perf_counter() - t0
    walls[stage[0]] = walls.get(stage[0], 0.0) + time.perf_counter() - marks[0]
    stop.set()
    thread.join()
    summary = json.loads((workdir / "out.json").read_text()) if rc == 0 else {}
    return {"seconds": seconds, "rc": rc, "wall_s": wall, "stage_wall_s": walls, "stage_peak_mb": peaks,
            "peak_mb": max(peaks.values()), "frames": summary.get("frames"), "timings": summary.get("timings")}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", default="30,120,600", help="audio lengths, comma-separated")
    parser.add_argument("--renderer", default="warp", choices=["warp", "liveportrait"])
    parser.add_argument("--json", default="bench_long_audio.json")
    parser.add_argument("--one", type=float, help=argparse.SUPPRESS)  # internal: run one length here
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.one is not None:
        with tempfile.TemporaryDirectory(prefix="talkinghead-bench-") as work:
            row = _one(args.one, args.renderer, Path(work))
        Path(args.out).write_text(json.dumps(row))
        return 0 if row["rc"] == 0 else 1

    rows = []
    with tempfile.TemporaryDirectory(prefix="talkinghead-bench-") as work:
        for seconds in (float(s) for s in args.seconds.split(",")):
            out = Path(work) / f"{seconds:g}.json"
            cmd = [sys.executable, __file__, "--one", str(seconds), "--renderer", args.renderer, "--out", str(out)]
            if subprocess.run(cmd, stdout=subprocess.DEVNULL).returncode != 0:
                print(f"{seconds:g} s: the request failed", file=sys.stderr)
                return 1
            rows.append(json.loads(out.read_text()))

    print(f"{'audio':>7} {'stage':<28} {'wall s':>8} {'peak MB':>8}")
    for row in rows:
        for name, wall in row["stage_wall_s"].items():
            if name == "done":
                continue
            print(f"{row['seconds']:>6g}s {name:<28} {wall:8.1f} {row['stage_peak_mb'].get(name, 0.0):8.0f}")
    base = rows[0]
    print(f"\n{'audio':>7} {'frames':>7} {'wall s':>8} {'× audio':>8} {'peak MB':>8} {'peak / first':>12}")
    for row in rows:
        print(f"{row['seconds']:>6g}s {row['frames']:>7} {row['wall_s']:8.1f} {row['wall_s'] / row['seconds']:8.2f} "
              f"{row['peak_mb']:8.0f} {row['peak_mb'] / base['peak_mb']:12.2f}")
    if len(rows) >= 3:
        (x0, y0), (x1, y1) = (rows[0]["seconds"], rows[0]["wall_s"]), (rows[-1]["seconds"], rows[-1]["wall_s"])
        slope = (y1 - y0) / (x1 - x0)
        for row in rows[1:-1]:
            line = y0 + slope * (row["seconds"] - x0)
            print(f"wall time at {row['seconds']:g} s: {row['wall_s']:.1f} s, the line through the ends says "
                  f"{line:.1f} s ({(row['wall_s'] - line) / line * 100:+.1f} %); {slope:.2f} s per s of audio")
    Path(args.json).write_text(json.dumps(rows, indent=2))
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
