"""Is a detected face a person's? Three image cues that catch animals fitted with a human mesh.

MediaPipe (and FAN) fit a human-proportioned mesh to a bare-faced primate such as a capuchin
monkey, and the mesh's own geometry — landmark ratios, Procrustes residual, iris size, mesh
stability — stays in the range of real people. The picture around the mesh does not:

1. **Fur around the face** (:func:`fur_fraction`). The mesh outline of a capuchin's small bare
   face reaches into the pale fur that frames it; a person's outer cheeks, just inside the
   outline, are skin like the middle of the face. On each side we sample 18 points of the
   outer cheek band (6–22 % of the way from each of the six jaw points between temple and
   mouth level to the nose tip) and count the *pale* ones: at most half as saturated as the
   centre of the face (nose bridge, inner cheeks) and brighter than it. The cue is the larger
   of the two sides' fractions, so one hidden side (hair, shadow) cannot hide it; the far side
   of a turned head, whose band is squeezed against the background, is left out. A face
   without colour (a black-and-white photo) gives no evidence.
2. **A face detector trained on people disagrees** (:func:`detector_logit`). BlazeFace,
   MediaPipe's short-range face detector, scores five face-centred, eye-levelled crops of
   different sizes; we average the logits of its scores. It finds the monkey but is clearly
   less sure than of any person.

A face is refused only when **both** cues say animal (:func:`looks_like_animal`): a portrait
with pale hair over a cheek or an over-exposed side (cue 1) or a detector unsure of an
extreme pose (cue 2) is still accepted. The detector runs only when the fur cue fires, so a
normal portrait pays about a millisecond.

Measured with ``benchmarks/eval_humanness.py`` (mediapipe 0.10.21): the capuchin portrait
scores fur 0.89 and logit 1.02 (0.78–1.00 and 0.90–1.25 when rescaled ×0.4–1.5, mirrored,
rotated 12°, blurred, darkened, brightened or saved as JPEG q30). Four real portraits (two
paintings, one in three-quarter view, a colour and a black-and-white photo), ``skimage``'s
astronaut and 407 frames of nine style clips (blinks, wide-open mouths, grimaces, heads turned
up to 40°) score fur ≤ 0.33 (≤ 0.44 for the altered portraits) and logit ≥ 1.64 (≥ 1.86 for
heads turned less than 20°). Limits: a colour cast that tints white fur as much as skin
(tungsten light) and a black-and-white photo both hide cue 1, and the animal is then accepted;
one monkey portrait is all the animal data this was measured on.

3. **A CNN face detector trained only on people confirms the face** (:func:`human_score`):
   dlib's MMOD ``mmod_human_face_detector`` (weights from the ``face-recognition-models``
   wheel) scores one eye-levelled crop in which the landmarks' box is 80 px wide. Its
   max-margin training pushes faces to a confidence of about 1 and everything else below 0;
   a crop where it finds no face near the centre scores ``NO_FACE_SCORE``. A face it does not
   confirm (below ``HUMAN_MIN``) is refused whatever cues 1 and 2 say. This is the general
   cue: it needs no fur, colour or particular animal, and catches dogs whose faces have the
   skin-like colour of their fur all round.

Measured with ``benchmarks/eval_humanness.py --changes --frames 4 --avdata ../shared/avdata``
(mediapipe 0.10.21, dlib 20.0.1): the twelve portraits of ``../shared/media`` and each also
mirrored, rescaled ×0.4/0.7/1.5, JPEG q30, darkened, brightened, colour-cast, grey, rotated
12°/−25° and blurred, ``skimage``'s astronaut, and frames of the 9 style clips and 19 real
clips (extremes of blinks, open mouths, turned heads included). All 84 animal images are
refused (48 without a mesh; the 36 with one score at most 0.68) and all 355 people accepted
(lowest score 0.97: the three-quarter painting in grey). Limits: six animal photos (a monkey,
two dogs, a llama, two cats) is all the animal data this was measured on; apes or animals with
very human faces may pass, and a person the CNN misses (heads turned past the 44° measured, heavily
stylised drawings) is refused.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

# -- cue 1: fur around the face
BAND_JAW = ((0, 1, 2, 3, 4, 5), (16, 15, 14, 13, 12, 11))  # jaw points, temple → mouth level, per side
BAND_STEPS = (0.06, 0.14, 0.22)  # how far from a jaw point toward the nose tip the band is sampled
NOSE_TIP = 30
SAMPLE_IOD = 40.0  # the face is resampled to this outer-eye-corner distance (pixels) first
SAMPLE_BOX = 5  # and averaged over this many pixels square around each point (0.12 IOD)
PALE_CHROMA = 0.5  # a pale point: Lab chroma at most this fraction of the face centre's ...
PALE_LIGHTER = 5.0  # ... and Lab lightness at least this much above the centre's
MIN_FACE_CHROMA = 5.0  # a face centre greyer than this (Lab chroma) has no colour to compare
MIN_INSIDE = 0.5  # a side counts only when this fraction of its points lies inside the image
FAR_SIDE = 0.6  # a side whose cheek is foreshortened below this fraction of the other's is skipped
FUR_MIN = 0.6  # cue 1 fires at this fraction of pale points on one side (animal 0.89, people ≤ 0.33)

# -- cue 2: a face detector trained on people
DETECTOR_CROP = 256  # side of the crops given to the detector (pixels)
DETECTOR_FACE_WIDTHS = (64, 88, 112, 136, 160)  # width of the landmarks' box in those crops
DETECTOR_LOGIT_MAX = 1.4  # cue 2 fires below this mean score logit (score 0.80; animal 1.02, people ≥ 1.64)

# -- cue 3: a CNN face detector trained only on people
MMOD_FACE_WIDTH = 80  # width of the landmarks' box in the crop given to the CNN (pixels)
MMOD_CROP = 176  # side of that crop (pixels): 2.2 face widths, so the whole head is in it
NO_FACE_SCORE = -1.0  # score of a crop without a detection near its centre (MMOD's negative margin)
HUMAN_MIN = 0.85  # a face is a person's at this MMOD confidence (people ≥ 0.97, animals ≤ 0.72)


@dataclass(frozen=True)
class HumannessCues:
    """The two cues of one face; see the module docstring."""

    fur: float  # fraction (0–1) of the paler cheek band's points that look like pale fur
    detector_logit: float | None  # mean BlazeFace score logit; None when not needed (no fur)
    human: float | None = None  # cue 3: MMOD human-face confidence; None when not computed

    @property
    def is_animal(self) -> bool:
        """The human-only CNN does not confirm the face, or cues 1 and 2 both say animal."""
        if self.human is not None and self.human < HUMAN_MIN:
            return True
        return self.fur >= FUR_MIN and self.detector_logit is not None and self.detector_logit < DETECTOR_LOGIT_MAX


def _levelled_crop(image: np.ndarray, points: np.ndarray, face_width: float, size: int) -> np.ndarray:
    """A size×size crop of ``image``, eyes horizontal, the landmarks' box ``face_width`` px wide
    and centred."""
    import cv2

    p = np.asarray(points, dtype=np.float64)[:, :2]
    d = p[45] - p[36]
    c, s = d / max(float(np.linalg.norm(d)), 1e-9)
    level = np.array([[c, s], [-s, c]])  # image → eyes-horizontal rotation
    q = p @ level.T
    lo, hi = q.min(0), q.max(0)
    width = max(float((hi - lo).max()), 1.0)
    centre = ((lo + hi) / 2) @ level  # back in image coordinates
    a = (face_width / width) * level
    m = np.hstack([a, (np.array([size / 2, size / 2]) - a @ centre)[:, None]])
    flags = cv2.INTER_AREA if face_width < width else cv2.INTER_LINEAR
    return cv2.warpAffine(image, m, (size, size), flags=flags, borderMode=cv2.BORDER_REPLICATE)


def _band_points(points: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(right band, left band, face centre) sample points, each K×2, from 68×2 landmarks."""
    p = points[:, :2]
    tip = p[NOSE_TIP]
    bands = tuple(
        np.array([p[k] + t * (tip - p[k]) for k in jaw for t in BAND_STEPS], dtype=np.float64) for jaw in BAND_JAW
    )
    centre = np.array(
        [p[27], p[28], p[29]]  # nose bridge
        + [p[k] + 0.6 * (tip - p[k]) for k in (2, 3, 13, 14)]  # inner cheeks
        + [(p[41] + p[31]) / 2, (p[46] + p[35]) / 2],  # below the eyes, beside the nose
        dtype=np.float64,
    )
    return bands[0], bands[1], centre


