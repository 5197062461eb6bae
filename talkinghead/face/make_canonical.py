"""Build ``talkinghead/data/canonical_face_68.npy``, the canonical mean face of the geometry module.

    python -m talkinghead.face.make_canonical [--media DIR [--exclude NAME ...]] [-o PATH]

The shipped file was made with ``--media ../shared/media --exclude lp_s22.jpg`` (that portrait
is a monkey).

Steps: MediaPipe landmarks (468→68) of near-frontal, mouth-closed faces — ``skimage``'s
astronaut portrait plus, with ``--media DIR``, every portrait in ``DIR/portraits`` and frames of
every clip in ``DIR/style_clips``; generalized Procrustes per source, then across sources (each
person weighs the same however many frames it has); the mean is turned to the sources' average
viewpoint, made exactly left-right symmetric (averaged with its mirror image about the plane
that best separates left/right point pairs), rotated so that this plane is x = 0 and the eyes
are level, and normalised with :func:`talkinghead.geometry.normalise_canonical` (centroid 0,
outer-eye-corner distance 1).
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import numpy as np

from talkinghead import geometry
from talkinghead.face.plausibility import MIRROR_68

log = logging.getLogger(__name__)

MAX_ANGLE = 12.0  # degrees of yaw/pitch from the mean face for a face to count as near-frontal
MAX_OPENING = 0.06  # inner-lip gap (inter-ocular units) for the mouth to count as closed
FRAME_STEP = 5  # every n-th frame of a clip is used


def mirror(points: np.ndarray) -> np.ndarray:
    """Mirror image of ``(...,68,3)`` landmarks about the plane x = 0, points relabelled."""
    p = np.asarray(points)[..., MIRROR_68, :].copy()
    p[..., 0] *= -1.0
    return p


def procrustes_mean(shapes: np.ndarray, iterations: int = 30) -> np.ndarray:
    """Generalized Procrustes mean of ``N×68×3`` shapes (similarity-aligned), normalised."""
    mean = geometry.normalise_canonical(shapes[0])
    for _ in range(iterations):
        aligned = []
        for s in shapes:
            scale, rot, t = geometry.umeyama(s, mean)
            aligned.append(scale * s @ rot.T + t)
        new = geometry.normalise_canonical(np.mean(aligned, axis=0))
        scale, rot, t = geometry.umeyama(new, mean)  # keep the orientation of the reference
        new = geometry.normalise_canonical(scale * new @ rot.T + t)
        done = np.abs(new - mean).max() < 1e-7
        mean = new
        if done:
            break
    return mean


def average_view(mean: np.ndarray, shapes: np.ndarray) -> np.ndarray:
    """``mean`` turned to the average orientation in which the shapes see it."""
    acc = np.zeros((3, 3))
    for s in shapes:
        acc += geometry.umeyama(mean, s)[1]
    u, _, vt = np.linalg.svd(acc)
    rot = u @ np.diag([1.0, 1.0, np.sign(np.linalg.det(u @ vt))]) @ vt  # chordal mean rotation
    return mean @ rot.T


def symmetric_frontal(shape: np.ndarray) -> np.ndarray:
    """Exactly symmetric version of ``shape`` with symmetry plane x = 0 and level eyes."""
    s = np.asarray(shape, dtype=np.float64)
    scale, rot, t = geometry.umeyama(mirror(s), s)
    s = 0.5 * (s + scale * mirror(s) @ rot.T + t)  # symmetric up to a rigid motion
    pairs = np.arange(68) < MIRROR_68
    diffs = s[pairs] - s[MIRROR_68[pairs]]  # all along the plane normal for a symmetric shape
    normal = np.linalg.svd(diffs, full_matrices=False)[2][0]
    if normal @ (s[45] - s[36]) < 0:  # x points from the right eye (image left) to the left eye
        normal = -normal
    y = np.array([0.0, 1.0, 0.0]) - normal[1] * normal
    y /= np.linalg.norm(y)
    axes = np.stack([normal, y, np.cross(normal, y)])  # rows: new x, y, z (right-handed)
    s = (s - s.mean(0)) @ axes.T
    s = 0.5 * (s + mirror(s))  # remove what numerical asymmetry is left
    return geometry.normalise_canonical(s)


def _frames(path: Path, step: int):
    import cv2

    cap = cv2.VideoCapture(str(path))
    try:
        i = 0
        while True:
            ok, frame = cap.read()
            if not ok:
                return
            if i % step == 0:
                yield cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
            i += 1
    finally:
        cap.release()


def _read_image(path: Path) -> np.ndarray:
    from PIL import Image, ImageOps

    with Image.open(path) as im:
        return np.asarray(ImageOps.exif_transpose(im).convert("RGB"))


def collect_sources(media: Path | None, exclude: tuple[str, ...] = ()) -> dict[str, list[np.ndarray]]:
    """Largest-face 68×3 landmarks per source (name → list of faces)."""
    import skimage.data

    from talkinghead.face.mediapipe68 import mesh_to_68
    from talkinghead.face.mediapipe_backend import MediaPipeLandmarker

    lm = MediaPipeLandmarker()

    def largest(image: np.ndarray) -> np.ndarray | None:
        meshes = lm.meshes(np.ascontiguousarray(image))
        if not meshes:
            return None
        return mesh_to_68(max(meshes, key=lambda m: np.ptp(m[:, 0]) * np.ptp(m[:, 1]))).astype(np.float64)

    images: dict[str, list[np.ndarray]] = {"astronaut": [skimage.data.astronaut()]}
    if media is not None:
        for p in sorted((media / "portraits").glob("*.jpg")):
            if p.name not in exclude:
                images[p.name] = [_read_image(p)]
        for p in sorted((media / "style_clips").glob("*.mp4")):
            if p.name not in exclude:
                images[p.name] = list(_frames(p, FRAME_STEP))
    sources = {}
    for name, frames in images.items():
        faces = [f for f in (largest(im) for im in frames) if f is not None]
        if faces:
            sources[name] = faces
        log.info("%s: %d faces in %d images", name, len(faces), len(frames))
    lm.close()
    return sources


def _select(faces: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """The near-frontal faces, only those with a closed mouth when there are any."""
    frontal, closed = [], []
    for f in faces:
        _, rot, _ = geometry.umeyama(reference, f)
        yaw, pitch, _ = geometry.rotation_to_angles(rot)
        frontal.append(abs(yaw) < MAX_ANGLE and abs(pitch) < MAX_ANGLE)
        closed.append(geometry.mouth_features(f).opening < MAX_OPENING)
    frontal, closed = np.array(frontal, dtype=bool), np.array(closed, dtype=bool)
    return faces[frontal & closed] if (frontal & closed).any() else faces[frontal]


def build(sources: dict[str, list[np.ndarray]]) -> np.ndarray:
    """Canonical face from per-source landmark lists."""
    all_faces = np.concatenate([np.asarray(v) for v in sources.values()])
    reference = symmetric_frontal(procrustes_mean(all_faces))
    for _ in range(2):  # the frontal selection depends on the reference; refine it once
        means = []
        for name, faces in sources.items():
            kept = _select(np.asarray(faces), reference)
            log.info("%s: %d of %d faces kept (near-frontal, closed mouth if any)", name, len(kept), len(faces))
            if len(kept):
                means.append(average_view(procrustes_mean(kept), kept))
        if not means:
            raise RuntimeError("no near-frontal face with a closed mouth among the sources")
        means = np.asarray(means)
        reference = symmetric_frontal(average_view(procrustes_mean(means), means))
    return reference


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--media", type=Path, help="folder with portraits/*.jpg and style_clips/*.mp4")
    parser.add_argument("--exclude", nargs="*", default=[], metavar="NAME", help="file names in --media to skip")
    parser.add_argument(
        "-o", "--output", type=Path,
        default=Path(__file__).resolve().parents[1] / "data" / "canonical_face_68.npy",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    face = build(collect_sources(args.media, tuple(args.exclude))).astype(np.float32)
    assert np.abs(face - mirror(face)).max() < 1e-5
    np.save(args.output, face)
    log.info("wrote %s", args.output)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
