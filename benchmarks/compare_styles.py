"""Do different styles give visibly different talking heads? One portrait and one audio clip,
rendered with each style clip; the outputs are measured back from the videos themselves.

For every style (default: the example ballad, rap and opera clips) the pipeline renders the example
portrait speaking the example speech; then the landmarks are tracked again on the *output video*
and on the style clip, and the script prints the mouth opening (inner-lip gap in inter-ocular
units: median, 90th percentile, max) and the head motion (yaw/pitch/roll spread and yaw range).
It also writes a contact sheet of mouth crops at the same instants, one row per style.

    python benchmarks/compare_styles.py [--out OUTDIR] [--renderer warp] [STYLE_CLIP ...]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"


def motion_stats(video: Path) -> dict[str, float]:
    """Mouth opening and head motion of the face tracked in ``video``."""
    from talkinghead import geometry
    from talkinghead.style import analyse_style

    style = analyse_style(video)
    track = style.track
    opening = geometry.mouth_features(track.canonical[track.found]).opening
    deltas = style.pose_deltas
    return {
        "open_p50": float(np.percentile(opening, 50)),
        "open_p90": float(np.percentile(opening, 90)),
        "open_max": float(opening.max()),
        "yaw_std": float(deltas[:, 0].std()),
        "pitch_std": float(deltas[:, 1].std()),
        "roll_std": float(deltas[:, 2].std()),
        "yaw_range": float(np.ptp(deltas[:, 0])),
    }


def mouth_strip(video: Path, instants: list[float], size: int = 200) -> np.ndarray:
    """Crops around the mouth of the tracked face at ``instants`` (seconds), side by side."""
    import imageio.v3 as iio
    from PIL import Image

    from talkinghead.style import analyse_style

    frames = iio.imread(video)
    fps = float(iio.immeta(video).get("fps", 25.0))
    points = analyse_style(video).track.points
    crops = []
    for t in instants:
        i = min(int(round(t * fps)), len(frames) - 1)
        p = points[min(i, len(points) - 1), :, :2]
        centre = p[48:68].mean(0)
        half = 0.9 * np.linalg.norm(p[45] - p[36])  # a square of 1.8 inter-ocular distances
        y0, x0 = (int(max(0, centre[1] - half)), int(max(0, centre[0] - half)))
        crop = frames[i][y0 : int(centre[1] + half), x0 : int(centre[0] + half)]
        crops.append(np.asarray(Image.fromarray(crop).resize((size, size))))
    return np.concatenate(crops, 1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("styles", nargs="*", help="style clips (default: the example ballad, rap, opera)")
    parser.add_argument("--portrait", default=str(EXAMPLES / "portrait_astronaut.png"))
    parser.add_argument("--audio", default=str(EXAMPLES / "speech_en.wav"))
    parser.add_argument("--renderer", default="warp", choices=["auto", "warp", "liveportrait"])
    parser.add_argument("--out", default="compare_styles", help="folder for the videos and the contact sheet")
    args = parser.parse_args()

    from PIL import Image

    from talkinghead.pipeline import Pipeline, PipelineConfig, RequestOptions

    styles = [Path(s) for s in args.styles] or [EXAMPLES / f"style_{k}.mp4" for k in ("ballad", "rap", "opera")]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    pipeline = Pipeline(PipelineConfig(renderer=args.renderer))
    rows, strips = [], []
    for style in styles:
        result = pipeline.generate(
            args.portrait, args.audio, style, RequestOptions(side_by_side=False), workdir=out / style.stem
        )
        duration = len(result.phi_styled) / result.fps
        rows.append((style.stem, motion_stats(style), motion_stats(result.video_path)))
        strips.append(mouth_strip(result.video_path, list(np.linspace(0.1, 0.9, 8) * duration)))

    print(f"{'':<22}{'mouth opening p50 / p90 / max':>32}{'head yaw / pitch / roll std (deg)':>36}{'yaw range':>11}")
    for name, clip, video in rows:
        for label, s in (("clip", clip), ("output", video)):
            print(
                f"{name[:14]:<15}{label:<7}"
                f"{s['open_p50']:>14.3f} / {s['open_p90']:.3f} / {s['open_max']:.3f}"
                f"{s['yaw_std']:>20.1f} / {s['pitch_std']:.1f} / {s['roll_std']:.1f}{s['yaw_range']:>13.1f}"
            )
    sheet = out / "mouths.png"
    Image.fromarray(np.concatenate(strips, 0)).save(sheet)
    print(f"wrote {sheet} (one row per style: {', '.join(name for name, _, _ in rows)})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