def _lab_samples(image: np.ndarray, points: np.ndarray, groups: list[np.ndarray]) -> list[np.ndarray]:
    """Lab colour (K×3, L 0–100) averaged around each point of each group, at a fixed face scale."""
    import cv2

    iod = float(np.linalg.norm(points[45, :2] - points[36, :2]))
    s = SAMPLE_IOD / max(iod, 1.0)
    h, w = image.shape[:2]
    pad = SAMPLE_BOX / s
    everything = np.concatenate(groups)
    x0, y0 = np.clip(np.floor(everything.min(0) - pad).astype(int), 0, [w - 1, h - 1])
    x1, y1 = np.clip(np.ceil(everything.max(0) + pad).astype(int) + 1, [x0 + 1, y0 + 1], [w, h])
    size = (max(1, round((x1 - x0) * s)), max(1, round((y1 - y0) * s)))
    roi = cv2.resize(image[y0:y1, x0:x1], size, interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
    lab = cv2.blur(cv2.cvtColor(roi.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab), (SAMPLE_BOX, SAMPLE_BOX))
    out = []
    for g in groups:
        q = np.clip(np.round((g - [x0, y0]) * s).astype(int), 0, [size[0] - 1, size[1] - 1])
        out.append(lab[q[:, 1], q[:, 0]])
    return out


def fur_fraction(image: np.ndarray, points: np.ndarray) -> float:
    """Cue 1: the larger fraction, over the two sides, of outer-cheek points that are paler
    (less saturated and brighter) than the middle of the face; 0 for a colourless face.

    ``image`` is H×W×3 uint8 RGB, ``points`` the face's 68×2|3 landmarks in its pixels.
    """
    p = np.asarray(points, dtype=np.float64)
    right, left, centre = _band_points(p)
    lab_r, lab_l, lab_c = _lab_samples(image, p, [right, left, centre])
    chroma_c = float(np.median(np.hypot(lab_c[:, 1], lab_c[:, 2])))
    if chroma_c < MIN_FACE_CHROMA:
        return 0.0
    light_c = float(np.median(lab_c[:, 0]))
    h, w = image.shape[:2]
    widths = [float(np.linalg.norm(p[list(jaw), :2] - p[NOSE_TIP, :2], axis=1).mean()) for jaw in BAND_JAW]
    best = 0.0
    for pts, lab, width in ((right, lab_r, widths[0]), (left, lab_l, widths[1])):
        inside = (pts[:, 0] >= 0) & (pts[:, 0] < w) & (pts[:, 1] >= 0) & (pts[:, 1] < h)
        if inside.mean() < MIN_INSIDE or width < FAR_SIDE * max(widths):  # off the image, or turned away
            continue
        pale = (np.hypot(lab[:, 1], lab[:, 2]) <= PALE_CHROMA * chroma_c) & (lab[:, 0] >= light_c + PALE_LIGHTER)
        best = max(best, float(pale[inside].mean()))
    return best


class _Detector:
    """MediaPipe's short-range BlazeFace, built on first use, one image at a time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._graph = None

    def scores(self, crops: list[np.ndarray], boxes: list[tuple[float, float, float]]) -> list[float]:
        """Best score of a detection centred within ``r`` of ``(x, y)`` for each crop and ``(x, y, r)``."""
        with self._lock:
            if self._graph is None:
                import mediapipe as mp

                self._graph = mp.solutions.face_detection.FaceDetection(
                    model_selection=0, min_detection_confidence=0.01
                )
            results = [self._graph.process(c) for c in crops]
        out = []
        for crop, (x, y, r), res in zip(crops, boxes, results, strict=True):
            best = 0.0
            for det in res.detections or ():
                b = det.location_data.relative_bounding_box
                cx, cy = (b.xmin + b.width / 2) * crop.shape[1], (b.ymin + b.height / 2) * crop.shape[0]
                if np.hypot(cx - x, cy - y) < r:
                    best = max(best, float(det.score[0]))
            out.append(best)
        return out


_detector = _Detector()


def detector_logit(image: np.ndarray, points: np.ndarray) -> float:
    """Cue 2: mean logit of BlazeFace's score for this face on eye-levelled crops of several sizes
    (a person: about 1.6–3.1; a score of 0 when it finds nothing counts as 0.001)."""
    half = DETECTOR_CROP / 2
    crops = [_levelled_crop(image, points, w, DETECTOR_CROP) for w in DETECTOR_FACE_WIDTHS]
    boxes = [(half, half, 0.4 * w) for w in DETECTOR_FACE_WIDTHS]
    scores = np.clip(np.array(_detector.scores(crops, boxes)), 1e-3, 1 - 1e-3)
    return float(np.mean(np.log(scores / (1 - scores))))


class _HumanCNN:
    """dlib's MMOD human-face CNN, loaded on first use from the ``face-recognition-models`` wheel."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._net = None

    def load(self) -> None:
        """Load the network now (it is loaded on first use otherwise)."""
        with self._lock:
            self._load()

    def _load(self) -> None:
        if self._net is not None:
            return
        import importlib.util
        from pathlib import Path

        import dlib

        # The package's own __init__ needs pkg_resources; only its data file is used.
        spec = importlib.util.find_spec("face_recognition_models")
        if spec is None or not spec.submodule_search_locations:
            raise RuntimeError("face-recognition-models is not installed: pip install -r requirements.txt")
        weights = Path(spec.submodule_search_locations[0]) / "models" / "mmod_human_face_detector.dat"
        self._net = dlib.cnn_face_detection_model_v1(str(weights))

    def detections(self, crop: np.ndarray) -> list[tuple[float, float, float]]:
        """(centre x, centre y, confidence) of every face the CNN finds in ``crop`` (RGB uint8)."""
        with self._lock:
            self._load()
            dets = self._net(np.ascontiguousarray(crop), 0)
        return [
            ((d.rect.left() + d.rect.right()) / 2, (d.rect.top() + d.rect.bottom()) / 2, float(d.confidence))
            for d in dets
        ]


_human_cnn = _HumanCNN()


def load_models() -> None:
    """Load the humanness check's network now (at start-up) instead of in the first request."""
    _human_cnn.load()


def human_score(image: np.ndarray, points: np.ndarray) -> float:
    """Cue 3: MMOD confidence of a face centred on the landmarks in an eye-levelled crop
    (a person: about 1; ``NO_FACE_SCORE`` when the CNN finds no face there)."""
    crop = _levelled_crop(image, points, MMOD_FACE_WIDTH, MMOD_CROP)
    half, radius = MMOD_CROP / 2, 0.4 * MMOD_FACE_WIDTH
    near = [conf for x, y, conf in _human_cnn.detections(crop) if np.hypot(x - half, y - half) < radius]
    return max(near, default=NO_FACE_SCORE)


def assess(image: np.ndarray, points: np.ndarray, *, always_detector: bool = False) -> HumannessCues:
    """All cues of one face (BlazeFace only when the fur cue fires, or ``always_detector``)."""
    fur = fur_fraction(image, points)
    logit = detector_logit(image, points) if always_detector or fur >= FUR_MIN else None
    return HumannessCues(fur, logit, human_score(image, points))


def looks_like_animal(image: np.ndarray, points: np.ndarray) -> bool:
    """True when the face at ``points`` (68×2|3) in ``image`` (H×W×3 uint8 RGB) is an animal's
    by the cues of the module docstring."""
    return assess(image, points).is_animal
