"""`python -m talkinghead motion AUDIO`: predict landmark motion from audio, show it as a facial map.

Runs the audio encoder + motion generator on any audio (or the sound of a video), prints the
mouth opening of every frame (inner-lip gap of the canonical motion, inter-ocular units, with a
bar) and, with ``-o``, writes an MP4 of the facial map moving with the audio.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from talkinghead import geometry, media, runtime, viz
from talkinghead.errors import InputError
from talkinghead.motion import audio_features, load_motion_generator

MAX_SECONDS = 300.0  # longer audio is cut
BAR = 40  # characters of the opening bar at the largest opening


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("audio", type=Path, metavar="AUDIO", help="speech or singing (any format ffmpeg reads)")
    parser.add_argument("-o", "--output", type=Path, help="write the facial-map animation with the audio (.mp4)")
    parser.add_argument("--fps", type=float, default=25.0, help="frames per second (default 25)")
    parser.add_argument("--size", type=int, default=512, help="side of the animation in pixels (default 512)")
    parser.add_argument("--quiet", action="store_true", help="do not print every frame")


def predict(gen: torch.nn.Module, audio: np.ndarray, fps: float) -> np.ndarray:
    """``T×68×3`` canonical-frame motion φ_mg for 16 kHz audio."""
    with runtime.inference():
        disp = gen(audio_features(audio, fps=fps))[0].numpy()
    return np.asarray(geometry.canonical_face(), dtype=np.float32) + disp


def facial_map_frames(motion: np.ndarray, size: int):
    """Facial maps of a ``T×68×3`` track, all frames in one fixed canvas placement."""
    xy = motion[..., :2]
    lo, hi = xy.reshape(-1, 2).min(0), xy.reshape(-1, 2).max(0)
    scale = 0.76 * size / float((hi - lo).max())
    centre = (lo + hi) / 2.0
    for points in motion:
        canvas_xy = (points[:, :2] - centre) * scale + size / 2.0
        yield viz.render_facial_map(np.c_[canvas_xy, points[:, 2]], size, fit=False)


def run(args: argparse.Namespace) -> int:
    if not 1.0 <= args.fps <= 120.0:
        raise InputError(f"--fps {args.fps:g} is out of range: use a frame rate between 1 and 120.")
    if not 64 <= args.size <= 2048:
        raise InputError(f"--size {args.size} is out of range: use 64–2048 pixels.")
    if args.output is not None and args.output.suffix.lower() != ".mp4":
        raise InputError(f"The animation is an MP4 video: name it {args.output.stem}.mp4.")
    audio = media.load_audio(args.audio, max_seconds=MAX_SECONDS)
    if len(audio) < media.SAMPLE_RATE // 10:
        raise InputError(f"{args.audio.name} is shorter than 0.1 s: use a longer recording.")
    gen = load_motion_generator(device="cpu")
    t0 = time.perf_counter()
    motion = predict(gen, audio, args.fps)
    seconds = time.perf_counter() - t0
    opening = geometry.mouth_features(motion).opening
    duration = len(audio) / media.SAMPLE_RATE
    print(f"{args.audio.name}: {duration:.2f} s → {len(motion)} frames at {args.fps:g} fps "
          f"in {seconds:.2f} s ({duration / max(seconds, 1e-9):.0f}× real time)")
    if not args.quiet:
        top = max(float(opening.max()), 1e-6)
        print(" frame    time  opening")
        for k, o in enumerate(opening):
            print(f"{k:6d} {k / args.fps:7.2f}  {o:7.3f}  {'#' * int(round(BAR * o / top))}")
    print(f"mouth opening: min {opening.min():.3f}  mean {opening.mean():.3f}  max {opening.max():.3f} "
          "(inter-ocular units)")
    if args.output is not None:
        media.write_video(args.output, facial_map_frames(motion, args.size), args.fps, audio=audio)
        print(f"wrote {args.output}")
    return 0
