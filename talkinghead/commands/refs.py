"""`python -m talkinghead refs STYLE_CLIP [-o refs.png]`: the None/M/R/O style reference frames."""

from __future__ import annotations

import argparse
from pathlib import Path

from talkinghead.face import BACKENDS
from talkinghead.style import StyleConfig


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("style_clip", type=Path, help="video of a person talking or singing")
    parser.add_argument(
        "-o", "--output", type=Path, default=Path("refs.png"), help="contact sheet to write (PNG, default refs.png)"
    )
    parser.add_argument(
        "--max-seconds",
        type=float,
        default=StyleConfig.max_seconds,
        help=f"analyse at most this many seconds of the clip (default {StyleConfig.max_seconds:g})",
    )
    default = StyleConfig.backend
    parser.add_argument("--backend", choices=BACKENDS, default=default, help=f"landmark backend (default {default})")


_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp")


def run(args: argparse.Namespace) -> int:
    from talkinghead import media
    from talkinghead.errors import InputError
    from talkinghead.style import TEMPLATES, analyse_style
    from talkinghead.style.sheet import contact_sheet

    if args.output.suffix.lower() not in _IMAGE_SUFFIXES:
        raise InputError(f"-o {args.output}: the contact sheet must be an image ({', '.join(_IMAGE_SUFFIXES)}).")
    if not args.max_seconds > 0:
        raise InputError(f"--max-seconds must be positive, got {args.max_seconds}.")
    config = StyleConfig(max_seconds=args.max_seconds, backend=args.backend)
    analysis = analyse_style(args.style_clip, config=config)
    track = analysis.track
    print(
        f"{args.style_clip.name}: {len(track)} frames at {track.fps:g} fps, {int(track.valid.sum())} usable, "
        f"landmarks by {analysis.backend}"
    )
    print(f"{'label':<6}{'frame':>7}{'time (s)':>10}{'score':>8}{'confidence':>12}  template")
    for tpl, ref in zip(TEMPLATES, analysis.references, strict=True):
        flag = "  LOW CONFIDENCE" if ref.low_confidence else ""
        print(
            f"{ref.label:<6}{ref.frame_index:>7}{ref.time:>10.2f}{ref.score:>8.2f}{ref.confidence:>12.2f}  "
            f"{tpl.description}{flag}"
        )
    print(f"blinks: {len(analysis.blinks.events)} ({analysis.blinks.rate_per_min:.1f} per minute)")
    for note in analysis.warnings:
        print(f"note: {note}")
    sheet = contact_sheet(analysis, title=f"{args.style_clip.name}: style reference frames (paper §3.2)")
    out = media.save_image(args.output, sheet)
    print(f"contact sheet: {out}")
    return 0
