"""Benchmark: style clip analysis of a 10 s, 25 fps clip with the embedded landmark backend.

    PYTHONPATH=. python benchmarks/bench_style.py [--clip PATH] [--seconds 10] [--fps 25] [--repeat 3]

Target: the whole analysis (decode + landmarks + track + references + pose/blinks/φ_s) under 5 s
on a 2-core CPU. Prints the time per stage (best of ``--repeat`` runs after one warm-up).
The default clip is a real talking-head clip from ../shared/media (not shipped with the package).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

DEFAULT_CLIP = Path(__file__).resolve().parents[2] / "shared" / "media" / "style_clips" / "lp_d14.mp4"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clip", type=Path, default=DEFAULT_CLIP, help="a video at least --seconds long")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--fps", type=float, default=25.0)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if not args.clip.is_file():
        parser.error(f"{args.clip} not found: pass --clip with a video of a talking person")

    from talkinghead import media
    from talkinghead.face import get_landmarker
    from talkinghead.style import StyleConfig, analyse_track
    from talkinghead.style.track import build_track

    landmarker = get_landmarker("mediapipe")
    config = StyleConfig()
    stages: dict[str, list[float]] = {}

    def timed(name: str, fn):
        t0 = time.perf_counter()
        out = fn()
        stages.setdefault(name, []).append(time.perf_counter() - t0)
        return out

    for run in range(args.repeat + 1):
        if run == 1:
            stages.clear()  # the first run warms up MediaPipe's graph and the imports
        clip = timed("decode (media.load_video)", lambda: media.load_video(
            args.clip, fps=args.fps, max_seconds=args.seconds, with_audio=False))
        vl = timed("landmarks (mediapipe track)", lambda clip=clip: landmarker.track(clip.frames, clip.fps))
        timed("  of analysis: track (pose, features, sharpness)", lambda clip=clip, vl=vl: build_track(
            vl, clip.fps, frames=clip.frames, config=config))
        analysis = timed("analysis (analyse_track: track + references + crops)",
                         lambda clip=clip, vl=vl: analyse_track(vl, clip.fps, clip.frames, config=config))
        timed("phi_s + pose track + blinks for 20 s at 30 fps", lambda a=analysis: (
            a.phi_s(30.0), a.pose_track(600, 30.0), a.blink_schedule(600, 30.0)))

    n = len(clip.frames)
    print(f"clip: {args.clip.name}, {n} frames {clip.frames.shape[2]}×{clip.frames.shape[1]} at {clip.fps:g} fps "
          f"({n / clip.fps:.1f} s); best of {args.repeat}")
    total = 0.0
    for name, times in stages.items():
        best = min(times)
        if not name.startswith("  "):
            total += best
        print(f"{name:<58}{best:7.3f} s   ({1000 * best / n:5.1f} ms/frame)")
    print(f"{'total (decode + landmarks + analysis + phi_s/pose/blinks)':<58}{total:7.3f} s   target < 5 s")
    print("picks:", ", ".join(f"{r.label}@{r.frame_index} ({r.confidence:.2f})" for r in analysis.references))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
