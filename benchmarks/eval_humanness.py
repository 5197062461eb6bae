"""Margins of the human-vs-animal face check (talkinghead.face.humanness) on real media.

    python benchmarks/eval_humanness.py [--media ../shared/media] [--frames 12] [--changes] [--avdata ../shared/avdata]

For every portrait in ``MEDIA/portraits``, ``skimage``'s astronaut and ``--frames`` frames of
every style clip (evenly spaced, plus the two frames with the most closed eyes, the widest
open mouth and the most turned head), prints both cues — the fur fraction and the face
detector's mean logit, computed for every face even where the check would skip the detector —
the head's yaw, the verdict and the time of each cue. ``--changes`` also scores each portrait
rescaled, mirrored, rotated, blurred, darkened, brightened, colour-cast and JPEG-compressed.
Ends with the errors and the smallest margins to the thresholds, per cue, taking the portraits
named by ``--animal`` (and their altered copies) as animals and everything else as people.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from talkinghead import geometry, media
from talkinghead.face import humanness
from talkinghead.face.mediapipe68 import mesh_to_68
from talkinghead.face.mediapipe_backend import MediaPipeLandmarker

DEFAULT_MEDIA = Path(__file__).resolve().parents[2] / "shared" / "media"


def _largest_mesh(lm: MediaPipeLandmarker, image: np.ndarray) -> np.ndarray | None:
    meshes = lm.meshes(image)
    if not meshes:
        return None
    return max(meshes, key=lambda m: float(np.ptp(m[:, 0]) * np.ptp(m[:, 1])))


def _clip_frames(path: Path, lm: MediaPipeLandmarker, n: int) -> list[tuple[str, np.ndarray]]:
    clip = media.load_video(path, with_audio=False)
    track = lm.track(clip.frames, clip.fps)
    p = track.points.astype(np.float64)
    ear = geometry.eye_openness(p).mean(-1)
    opening = geometry.mouth_features(p).opening
    yaw = np.array([abs(geometry.fit_pose(x).angles()[0]) for x in p])
    picks = set(np.linspace(0, len(p) - 1, n).round().astype(int).tolist())
    for order in (np.argsort(ear), np.argsort(-opening), np.argsort(-yaw)):
        picks |= set(order[:2].tolist())
    return [(f"{path.stem}#{i}", clip.frames[i]) for i in sorted(picks)]


def _changes(image: np.ndarray):
    import cv2

    h, w = image.shape[:2]
    yield "mirrored", np.ascontiguousarray(image[:, ::-1])
    for s in (0.4, 0.7, 1.5):
        yield f"×{s}", cv2.resize(image, None, fx=s, fy=s, interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_CUBIC)
    ok, buf = cv2.imencode(".jpg", image[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, 30])
    yield "jpeg q30", np.ascontiguousarray(cv2.imdecode(buf, cv2.IMREAD_COLOR)[:, :, ::-1])
    yield "darker", (image * 0.7).astype(np.uint8)
    yield "brighter", np.clip(image * 1.25 + 10, 0, 255).astype(np.uint8)
    yield "warm cast", np.clip(image * np.array([1.1, 1.0, 0.85]), 0, 255).astype(np.uint8)
    yield "cool cast", np.clip(image * np.array([0.85, 1.0, 1.1]), 0, 255).astype(np.uint8)
    rot = cv2.getRotationMatrix2D((w / 2, h / 2), 12, 1.0)
    yield "rotated 12°", cv2.warpAffine(image, rot, (w, h), borderMode=cv2.BORDER_REFLECT)
    rot = cv2.getRotationMatrix2D((w / 2, h / 2), -25, 1.0)
    yield "rotated -25°", cv2.warpAffine(image, rot, (w, h), borderMode=cv2.BORDER_REFLECT)
    yield "grey", np.repeat(image.mean(-1, keepdims=True), 3, -1).astype(np.uint8)
    yield "blurred", cv2.GaussianBlur(image, (0, 0), 2.0)


def main() -> None:
    import skimage.data

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--media", type=Path, default=DEFAULT_MEDIA)
    ap.add_argument("--frames", type=int, default=6, help="evenly spaced frames per clip (plus the extremes)")
    ap.add_argument("--changes", action="store_true", help="also score altered copies of each portrait")
    ap.add_argument("--avdata", type=Path, default=None, help="also frames of the clips in AVDATA/eval")
    ap.add_argument(
        "--animal",
        nargs="*",
        default=["lp_s22", "lp_s31", "lp_s33", "lp_s36", "lp_s39", "lp_s41"],
        help="portraits (file stems) that show an animal",
    )
    args = ap.parse_args()

    lm = MediaPipeLandmarker()
    images: list[tuple[str, np.ndarray]] = [("astronaut", skimage.data.astronaut())]
    for path in sorted((args.media / "portraits").glob("*.jpg")):
        image = media.load_image(path)
        images.append((path.stem, image))
        if args.changes:
            images += [(f"{path.stem} {tag}", changed) for tag, changed in _changes(image)]
    clips = sorted((args.media / "style_clips").glob("*.mp4"))
    if args.avdata is not None:
        clips += sorted((args.avdata / "eval").glob("*.mp4"))
    for path in clips:
        images += _clip_frames(path, lm, args.frames)

    rows = []
    print(f"{'image':40s} {'yaw':>6s} {'fur':>5s} {'logit':>6s} {'human':>6s}  verdict  fur ms  detector ms  cnn ms")
    for name, image in images:
        truth = name.split(" ")[0] in args.animal
        mesh = _largest_mesh(lm, image)
        if mesh is None:
            rows.append((name, 0.0, 0.0, True, truth, None))
            print(f"{name:40s} no face (refused)")
            continue
        points = mesh_to_68(mesh).astype(np.float64)
        yaw = geometry.fit_pose(points).angles()[0]
        t0 = time.perf_counter()
        fur = humanness.fur_fraction(image, points)
        t1 = time.perf_counter()
        logit = humanness.detector_logit(image, points)
        t2 = time.perf_counter()
        human = humanness.human_score(image, points)
        t3 = time.perf_counter()
        animal = humanness.HumannessCues(fur, logit, human).is_animal
        rows.append((name, fur, logit, animal, truth, human))
        verdict = "ANIMAL" if animal else "person"
        times = f"{1e3 * (t1 - t0):6.1f}  {1e3 * (t2 - t1):11.1f}  {1e3 * (t3 - t2):6.1f}"
        print(f"{name:40s} {yaw:6.1f} {fur:5.2f} {logit:6.2f} {human:6.2f}  {verdict:7s}  {times}")
    animals = [r for r in rows if r[4]]
    people = [r for r in rows if not r[4]]
    print(
        f"\nthresholds: an animal has human < {humanness.HUMAN_MIN}, "
        f"or fur >= {humanness.FUR_MIN} and logit < {humanness.DETECTOR_LOGIT_MAX}"
    )
    missed = [r[0] for r in animals if not r[3]]
    refused = [r[0] for r in people if r[3]]
    print(f"animals: {len(animals) - len(missed)}/{len(animals)} refused; accepted: {missed}")
    print(f"people: {len(people) - len(refused)}/{len(people)} accepted; refused: {refused}")
    meshed = [r for r in animals if r[5] is not None]
    if meshed:
        top = max(meshed, key=lambda r: r[5])
        print(f"animals with a mesh: {len(meshed)}, highest human score {top[5]:.2f} ({top[0]})")
    scored = [r for r in people if r[5] is not None]
    if scored:
        low = min(scored, key=lambda r: r[5])
        print(f"people: lowest human score {low[5]:.2f} ({low[0]})")
    caught = [r for r in animals if r[3] and r[5] is not None]
    if caught:
        a_fur, a_logit = min(caught, key=lambda r: r[1]), max(caught, key=lambda r: r[2])
        print(f"refused animals: lowest fur {a_fur[1]:.2f} ({a_fur[0]}), highest logit {a_logit[2]:.2f} ({a_logit[0]})")
    if scored:
        p_fur, p_logit = max(scored, key=lambda r: r[1]), min(scored, key=lambda r: r[2])
        print(f"people: highest fur {p_fur[1]:.2f} ({p_fur[0]}), lowest logit {p_logit[2]:.2f} ({p_logit[0]})")


if __name__ == "__main__":
    main()
