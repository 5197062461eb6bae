"""Measure the viseme table from real talking faces: ``python -m talkinghead.train.measure_visemes``.

Writes ``talkinghead/train/visemes.npz`` (shapes ``15×68×3`` in the canonical frame, from the
neutral face, inter-ocular units). Needs the real clips in ``../shared/media/style_clips``.

How
    1. Landmarks of every frame of the *fitting clips* (MediaPipe backend, smoothed track), pose
       removed (canonical frame). Per clip, the **rest** shape is the median of its most closed
       frames (inner-lip gap in the lowest 15 %); a frame's displacement is its shape minus the
       clip's rest, so identity and resting expression cancel.
    2. Each frame gets three scale-free mouth features relative to rest: Δopening (inner-lip gap),
       Δwidth (mouth corners), Δlip-thickness (pressed lips are thin).
    3. Each viseme class has a target in that feature space, given as percentiles of the pooled
       frames (:data:`TARGETS`: an /a/ is among the most open frames at ordinary width, an /u/
       among the narrowest at small opening, /m b p/ the most closed with the thinnest lips…).
       The class shape is the mean displacement of the 25 real frames nearest the target
       (features standardised), made left–right symmetric and limited to the jaw and lips.
    4. Check against speech: the one fitting clip with clean speech (``sad_WDA_KatieHill_000``)
       is phone-aligned with pocketsphinx, its audio–video offset estimated, and the per-class mean
       real Δopening/Δwidth at the aligned phones is printed next to the table's (stored in the
       file as ``aligned_*``). With one short clip the phone-aligned means alone are too noisy to
       be the table (8 s, ≈100 phones, most classes < 6 instances), but they agree with it: the
       rank correlation of Δopening over the classes with ≥ 3 aligned phones is printed (0.61 when
       the table was made), /m b p/ are the most closed and /u w ɚ ɔ/ the narrowest in both.

Held out (never used here; ``benchmarks/eval_motion.py`` evaluates on them): ``lp_d10`` (a face
lip-syncing to a voice track: audio + real mouth). ``lp_d3`` (silent track) and ``lp_d14`` (music,
the face does not speak) have no usable speech and are not used.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import numpy as np

from talkinghead import geometry as G
from talkinghead.face.plausibility import MIRROR_68
from talkinghead.train import visemes as V

log = logging.getLogger(__name__)

FIT_CLIPS = (
    "sad_WDA_KatieHill_000",  # speech with its audio (phone-aligned check)
    "st_Obama_clip3",  # calm speech (silent track)
    "st_happyenglish_clip2",
    "st_furious_talk1_clip2",
    "dt_M030_front_neutral_level1_001",
    "dt_W009_front_happy_level3_001",
)
SPEECH_CLIP = "sad_WDA_KatieHill_000"
HELD_OUT = ("lp_d10",)

# Percentile targets per class: (Δopening, Δwidth, Δlip-thickness) over all fitting frames.
TARGETS: dict[str, tuple[float, float, float]] = {
    "PBM": (1, 50, 10),
    "FV": (10, 45, 20),
    "TH": (35, 60, 50),  # tongue tip between the teeth: lips a little apart
    "TDNL": (30, 55, 50),  # coronal consonants: the jaw rises (teeth near closed)
    "SZ": (20, 75, 50),  # sibilants: the highest jaw, lips spread
    "SH": (30, 10, 60),
    "KG": (40, 50, 50),
    "R": (35, 20, 55),
    "UW": (25, 3, 60),
    "AA": (96, 50, 50),
    "EH": (75, 85, 50),
    "IY": (40, 97, 45),
    "OW": (88, 8, 50),
    "ER": (55, 25, 55),
}
NEIGHBOURS = 25
REST_PERCENTILE = 15.0
MOVING_POINTS = G.JAW + G.OUTER_LIPS + G.INNER_LIPS

MIRROR = MIRROR_68  # iBUG-68 left–right mirror permutation


def symmetrise(d: np.ndarray) -> np.ndarray:
    """Mean of a ``68×3`` displacement and its mirror image (x negated, points swapped)."""
    m = d[MIRROR].copy()
    m[:, 0] *= -1
    return 0.5 * (d + m)


def clip_frames(path: Path) -> tuple[np.ndarray, np.ndarray | None, float]:
    """Canonical-frame landmarks ``T×68×3`` of a clip, its 16 kHz audio (or None) and fps."""
    from talkinghead import media
    from talkinghead.face import get_landmarker

    clip = media.load_video(path)
    track = get_landmarker("mediapipe").track(clip.frames, clip.fps, what=path.name)
    pts = track.points.astype(np.float64)
    can = np.stack([G.fit_pose(p).invert(p) for p in pts])
    return can, clip.audio, float(clip.fps)


def features(can: np.ndarray, rest: np.ndarray) -> np.ndarray:
    mf, mr = G.mouth_features(can), G.mouth_features(rest)
    return np.stack([mf.opening - mr.opening, mf.width - mr.width, mf.lip_thickness - mr.lip_thickness], 1)


def rest_shape(can: np.ndarray) -> np.ndarray:
    o = G.mouth_features(can).opening
    return np.median(can[o <= np.percentile(o, REST_PERCENTILE)], axis=0)


def table_from_frames(disp: np.ndarray, feats: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Class shapes (``15×68×3``) and the feature targets used (``15×3``)."""
    shapes = np.zeros((V.N_VISEMES, 68, 3))
    targets = np.zeros((V.N_VISEMES, 3))
    sd = feats.std(0)
    keep = np.zeros(68, bool)
    keep[list(MOVING_POINTS)] = True
    for name, pct in TARGETS.items():
        t = np.array([np.percentile(feats[:, k], pct[k]) for k in range(3)])
        dist = np.sqrt((((feats - t) / sd) ** 2).sum(1))
        near = np.argsort(dist)[:NEIGHBOURS]
        shape = symmetrise(disp[near].mean(0))
        shape[~keep] = 0.0
        shapes[V.INDEX[name]] = shape
        targets[V.INDEX[name]] = t
    return shapes, targets


