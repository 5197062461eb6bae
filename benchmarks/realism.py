"""How real the rendered faces look: contact sheets and numbers per portrait × style clip.

For each portrait (the example and the human portraits of ``../shared/media/portraits``: photos,
paintings, black and white, a statue, a cartoon) and each style clip (the three examples by
default), one request with 4 s of the example speech (``face`` framing, 10 transfer steps) and:

* a contact sheet ``OUT/<portrait>__<clip>.png``: the portrait's crop, the four ISPs, and the
  three frames with the widest open mouth, each with a mouth close-up below;
* **identity distance** between the portrait and each ISP and open-mouth frame: the Euclidean
  distance of dlib's 128-d face embeddings (``face-recognition-models``' ResNet; < 0.6 is "the
  same person" by dlib's own threshold), each face located by our landmarks;
  beside it, the same distance for the style clip's own person between its None reference and
  its M / R / O references (how far these expressions move dlib's embedding on a real face);
* **mouth sharpness**: CPBD (``talkinghead.metrics.cpbd``) of the mouth region of the open-mouth
  frames over that of the portrait's own crop (1 = as sharp as the photo);
* **flicker outside the head**: the largest change between consecutive ``full``-framing frames
  (before encoding) anywhere the paste-back does not reach; 0 means the background is still.

    python benchmarks/realism.py OUT [--clips a.mp4,b.mp4] [--portraits p.jpg,...]
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "media"
HUMAN_PORTRAITS = ("hallo_ref1.jpg", "lp_s1.jpg", "lp_s2.jpg", "lp_s10.jpg", "lp_s6.jpg", "lp_s7.jpg")


class FaceEmbedder:
    """dlib's face recognition ResNet on a face whose 68 landmarks we already have."""

    def __init__(self) -> None:
        import dlib

        models = Path(importlib.util.find_spec("face_recognition_models").submodule_search_locations[0]) / "models"
        self._shape = dlib.shape_predictor(str(models / "shape_predictor_68_face_landmarks.dat"))
        self._net = dlib.face_recognition_model_v1(str(models / "dlib_face_recognition_resnet_model_v1.dat"))
        self._dlib = dlib

    def __call__(self, image: np.ndarray, points: np.ndarray) -> np.ndarray:
        x0, y0 = np.floor(points[:, :2].min(0)).astype(int)
        x1, y1 = np.ceil(points[:, :2].max(0)).astype(int)
        box = self._dlib.rectangle(int(x0), int(y0), int(x1), int(y1))
        shape = self._shape(np.ascontiguousarray(image), box)
        return np.array(self._net.compute_face_descriptor(np.ascontiguousarray(image), shape))


def mouth_box(points: np.ndarray, size: int, pad: float = 0.35, least: int = 72) -> tuple[int, int, int, int]:
    """The lips' box grown by ``pad`` of the mouth width on each side, at least ``least`` pixels
    each way (CPBD scores 64² blocks), inside the ``size``² crop."""
    lips = points[48:68, :2]
    lo, hi = lips.min(0), lips.max(0)
    centre, half = (lo + hi) / 2, np.maximum((hi - lo) / 2 + pad * (hi[0] - lo[0]), least / 2)
    x0, y0 = np.clip(np.floor(centre - half), 0, size - least).astype(int)
    x1, y1 = np.clip(np.ceil(centre + half), least, size).astype(int)
    return int(x0), int(y0), int(x1), int(y1)


