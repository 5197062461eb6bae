"""Benchmark of the `liveportrait` renderer at 512² with the full-size networks (random weights).

Prints one table row per (precision, batch size): frames/s of W+G alone (the networks, on the
device, no host transfer) and of ``render()`` (driving keypoints + W+G + uint8 frames on the host),
and peak memory; plus the one-off costs per portrait (``prepare``: F and M) and per style clip
(``render_isps`` for four references: M on each, then W+G). Random weights compute exactly what
the Hub weights compute, so the timings are those of the real renderer.

    python benchmarks/bench_liveportrait.py                    # CUDA when present, else CPU
    python benchmarks/bench_liveportrait.py --device cpu --batch-sizes 1,2
    python benchmarks/bench_liveportrait.py --json bench_liveportrait.json

On CUDA it measures fp16 autocast (as LivePortrait runs) and fp32, batch sizes 1, 8, 16, 32 by
default, and checks the target of ≥ 100 frames/s for W+G in fp16. On CPU it measures fp32 only,
batch sizes 1 and 2, one timed run each (tens of seconds per frame on two cores), and skips the
four ISPs unless ``--isps`` is given.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

import numpy as np
import torch

TARGET_FPS_FP16 = 100.0  # W+G frames/s wanted on an H200-class GPU


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _reset_peak(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)


def _peak_mib(device: torch.device) -> float:
    """Peak device memory since the last reset (CUDA), or the process's peak resident set (CPU)."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _timed(fn, device: torch.device, *, warmup: int, repeats: int) -> float:
    """Median seconds of ``repeats`` calls after ``warmup`` untimed ones."""
    for _ in range(warmup):
        fn()
    _sync(device)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        _sync(device)
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def _portrait(seed: int = 0):
    """A noise image with the canonical face in it, and four noise reference crops."""
    from talkinghead import geometry
    from talkinghead.render.base import ReferenceFrame

    rng = np.random.default_rng(seed)
    image = rng.integers(0, 256, (720, 640, 3), dtype=np.uint8)
    pose = geometry.Pose.from_angles(5.0, -3.0, 2.0, translation=np.array([320.0, 340.0, 0.0]), scale=150.0)
    landmarks = pose.apply(geometry.canonical_face())

    def refs(source):
        return [
            ReferenceFrame(
                label=label,
                crop=rng.integers(0, 256, (512, 512, 3), dtype=np.uint8),
                landmarks=source.landmarks,
                expression=np.zeros((68, 3)),
                pose=source.pose,
            )
            for label in ("None", "M", "R", "O")
        ]

    return image, landmarks, refs


def _targets(source, n: int, seed: int = 0):
    """n frames with a gentle head sway, a blink and a mouth that opens and closes."""
    from talkinghead import geometry
    from talkinghead.render.base import FrameTargets

    t = np.arange(n) / 25.0
    turns = np.stack([geometry.angles_to_rotation(8 * np.sin(2 * x), 4 * np.sin(3 * x), 0.0) for x in t])
    canonical = np.repeat(source.identity[None], n, 0)
    canonical[:, [56, 57, 58, 65, 66, 67], 1] += 0.15 * (0.5 + 0.5 * np.sin(9 * t))[:, None]
    return FrameTargets(
        canonical=canonical,
        rotation=turns @ source.pose.rotation,
        translation=np.repeat(source.pose.translation[None], n, 0),
        scale=np.full(n, source.pose.scale),
        eye_open=np.where(np.arange(n) % 50 == 3, 0.0, 1.0),
    )


def _networks_only(renderer, feature: torch.Tensor, kp_source: torch.Tensor, kp_driving: torch.Tensor) -> None:
    """W+G on the device in the renderer's precision, without the uint8 conversion or host copy."""
    with torch.inference_mode(), renderer.autocast():
        warped = renderer.nets.warping(feature, kp_source=kp_source, kp_driving=kp_driving)
        renderer.nets.generator(warped["out"])