def aligned_check(can: np.ndarray, audio: np.ndarray, fps: float) -> dict[str, np.ndarray | float | str]:
    """Per-class real Δopening/Δwidth at pocketsphinx-aligned phones of one speech clip."""
    from talkinghead.train.phones import phone_alignment

    phones, method = phone_alignment(audio)
    log.info("%s: %d phones by %s", SPEECH_CLIP, len(phones), method)
    rest = rest_shape(can)
    f = features(can, rest)
    tf = np.arange(len(can)) / fps

    def at(times: np.ndarray, k: int) -> float:
        return float(np.interp(times, tf, f[:, k]).mean())

    parts = []  # (class, start, end)
    for s, e, ph in phones:
        t = s
        for name, share, _ in V.viseme_parts(ph):
            parts.append((name, t, t + share * (e - s)))
            t += share * (e - s)
    labial = [(s + e) / 2 for n, s, e in parts if n in ("PBM", "FV")]
    vowel = [(s + e) / 2 for n, s, e in parts if n in ("AA", "EH", "OW")]
    offsets = np.arange(-0.30, 0.301, 0.02)
    offset = 0.0
    if labial and vowel:  # the shift at which vowels are most open relative to labials
        contrast = [at(np.array(vowel) + o, 0) - at(np.array(labial) + o, 0) for o in offsets]
        offset = float(offsets[int(np.argmax(contrast))])
    opening = np.full(V.N_VISEMES, np.nan)
    width = np.full(V.N_VISEMES, np.nan)
    counts = np.zeros(V.N_VISEMES, np.int64)
    for c, name in enumerate(V.VISEMES):
        mids = [np.linspace(s, e, 5) + offset for n, s, e in parts if n == name]
        if mids:
            opening[c] = np.mean([at(m, 0) for m in mids])
            width[c] = np.mean([at(m, 1) for m in mids])
            counts[c] = len(mids)
    return {"aligned_opening": opening, "aligned_width": width, "aligned_counts": counts,
            "av_offset": offset, "alignment_method": method}