def one(pipeline, embed: FaceEmbedder, portrait: Path, clip: Path, audio: Path, out: Path) -> dict:
    import cv2

    from talkinghead import geometry, media, metrics
    from talkinghead.pipeline import RequestOptions
    from talkinghead.render.compose import PASTE_KEY, paste_back

    opts = RequestOptions(steps=10, framing="face", side_by_side=False)
    with tempfile.TemporaryDirectory(prefix="talkinghead-realism-") as work:
        res = pipeline.generate(portrait, audio, clip, opts, workdir=work)
        frames = media.load_video(res.video_path, with_audio=False).frames
    pre = pipeline.analyse(portrait, clip)
    source = pre.source
    targets = res.targets
    drawn = pipeline.renderer.clamp_targets(source, targets).landmarks  # where the frames show the face
    opening = geometry.mouth_features(drawn).opening
    wide = np.sort(np.argsort(opening)[-3:])
    own = embed(source.crop, source.landmarks)
    isp_points = [source.landmarks] * 4  # ISPs keep the portrait's place; the dlib fit refines the shape
    distances = [float(np.linalg.norm(embed(img, pts) - own)) for img, pts in zip(res.isps, isp_points)]
    distances += [float(np.linalg.norm(embed(frames[i], drawn[i]) - own)) for i in wide]
    size = source.size

    def mouth_cpbd(image: np.ndarray, points: np.ndarray) -> float:
        x0, y0, x1, y1 = mouth_box(points, size)
        return metrics.cpbd(image[y0:y1, x0:x1])

    sharp_own = mouth_cpbd(source.crop, source.landmarks)
    sharp = [mouth_cpbd(frames[i], drawn[i]) / max(sharp_own, 1e-6) for i in wide]

    # Flicker: raw full-framing frames of the first second, compared where the paste cannot reach.
    raw = pipeline.renderer.render(source, targets[: min(25, len(targets))])
    full = paste_back(raw, source)
    plan = source.cache[PASTE_KEY]
    outside = np.ones(full.shape[1:3], bool)
    px0, py0, px1, py1 = plan.box
    outside[py0:py1, px0:px1] = plan.mask <= 0
    flicker = int(np.abs(np.diff(full.astype(np.int16), axis=0))[:, outside].max()) if outside.any() else 0

    def closeup(image: np.ndarray, points: np.ndarray) -> np.ndarray:
        x0, y0, x1, y1 = mouth_box(points, size)
        return cv2.resize(image[y0:y1, x0:x1], (256, 128), interpolation=cv2.INTER_CUBIC)

    tiles = [(source.crop, source.landmarks, "portrait")]
    tiles += [(img, source.landmarks, f"ISP {r.label}") for img, r in zip(res.isps, res.references)]
    tiles += [(frames[i], drawn[i], f"frame {i}") for i in wide]
    columns = []
    for image, points, label in tiles:
        top = cv2.resize(image, (256, 256), interpolation=cv2.INTER_AREA)
        cv2.putText(top, label, (6, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (255, 255, 255), 2, cv2.LINE_AA)
        columns.append(np.concatenate([top, closeup(image, points)], 0))
    media.save_image(out / f"{portrait.stem}__{clip.stem}.png", np.concatenate(columns, 1))
    return {"portrait": portrait.stem, "clip": clip.stem, "identity": distances, "sharpness": sharp, "flicker": flicker}


def clip_own_distances(pipeline, embed: FaceEmbedder, portrait: Path, clip: Path) -> list[float]:
    """The style clip's own person: embedding distance from its None reference to M, R and O."""
    refs = [r.to_render() for r in pipeline.analyse(portrait, clip).references]
    none = embed(refs[0].crop, refs[0].landmarks)
    return [float(np.linalg.norm(embed(r.crop, r.landmarks) - none)) for r in refs[1:]]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", type=Path, metavar="OUT")
    parser.add_argument("--portraits", help="comma-separated portrait files (default: the example and shared humans)")
    parser.add_argument("--clips", help="comma-separated style clips (default: the three examples)")
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    from talkinghead import media
    from talkinghead.pipeline import Pipeline, PipelineConfig

    if args.portraits:
        portraits = [Path(p) for p in args.portraits.split(",")]
    else:
        portraits = [REPO / "examples" / "portrait_astronaut.png"]
        portraits += [SHARED / "portraits" / n for n in HUMAN_PORTRAITS if (SHARED / "portraits" / n).is_file()]
    clips = [Path(c) for c in args.clips.split(",")] if args.clips else [
        REPO / "examples" / f"style_{s}.mp4" for s in ("ballad", "rap", "opera")
    ]
    args.output.mkdir(parents=True, exist_ok=True)
    pipeline = Pipeline(PipelineConfig(renderer="warp", device="cpu"))
    embed = FaceEmbedder()
    rows = []
    with tempfile.TemporaryDirectory(prefix="talkinghead-realism-") as work:
        speech = media.load_audio(REPO / "examples" / "speech_en.wav")[: 4 * media.SAMPLE_RATE]
        audio = media.save_wav(Path(work) / "speech.wav", speech)
        truth = {clip.stem: clip_own_distances(pipeline, embed, portraits[0], clip) for clip in clips}
        for clip, d in truth.items():
            print(f"{clip:<22} the clip's own face, None -> M / R / O: " + " / ".join(f"{x:.3f}" for x in d))
        for portrait in portraits:
            for clip in clips:
                row = one(pipeline, embed, portrait, clip, audio, args.output)
                rows.append(row)
                print(f"{row['portrait']:<20} {row['clip']:<14} identity ISPs {np.mean(row['identity'][:4]):.3f} "
                      f"frames {np.mean(row['identity'][4:]):.3f} (max {max(row['identity']):.3f})  "
                      f"mouth sharpness {np.mean(row['sharpness']):.2f}×  flicker {row['flicker']}", flush=True)
    identity = np.array([d for r in rows for d in r["identity"]])
    sharp = np.array([s for r in rows for s in r["sharpness"]])
    own = np.array([d for r in rows for d in truth[r["clip"]]])
    print(f"\n{len(rows)} requests: identity distance mean {identity.mean():.3f}, max {identity.max():.3f} "
          f"(< 0.6: same person for dlib; the clips' own faces, None -> M / R / O, mean {own.mean():.3f}); "
          f"mouth sharpness {sharp.mean():.2f}× the portrait's "
          f"(min {sharp.min():.2f}); flicker outside the head max {max(r['flicker'] for r in rows)}")
    print(f"contact sheets in {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
