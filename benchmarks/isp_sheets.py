"""ISP sheets of a portrait against every style clip of a folder (for looking at, not a test).

    PYTHONPATH=. python benchmarks/isp_sheets.py OUTPUT_DIR [--portrait examples/portrait_astronaut.png]
        [--clips ../shared/media/style_clips] [--renderer warp]

Writes ``OUTPUT_DIR/isp_<portrait>_<clip>.png`` (references with labels and times, the four ISPs,
mouth close-ups of both) and prints, per clip and reference, the reference's mouth opening and
lip width next to the ISP target's (inter-ocular units), and the render time.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from talkinghead import geometry, media
from talkinghead.commands.isp import isp_sheet
from talkinghead.render.warp import isp_targets

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", type=Path, metavar="OUTPUT_DIR")
    parser.add_argument("--portrait", type=Path, default=REPO / "examples" / "portrait_astronaut.png")
    parser.add_argument("--clips", type=Path, default=REPO.parent / "shared" / "media" / "style_clips")
    parser.add_argument("--renderer", default="warp", choices=["auto", "warp", "liveportrait"])
    args = parser.parse_args()

    from talkinghead.face import get_landmarker
    from talkinghead.render.renderer_choice import select_renderer
    from talkinghead.style import analyse_style

    clips = sorted(p for p in args.clips.iterdir() if p.suffix.lower() in (".mp4", ".mov", ".webm", ".mkv"))
    if not clips:
        raise SystemExit(f"no video clips in {args.clips}")
    args.output.mkdir(parents=True, exist_ok=True)
    image = media.load_image(args.portrait)
    points = get_landmarker().detect(image, what=args.portrait.name).points
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    renderer, reason = select_renderer(args.renderer, device=device)
    source = renderer.prepare(image, points)
    own = geometry.mouth_features(source.landmarks)
    print(f"{args.portrait.name}: renderer {renderer.name} ({reason}); portrait lip gap {float(own.opening):.3f}, "
          f"width {float(own.width):.3f}")
    for clip in clips:
        analysis = analyse_style(clip)
        refs = [r.to_render() for r in analysis.references]
        start = time.perf_counter()
        isps = renderer.render_isps(source, refs)
        ms = 1000 * (time.perf_counter() - start)
        where = list(isp_targets(source, refs).landmarks)
        title = f"{args.portrait.name} x {clip.name} - renderer {renderer.name}"
        out = args.output / f"isp_{args.portrait.stem}_{clip.stem}.png"
        media.save_image(out, isp_sheet(analysis.references, isps, where, title=title))
        ref_m = geometry.mouth_features(np.stack([r.landmarks for r in refs]))
        isp_m = geometry.mouth_features(np.stack(where))
        cells = [
            f"{r.label}: open {ref_m.opening[k]:.2f}→{isp_m.opening[k]:.2f} "
            f"width {ref_m.width[k]:.2f}→{isp_m.width[k]:.2f}" + (" (low conf.)" if r.low_confidence else "")
            for k, r in enumerate(analysis.references)
        ]
        print(f"{clip.stem:34s} {ms:6.0f} ms  " + " | ".join(cells))
        print(f"{'':34s} wrote {out}")


if __name__ == "__main__":
    main()