def measure(media_dir: Path) -> dict[str, np.ndarray]:
    clips = media_dir / "style_clips"
    disp, feats = [], []
    check: dict = {}
    for name in FIT_CLIPS:
        can, audio, fps = clip_frames(clips / f"{name}.mp4")
        rest = rest_shape(can)
        disp.append(can - rest)
        feats.append(features(can, rest))
        log.info("%s: %d frames at %g fps", name, len(can), fps)
        if name == SPEECH_CLIP and audio is not None:
            check = aligned_check(can, audio, fps)
    d, f = np.concatenate(disp), np.concatenate(feats)
    shapes, targets = table_from_frames(d, f)
    counts = np.where(np.arange(V.N_VISEMES) == V.INDEX["rest"], 0, NEIGHBOURS)
    source = (
        f"{len(d)} real frames of {len(FIT_CLIPS)} talking clips ({', '.join(FIT_CLIPS)}), MediaPipe landmarks, "
        f"{NEIGHBOURS} frames nearest each class's mouth-feature target; held out: {', '.join(HELD_OUT)}"
    )
    out = {
        "names": np.array(V.VISEMES),
        "shapes": shapes.astype(np.float32),
        "counts": counts.astype(np.int64),
        "targets": targets.astype(np.float32),
        "source": np.array(source),
    }
    for k, v in check.items():
        out[k] = np.asarray(v)
    return out


def report(table: dict[str, np.ndarray]) -> str:
    lines = [f"{'class':6s} {'Δopen':>7s} {'Δwidth':>7s} | aligned: {'n':>3s} {'Δopen':>7s} {'Δwidth':>7s}"]
    for c, name in enumerate(V.VISEMES):
        mf = G.mouth_features(G.canonical_face() + table["shapes"][c])
        m0 = G.mouth_features(G.canonical_face())
        row = f"{name:6s} {mf.opening - m0.opening:7.3f} {mf.width - m0.width:7.3f}"
        if "aligned_counts" in table and table["aligned_counts"][c]:
            n, o, w = table["aligned_counts"][c], table["aligned_opening"][c], table["aligned_width"][c]
            row += f" | {n:3d} {o:7.3f} {w:7.3f}"
        lines.append(row)
    if "av_offset" in table:
        from scipy.stats import spearmanr

        lines.append(f"audio–video offset of {SPEECH_CLIP}: {float(table['av_offset']) * 1000:+.0f} ms")
        m0 = G.mouth_features(G.canonical_face())
        opening = G.mouth_features(G.canonical_face() + table["shapes"]).opening - m0.opening
        sel = (table["aligned_counts"] >= 3) & (np.arange(V.N_VISEMES) != V.INDEX["rest"])
        if sel.sum() > 2:
            rho = spearmanr(opening[sel], table["aligned_opening"][sel]).statistic
            lines.append(f"rank correlation of Δopening, table vs aligned phones ({sel.sum()} classes): {rho:.2f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m talkinghead.train.measure_visemes", description=__doc__.splitlines()[0]
    )
    here = Path(__file__).resolve()
    parser.add_argument("--media", type=Path, default=here.parents[3] / "shared" / "media", help="real media folder")
    parser.add_argument("--out", type=Path, default=here.with_name("visemes.npz"), help="output .npz")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if not (args.media / "style_clips").is_dir():
        parser.error(f"{args.media}/style_clips not found: pass --media pointing at the real media folder")
    table = measure(args.media)
    np.savez(args.out, **table)
    print(report(table))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