def _bench_batch(renderer, source, refs, batch: int, *, warmup: int, repeats: int, networks: bool) -> dict:
    """One table row: W+G and render() frames/s for one batch size, and peak memory."""
    from functools import partial

    device = renderer.device
    targets = _targets(source, batch)
    prep = source.cache["liveportrait"]
    kp = renderer.driving_keypoints(source, targets, refs)
    wg = partial(
        _networks_only,
        renderer,
        prep.feature.expand(batch, -1, -1, -1, -1),
        prep.kp_source.expand(batch, -1, -1),
        kp,
    )
    _reset_peak(device)
    wg_s = _timed(wg, device, warmup=warmup, repeats=repeats) if networks else None
    render_s = _timed(partial(renderer.render, source, targets, refs), device, warmup=warmup, repeats=repeats)
    return {
        "batch": batch,
        "wg_fps": batch / wg_s if wg_s else None,
        "render_fps": batch / render_s,
        "peak_mib": _peak_mib(device),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto", help="cuda, cpu or auto (cuda when available)")
    parser.add_argument("--batch-sizes", default=None, help="comma-separated (default 1,8,16,32 on CUDA; 1,2 on CPU)")
    parser.add_argument("--repeats", type=int, default=None, help="timed runs per row (default 10 on CUDA, 1 on CPU)")
    parser.add_argument("--isps", action="store_true", help="also time the four ISPs on CPU (always on CUDA)")
    parser.add_argument("--json", default=None, help="write the numbers to this file")
    args = parser.parse_args()

    from functools import partial

    from talkinghead.render.liveportrait import LivePortraitRenderer, LivePortraitRendererConfig

    if args.device == "auto":
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    else:
        device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        print("CUDA asked for but not available", file=sys.stderr)
        return 2
    cuda = device.type == "cuda"
    batches = [int(b) for b in (args.batch_sizes or ("1,8,16,32" if cuda else "1,2")).split(",")]
    repeats = args.repeats or (10 if cuda else 1)
    warmup = 2 if cuda else 0
    name = torch.cuda.get_device_name(device) if cuda else f"CPU, {torch.get_num_threads()} threads"
    print(f"liveportrait renderer, full-size networks, random weights — {name}, torch {torch.__version__}")

    start = time.perf_counter()
    base = LivePortraitRenderer.random(device=device, seed=0)
    result: dict = {"device": name, "torch": torch.__version__, "build_s": time.perf_counter() - start, "rows": []}
    image, landmarks, make_refs = _portrait()

    for precision in ("fp16", "fp32") if cuda else ("fp32",):
        for batch in batches:
            config = LivePortraitRendererConfig(half_precision=precision == "fp16", batch_size=batch)
            renderer = LivePortraitRenderer(nets=base.nets, device=device, config=config)
            if batch == batches[0]:  # one-off costs, once per precision
                _reset_peak(device)
                prepare_s = _timed(partial(renderer.prepare, image, landmarks), device, warmup=warmup, repeats=1)
                source = renderer.prepare(image, landmarks)
                refs = make_refs(source)
                isp_s = None
                if cuda or args.isps:
                    isp_s = _timed(partial(renderer.render_isps, source, refs), device, warmup=warmup, repeats=1)
                result[f"{precision}_prepare_s"], result[f"{precision}_isps_s"] = prepare_s, isp_s
                isp_text = f"{isp_s:.3f} s" if isp_s is not None else "not timed (--isps)"
                print(f"\n[{precision}] prepare (F+M): {prepare_s:.3f} s   four ISPs (M×4, W+G×4): {isp_text}")
                print(f"{'batch':>5}  {'W+G frames/s':>13}  {'render() frames/s':>18}  {'peak MiB':>9}")
            row = _bench_batch(renderer, source, refs, batch, warmup=warmup, repeats=repeats, networks=cuda)
            row["precision"] = precision
            result["rows"].append(row)
            wg_text = f"{row['wg_fps']:13.3g}" if row["wg_fps"] else f"{'(= render)':>13}"
            print(f"{batch:5d}  {wg_text}  {row['render_fps']:18.3g}  {row['peak_mib']:9.0f}")

    if cuda:
        best = max((r["wg_fps"] for r in result["rows"] if r["precision"] == "fp16"), default=0.0)
        verdict = "met" if best >= TARGET_FPS_FP16 else "NOT met"
        print(f"\nfp16 W+G best {best:.1f} frames/s: target ≥ {TARGET_FPS_FP16:.0f} frames/s {verdict}")
        result["target_met"] = best >= TARGET_FPS_FP16
    else:
        print("\nCPU: W+G is the whole cost of render(); peak MiB is the process's peak resident memory.")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
