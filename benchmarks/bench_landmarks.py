"""Speed and smoothing of the embedded (MediaPipe) landmark backend on real media.

    python benchmarks/bench_landmarks.py [--media ../shared/media] [--backend mediapipe]

Per style clip: frames/s of the tracking path (``Landmarker.track``: per-frame landmarks,
following one face, filling lost frames, smoothing; decoding excluded), the share of frames
with a face, the jitter of the rigid points before/after smoothing (mean |second difference|
in eye distances per frame) and how much of the fast motion smoothing keeps: correlation of the
inner-lip opening before/after, ratio of its top-5 % frames, and the share of the depth of each
dip kept — blinks (eye aspect ratio under 0.6× its median) and lip closures (opening under 0.5×
its median), measured from the median. Then the time of one
``detect`` on ``skimage``'s astronaut portrait: cold (first call in the process, model
loading included) and warm (median of 20).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from talkinghead import geometry, media
from talkinghead.face import get_landmarker
from talkinghead.face.tracking import follow_face, smooth_track

DEFAULT_MEDIA = Path(__file__).resolve().parents[2] / "shared" / "media"


def _jitter(points: np.ndarray) -> float:
    iod = float(np.linalg.norm(points[:, 45] - points[:, 36], axis=-1).mean())
    return float(np.abs(np.diff(points[:, list(geometry.RIGID), :2], 2, axis=0)).mean() / iod)


def _dip_depth_kept(raw: np.ndarray, smooth: np.ndarray, fraction: float) -> float:
    """Mean share of the depth (below the median) of the raw signal's dips that smoothing keeps."""
    med = np.median(raw)
    dips = [t for t in range(1, len(raw) - 1) if raw[t] < fraction * med and raw[t] <= min(raw[t - 1], raw[t + 1])]
    if not dips:
        return float("nan")
    return float(np.mean([(med - smooth[t]) / (med - raw[t]) for t in dips]))


def bench_clip(lm, path: Path) -> dict[str, float]:
    clip = media.load_video(path, with_audio=False)
    start = time.perf_counter()
    per_frame = lm.faces_per_frame(clip.frames, path.name)
    followed = follow_face(per_frame)
    if followed is None:
        raise SystemExit(f"{path.name}: no face")
    raw, found = followed
    smoothed = smooth_track(raw, found, clip.fps)
    seconds = time.perf_counter() - start
    o_raw = geometry.mouth_features(raw[found]).opening
    o_smooth = geometry.mouth_features(smoothed[found]).opening
    top = o_raw >= np.percentile(o_raw, 95)
    ear_raw = geometry.eye_openness(raw[found]).mean(-1)
    ear_smooth = geometry.eye_openness(smoothed[found]).mean(-1)
    return {
        "frames": len(clip),
        "size": clip.frames.shape[2],
        "fps": len(clip) / seconds,
        "found": float(found.mean()),
        "faces": int(max(len(f) for f in per_frame)),
        "jitter_raw": _jitter(raw[found]) if found.all() else float("nan"),
        "jitter_smooth": _jitter(smoothed),
        "mouth_corr": float(np.corrcoef(o_raw, o_smooth)[0, 1]),
        "mouth_peak": float(o_smooth[top].mean() / o_raw[top].mean()),
        "blink_kept": _dip_depth_kept(ear_raw, ear_smooth, 0.6),
        "closure_kept": _dip_depth_kept(o_raw, o_smooth, 0.5),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--media", type=Path, default=DEFAULT_MEDIA, help="folder with style_clips/*.mp4")
    parser.add_argument("--backend", default="mediapipe", choices=("mediapipe", "fan"))
    args = parser.parse_args()

    import skimage.data

    image = skimage.data.astronaut()
    start = time.perf_counter()
    lm = get_landmarker(args.backend)
    lm.detect(image)
    cold = time.perf_counter() - start
    warm = []
    for _ in range(20):
        start = time.perf_counter()
        lm.detect(image)
        warm.append(time.perf_counter() - start)

    clips = sorted((args.media / "style_clips").glob("*.mp4"))
    if not clips:
        raise SystemExit(f"no clips in {args.media / 'style_clips'}: pass --media")
    header = (f"{'clip':38s} {'frames':>6s} {'size':>5s} {'track fps':>9s} {'found':>6s} {'faces':>5s} "
              f"{'jitter raw→smooth':>18s} {'mouth corr':>10s} {'mouth peak':>10s} "
              f"{'blinks kept':>11s} {'closures kept':>13s}")
    print(f"backend: {lm.name}")
    print(header)
    print("-" * len(header))
    total_frames = total_time = 0.0
    for path in clips:
        r = bench_clip(lm, path)
        total_frames += r["frames"]
        total_time += r["frames"] / r["fps"]
        print(f"{path.name:38s} {r['frames']:6d} {r['size']:5d} {r['fps']:9.1f} {r['found']:6.1%} {r['faces']:5d} "
              f"{r['jitter_raw']:8.4f} → {r['jitter_smooth']:.4f} {r['mouth_corr']:10.4f} {r['mouth_peak']:10.3f} "
              f"{r['blink_kept']:11.2f} {r['closure_kept']:13.2f}")
    print("-" * len(header))
    print(f"{'all clips':38s} {int(total_frames):6d} {'':5s} {total_frames / total_time:9.1f}")
    print(f"\ndetect on the astronaut (512²): cold {cold:.3f} s (model loading included), "
          f"warm median {np.median(warm) * 1000:.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
