"""`python -m talkinghead landmarks IMAGE_OR_VIDEO`: find faces, print pose and mouth features.

For an image: the number of faces, the largest face's pose (yaw/pitch/roll), mouth features and
eye openness. For a video: the same per frame (tracked and smoothed) and a summary. ``-o``
writes the facial map drawn over the input (PNG for an image, MP4 for a video).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from talkinghead import geometry, media, viz
from talkinghead.errors import InputError
from talkinghead.face import BACKENDS, get_landmarker

MAX_VIDEO_SECONDS = 120.0  # longer clips are cut (landmarks of every frame are held in memory)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", type=Path, metavar="IMAGE_OR_VIDEO", help="a photo or a video")
    parser.add_argument("-o", "--output", type=Path, help="annotated preview: .png for an image, .mp4 for a video")
    parser.add_argument("--landmarks", choices=BACKENDS, default="auto", help="landmark backend (default: auto)")
    parser.add_argument("--every", type=int, default=1, metavar="N", help="print every N-th frame of a video")


def _describe(points: np.ndarray) -> str:
    yaw, pitch, roll = geometry.fit_pose(points).angles()
    m = geometry.mouth_features(points)
    eyes = geometry.eye_openness(points)
    return (
        f"yaw {yaw:+6.1f}°  pitch {pitch:+6.1f}°  roll {roll:+6.1f}°  |  mouth opening {float(m.opening):.3f}  "
        f"width {float(m.width):.3f}  inner {float(m.inner_width):.3f}  round {float(m.roundness):.2f}  "
        f"lips {float(m.lip_thickness):.3f}  |  eyes {eyes[0]:.2f} {eyes[1]:.2f}"
    )


def _run_image(args: argparse.Namespace) -> int:
    image = media.load_image(args.input)
    det = get_landmarker(args.landmarks).detect(image, what=args.input.name)
    print(f"{args.input.name}: {image.shape[1]}×{image.shape[0]}, {det.n_faces} face(s), backend {det.backend}")
    x0, y0, x1, y1 = det.bbox
    print(f"largest face: box ({x0:.0f}, {y0:.0f})–({x1:.0f}, {y1:.0f})")
    print(_describe(det.points))
    if args.output is not None:
        if args.output.suffix.lower() not in (".png", ".jpg", ".jpeg", ".webp"):
            raise InputError(f"The preview of an image is an image: name it {args.output.stem}.png.")
        media.save_image(args.output, viz.draw_facial_map(image, det.points))
        print(f"wrote {args.output}")
    return 0


def _run_video(args: argparse.Namespace) -> int:
    clip = media.load_video(args.input, max_seconds=MAX_VIDEO_SECONDS, with_audio=args.output is not None)
    vl = get_landmarker(args.landmarks).track(clip.frames, clip.fps, what=args.input.name)
    w, h = clip.size
    note = f" (first {MAX_VIDEO_SECONDS:.0f} s)" if clip.truncated else ""
    print(f"{args.input.name}: {w}×{h}, {len(clip)} frames at {clip.fps:g} fps{note}, backend {vl.backend}")
    print(f"face found in {int(vl.found.sum())}/{len(clip)} frames; faces per frame: max {int(vl.n_faces.max())}")
    for t in range(0, len(clip), max(1, args.every)):
        flag = " " if vl.found[t] else "*"
        print(f"{t:5d} {t / clip.fps:7.2f}s {vl.n_faces[t]}{flag} {_describe(vl.points[t])}")
    if not vl.found.all():
        print("* face not detected in this frame: landmarks interpolated")
    yaw, pitch, roll = np.array([geometry.fit_pose(p).angles() for p in vl.points]).T
    opening = geometry.mouth_features(vl.points).opening
    print(
        f"summary: yaw {yaw.min():+.1f}…{yaw.max():+.1f}°, pitch {pitch.min():+.1f}…{pitch.max():+.1f}°, "
        f"roll {roll.min():+.1f}…{roll.max():+.1f}°, mouth opening {opening.min():.3f}…{opening.max():.3f} "
        f"(mean {opening.mean():.3f})"
    )
    if args.output is not None:
        if args.output.suffix.lower() != ".mp4":
            raise InputError(f"The preview of a video is a video: name it {args.output.stem}.mp4.")
        frames = (viz.draw_facial_map(f, p) for f, p in zip(clip.frames, vl.points, strict=True))
        media.write_video(args.output, frames, clip.fps, audio=clip.audio)
        print(f"wrote {args.output}")
    return 0


def run(args: argparse.Namespace) -> int:
    info = media.probe(args.input)
    if info.kind == "image":
        return _run_image(args)
    if info.kind == "video":
        return _run_video(args)
    raise InputError(f"{args.input.name} has no picture: give a photo or a video.")
