"""Write examples/style_ballad.mp4, style_rap.mp4 and style_opera.mp4: three short style clips.

The clips are made by this project, not filmed: the example portrait
(``examples/portrait_astronaut.png``) is animated by the ``warp`` renderer with a *motion preset*.
A synthetic voice (espeak-ng and sox through :mod:`talkinghead.speech`) sings or raps a short
phrase; its exact phoneme timing drives the mouth (one mouth shape per phoneme, blended by
coarticulation), and the preset decides how far the mouth opens, how it is shaped, how the brows,
eyes and head move. The voice is the clip's audio track, so lips and sound match.

Presets (all numbers are the :class:`Preset` fields below):

**ballad**
    Sung slowly (notes of 0.5–1.3 s) with a light vibrato. Moderate mouth opening (at most 0.24
    inter-ocular units), long held vowels with a smooth, legato coarticulation (σ 60 ms), hummed
    "m" onsets, a slow gentle head sway (roll ±3°, yaw ±5°, 0.1–0.2 Hz), slightly raised brows
    on the held notes, soft slow blinks (0.4 s, about every 3 s).
**rap**
    Spoken fast (240 words per minute) in short lines that start on the beat of a 92 BPM
    kick/hi-hat loop. Small to medium openings (at most 0.17), crisp coarticulation (σ 18 ms),
    many m/b/p lip closures, a quick downward head bob on every beat (6°) over a small sway,
    quick blinks (0.15 s, about every 2 s).
**opera**
    Sung with long sustained notes (1–1.8 s), a wide vibrato and extra-rounded, "covered" oh/oo.
    Very wide openings (at most 0.40) that swell in over each note (σ 90 ms), large slow head
    motion (yaw ±11°, roll ±4°, the head lifting as the mouth opens), brows raised throughout
    and more on the loud notes, rare slow blinks.

Every clip holds the four mouth shapes the style analysis looks for: relaxed closed lips in the
pauses (None), pressed lips on m/b/p (M), open spread vowels such as "ah"/"ee" (R) and open
rounded ones such as "oh"/"oo" (O) — each in the preset's own manner.

Run ``python -m examples.make_style_clips`` from the repository root (needs the Debian packages
espeak-ng and sox); ``--check`` then analyses each written clip and prints the four references it
finds. A rerun writes the same clips when it makes the same presets in the same order (espeak-ng's
output depends a little on what it synthesised before in the process); the encoded bytes may
differ between ffmpeg builds.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from talkinghead import geometry, media, speech
from talkinghead.render.base import FrameTargets, SourceFace
from talkinghead.style import PoseTrack

EXAMPLES = Path(__file__).resolve().parent
PORTRAIT = EXAMPLES / "portrait_astronaut.png"
FPS = 25
OUTPUT_SIZE = 384  # pixels, square like the portrait
CRF = 24  # x264 quality: keeps each clip under 1 MB
# The portrait smiles with parted lips; its own teeth stretched over a wide-open mouth look wrong,
# so the renderer paints a mouth interior whenever the lips part further (render.mouth).
MOUTH_REUSE_OPENING = 0.2

# iBUG-68 groups used by the mouth and brow model.
JAW_DROP = {3: 0.05, 4: 0.2, 5: 0.45, 6: 0.7, 7: 0.9, 8: 1.0, 9: 0.9, 10: 0.7, 11: 0.45, 12: 0.2, 13: 0.05}
LIPS = np.arange(48, 68)
UPPER_OUTER = np.arange(49, 54)
LOWER_OUTER = np.arange(55, 60)
UPPER_INNER = np.array(geometry.UPPER_INNER_LIP)
LOWER_INNER = np.array(geometry.LOWER_INNER_LIP)  # paired with UPPER_INNER
CORNERS = np.array([48, 54, 60, 64])
LOWER_LIP = np.concatenate([LOWER_OUTER, LOWER_INNER])
BROWS = np.arange(17, 27)
INNER_BROWS = np.array([20, 21, 22, 23])
REST_CLOSURE = 0.1  # closed lips at rest: fraction of each lip's thickness drawn toward the closed line
PRESS_CLOSURE = 0.25  # … added when the lips press (m, b, p)


# ---------------------------------------------------------------------------------------------
# Mouth shapes per phoneme


@dataclass(frozen=True)
class Viseme:
    """A mouth shape; every field in [0, 1]."""

    open: float = 0.0  # lip gap: 0 closed, 1 the preset's widest
    round: float = 0.0  # lips pushed together and forward (oh, oo, w)
    spread: float = 0.0  # lips pulled wide (ee, a smile)
    press: float = 0.0  # closed lips pressed thin (m, b, p)

    def as_array(self) -> np.ndarray:
        return np.array([self.open, self.round, self.spread, self.press])


REST = Viseme()
VOWELS = {  # first character of an espeak IPA vowel → its shape
    "a": Viseme(open=1.0, spread=0.45),
    "ɑ": Viseme(open=1.0, spread=0.3),
    "æ": Viseme(open=0.85, spread=0.6),
    "ɐ": Viseme(open=0.6, spread=0.3),
    "ʌ": Viseme(open=0.6, spread=0.3),
    "ɒ": Viseme(open=0.85, round=0.7),
    "ɔ": Viseme(open=0.8, round=0.8),
    "o": Viseme(open=0.7, round=0.95),
    "u": Viseme(open=0.3, round=1.0),
    "ʊ": Viseme(open=0.35, round=0.75),
    "e": Viseme(open=0.55, spread=0.7),
    "ɛ": Viseme(open=0.6, spread=0.6),
    "i": Viseme(open=0.3, spread=1.0),
    "ɪ": Viseme(open=0.35, spread=0.8),
    "y": Viseme(open=0.3, round=0.9),
    "ə": Viseme(open=0.45, round=0.15),
    "ɚ": Viseme(open=0.4, round=0.35),
    "ɜ": Viseme(open=0.45, round=0.3),
    "ɝ": Viseme(open=0.4, round=0.35),
}
CONSONANTS = {
    "m": Viseme(press=1.0),
    "b": Viseme(press=1.0),
    "p": Viseme(press=1.0),
    "f": Viseme(open=0.06, press=0.45),
    "v": Viseme(open=0.06, press=0.45),
    "w": Viseme(open=0.12, round=1.0),
    "ʃ": Viseme(open=0.15, round=0.6),
    "ʒ": Viseme(open=0.15, round=0.6),
    "tʃ": Viseme(open=0.15, round=0.6),
    "dʒ": Viseme(open=0.15, round=0.6),
    "ɹ": Viseme(open=0.2, round=0.45),
    "r": Viseme(open=0.2, round=0.45),
    "θ": Viseme(open=0.15, spread=0.2),
    "ð": Viseme(open=0.15, spread=0.2),
    "s": Viseme(open=0.12, spread=0.35),
    "z": Viseme(open=0.12, spread=0.35),
    "j": Viseme(open=0.15, spread=0.5),
    "l": Viseme(open=0.25, spread=0.1),
    "h": Viseme(open=0.35),
}
OTHER_CONSONANT = Viseme(open=0.18, spread=0.15)  # t d n k g ŋ ʔ …
GLIDE_S = 0.15  # a diphthong glides to its second vowel over (at most) its last 0.15 s


def _strip(phoneme: str) -> str:
    return phoneme.replace("ː", "").replace("ˑ", "").replace("ʲ", "").replace("̃", "")


def viseme_at(phoneme: str, fraction: float, duration: float) -> Viseme:
    """The mouth shape of ``phoneme`` (espeak IPA) at ``fraction`` ∈ [0, 1] of its ``duration`` s."""
    p = _strip(phoneme)
    if p in ("", speech.SILENCE):
        return REST
    if p[0] in VOWELS:
        first = VOWELS[p[0]]
        second = VOWELS.get(p[1]) if len(p) > 1 else None
        if second is None:
            return first
        # Held notes keep the first vowel and glide only at the end.
        start = max(0.35, 1.0 - GLIDE_S / max(duration, 1e-6))
        k = float(np.clip((fraction - start) / max(1.0 - start, 1e-6), 0.0, 1.0))
        return Viseme(*((1 - k) * first.as_array() + k * second.as_array()))
    return CONSONANTS.get(p, CONSONANTS.get(p[0], OTHER_CONSONANT))


def viseme_track(phonemes: list[tuple[float, float, str]], times: np.ndarray) -> np.ndarray:
    """``T×4`` (open, round, spread, press) at ``times`` from a phoneme alignment."""
    out = np.zeros((len(times), 4))
    starts = np.array([p[0] for p in phonemes])
    for i, t in enumerate(times):
        k = int(np.searchsorted(starts, t, side="right")) - 1
        if 0 <= k < len(phonemes) and t < phonemes[k][1]:
            st, en, sym = phonemes[k]
            out[i] = viseme_at(sym, (t - st) / max(en - st, 1e-6), en - st).as_array()
    return out


# ---------------------------------------------------------------------------------------------
# Presets


@dataclass(frozen=True)
class Preset:
    """How a style moves. Angles in degrees, lengths in inter-ocular units, times in seconds."""

    name: str
    max_opening: float  # inner-lip gap added at open = 1
    jaw_ratio: float  # chin drop per unit of lip gap
    round_bias: float  # added to the rounding of rounded vowels (oh, oo, er: "covered" operatic vowels)
    spread_gain: float  # scales the spreading of vowels
    smoothing_s: float  # coarticulation: Gaussian σ of the open/round/spread tracks
    press_smoothing_s: float  # … of the lip-press track (short: closures must still close)
    brow_rest: float  # brow raise (0–1) at rest
    brow_open: float  # extra brow raise per unit of mouth opening
    sway: tuple[tuple[float, float, float], ...]  # (yaw, pitch, roll): (amplitude, Hz, phase) each
    bob_deg: float  # downward nod on every beat
    bob_shift: float  # downward head shift on every beat
    lift_deg: float  # head lifts (pitch up) by this × the smoothed mouth opening
    blink_every_s: float  # mean time between blinks
    blink_s: float  # blink length
    blink_depth: float  # 1 = eyes fully closed at the blink's middle


BALLAD = Preset(
    name="ballad",
    max_opening=0.24,
    jaw_ratio=0.55,
    round_bias=0.0,
    spread_gain=1.0,
    smoothing_s=0.06,
    press_smoothing_s=0.03,
    brow_rest=0.1,
    brow_open=0.35,
    sway=((5.0, 0.12, 1.0), (2.0, 0.21, 0.0), (3.0, 0.17, 2.0)),
    bob_deg=0.0,
    bob_shift=0.0,
    lift_deg=2.0,
    blink_every_s=3.0,
    blink_s=0.4,
    blink_depth=0.9,
)
RAP = Preset(
    name="rap",
    max_opening=0.17,
    jaw_ratio=0.5,
    round_bias=0.0,
    spread_gain=1.0,
    smoothing_s=0.018,
    press_smoothing_s=0.01,
    brow_rest=0.0,
    brow_open=0.15,
    sway=((3.5, 0.4, 0.5), (1.0, 0.3, 0.0), (1.5, 0.25, 1.5)),
    bob_deg=6.0,
    bob_shift=0.02,
    lift_deg=0.0,
    blink_every_s=2.0,
    blink_s=0.15,
    blink_depth=1.0,
)
OPERA = Preset(
    name="opera",
    max_opening=0.40,
    jaw_ratio=0.7,
    round_bias=0.3,
    spread_gain=0.8,
    smoothing_s=0.09,
    press_smoothing_s=0.04,
    brow_rest=0.5,
    brow_open=0.5,
    sway=((11.0, 0.07, 0.3), (3.0, 0.11, 1.0), (4.0, 0.09, 2.5)),
    bob_deg=0.0,
    bob_shift=0.0,
    lift_deg=7.0,
    blink_every_s=4.5,
    blink_s=0.35,
    blink_depth=0.95,
)
PRESETS = {p.name: p for p in (BALLAD, RAP, OPERA)}


# ---------------------------------------------------------------------------------------------
# Voices


@dataclass(frozen=True)
class Performance:
    """What a preset performs: the audio, its phoneme timing and the beat (if any)."""

    audio: np.ndarray  # float32 mono, media.SAMPLE_RATE
    phonemes: list[tuple[float, float, str]]  # (start, end, IPA)
    beats: np.ndarray  # beat times in seconds (empty without a beat)


def _ballad_voice() -> Performance:
    n = speech.Note
    notes = [
        n("oh", 67, 1.0, envelope="swell"),
        n("my", 69, 0.5),
        n("love", 71, 1.1, rest=0.3),
        n("see", 72, 0.7, envelope="swell"),
        n("the", 71, 0.3),
        n("moon", 69, 1.2, rest=0.3),
        n("stay", 67, 0.6),
        n("by", 69, 0.5),
        n("me", 67, 1.2, envelope="decrescendo"),
    ]
    utt = speech.sing(notes, voice="en-us+f2", vibrato_cents=25.0, vibrato_hz=5.0)
    return Performance(utt.audio, utt.phonemes, np.zeros(0))


RAP_BPM = 92.0
RAP_LINES = (
    "Bump the beat, make my mark",
    "back to back, we move the map",
    "pump it up, boom bap",
    "oh, we rock the block",
)


def _drum_loop(n: int, beats: np.ndarray) -> np.ndarray:
    """A kick on every beat and a hi-hat between beats (synthesised, deterministic)."""
    rate = media.SAMPLE_RATE
    out = np.zeros(n, np.float32)
    t = np.arange(int(0.18 * rate)) / rate
    kick = np.sin(2 * np.pi * (50.0 * t + 70.0 * 0.04 * (1 - np.exp(-t / 0.04)))) * np.exp(-t / 0.07)
    rng = np.random.default_rng(0)
    th = np.arange(int(0.04 * rate)) / rate
    hat = np.diff(rng.standard_normal(len(th) + 1)) * np.exp(-th / 0.008) * 0.5
    period = beats[1] - beats[0] if len(beats) > 1 else 60.0 / RAP_BPM
    for b in beats:
        for sound, at in ((kick, b), (hat, b + period / 2)):
            i = int(round(at * rate))
            if i < n:
                k = min(len(sound), n - i)
                out[i : i + k] += sound[:k].astype(np.float32)
    return out


def _rap_voice() -> Performance:
    rate = media.SAMPLE_RATE
    beat_s = 60.0 / RAP_BPM
    lines = [speech.synthesize(text, voice="en-us+m3", rate=240, pitch=45, range=30) for text in RAP_LINES]
    pieces, phonemes, t = [], [], 0.25  # first line on the first beat at 0.25 s
    for utt in lines:
        # Voiced part of the line (espeak pads with silence) placed to start on a beat.
        voiced = [p for p in utt.phonemes if p[2] != speech.SILENCE]
        a, b = voiced[0][0], voiced[-1][1]
        start = math.ceil((t - 0.25) / beat_s - 1e-6) * beat_s + 0.25
        pieces.append((start, utt.audio[int(a * rate) : int(b * rate)]))
        phonemes += [(start + st - a, start + en - a, sym) for st, en, sym in voiced]
        t = start + (b - a) + 0.2  # at least a short breath between lines
    total = t + 0.3
    n = int(total * rate)
    beats = np.arange(0.25, total, beat_s)
    voice = np.zeros(n, np.float32)
    for start, audio in pieces:
        i = int(round(start * rate))
        voice[i : i + len(audio)] += audio[: n - i]
    mix = voice / max(float(np.abs(voice).max()), 1e-6) * 0.8 + 0.25 * _drum_loop(n, beats)
    mix = mix / max(float(np.abs(mix).max()), 1e-6) * 0.95
    return Performance(mix.astype(np.float32), _with_silences(phonemes, total), beats)


def _opera_voice() -> Performance:
    n = speech.Note
    notes = [
        n("ah", 60, 1.7, envelope="swell"),
        n("oh", 64, 1.5, rest=0.35, dynamic_db=2.0, envelope="crescendo"),
        n("ma", 67, 0.9),
        n("mi", 65, 0.8, rest=0.2),
        n("oh", 60, 1.8, dynamic_db=3.0, envelope="swell"),
    ]
    utt = speech.sing(notes, voice="en-us", vibrato_cents=60.0, vibrato_hz=5.8)
    return Performance(utt.audio, utt.phonemes, np.zeros(0))


VOICES: dict[str, Callable[[], Performance]] = {"ballad": _ballad_voice, "rap": _rap_voice, "opera": _opera_voice}


def _with_silences(phonemes: list[tuple[float, float, str]], total: float) -> list[tuple[float, float, str]]:
    """Fill the gaps of an alignment with silence so it covers ``[0, total]``."""
    out, t = [], 0.0
    for st, en, sym in sorted(phonemes):
        if st > t + 1e-6:
            out.append((t, st, speech.SILENCE))
        out.append((max(st, t), en, sym))
        t = max(t, en)
    if t < total:
        out.append((t, total, speech.SILENCE))
    return out


# ---------------------------------------------------------------------------------------------
# Motion


def _smooth(x: np.ndarray, sigma_s: float, rate: float) -> np.ndarray:
    from scipy.ndimage import gaussian_filter1d

    return gaussian_filter1d(x, sigma_s * rate, axis=0, mode="nearest") if sigma_s > 0 else x


def mouth_tracks(preset: Preset, phonemes: list[tuple[float, float, str]], n_frames: int) -> np.ndarray:
    """``n_frames×4`` (open, round, spread, press) at the video's frame times, coarticulated."""
    rate = 200.0  # the tracks are built finer than the frames, then smoothed and sampled
    fine_t = np.arange(int(n_frames / FPS * rate) + 1) / rate
    v = viseme_track(phonemes, fine_t)
    vowel = v[:, 0] > 0.25
    rounded = vowel & (v[:, 1] > 0)
    v[rounded, 1] = np.clip(v[rounded, 1] + preset.round_bias, 0.0, 1.0)
    v[vowel, 2] = np.clip(v[vowel, 2] * preset.spread_gain, 0.0, 1.0)
    shape = _smooth(v[:, :3], preset.smoothing_s, rate)
    press = _smooth(v[:, 3], preset.press_smoothing_s, rate)
    fine = np.column_stack([shape[:, 0] * (1.0 - press), shape[:, 1], shape[:, 2] * (1.0 - press), press])
    frame_t = np.arange(n_frames) / FPS
    return np.stack([np.interp(frame_t, fine_t, fine[:, k]) for k in range(4)], 1)


def _lip_weight(x: np.ndarray, cx: float, half: float) -> np.ndarray:
    """1 at the middle of the mouth, 0 at its corners."""
    return np.clip(1.0 - ((x - cx) / half) ** 2, 0.0, 1.0)


def relaxed_face(identity: np.ndarray) -> np.ndarray:
    """The portrait's own canonical face with the lips closed and its smile relaxed (the clips' rest).

    The portrait smiles with parted lips: the inner lips meet half way and the lips roll together
    over the gap, the jaw stays where it is (raising it would stretch the chin over the neck).
    """
    face = np.array(identity, dtype=np.float64)
    gap = face[LOWER_INNER, 1] - face[UPPER_INNER, 1]
    face[UPPER_INNER, 1] += gap / 2.0
    face[LOWER_INNER, 1] -= gap / 2.0
    face[UPPER_OUTER, 1] += 0.3 * gap.mean()
    face[LOWER_OUTER, 1] -= 0.5 * gap.mean()
    cx = face[[48, 54], 0].mean()
    face[LIPS, 0] = cx + (face[LIPS, 0] - cx) * 0.92  # relax the smile: a narrower mouth
    face[CORNERS, 1] += 0.015
    return face


def expression_frames(preset: Preset, identity: np.ndarray, mouth: np.ndarray) -> np.ndarray:
    """``T×68×3`` canonical faces: the portrait's identity wearing the preset's mouth and brows."""
    rest = relaxed_face(identity)
    cx = rest[[48, 54], 0].mean()
    half = (rest[54, 0] - rest[48, 0]) / 2.0
    up_thick = rest[UPPER_INNER, 1].mean() - rest[UPPER_OUTER, 1].mean()
    low_thick = rest[LOWER_OUTER, 1].mean() - rest[LOWER_INNER, 1].mean()
    w = _lip_weight(rest[:, 0], cx, half)
    open_, round_, spread, press = (mouth[:, k][:, None] for k in range(4))  # T×1 each
    brow_amount = preset.brow_rest + preset.brow_open * _smooth(mouth[:, 0], 0.15, FPS)

    faces = np.repeat(rest[None], len(mouth), 0)
    # Closed lips: each lip is drawn toward the closed line, more when pressed (m/b/p), less as
    # the mouth opens.
    closure = REST_CLOSURE * (1.0 - np.clip(open_, 0.0, 1.0)) + PRESS_CLOSURE * press
    faces[:, UPPER_OUTER, 1] += up_thick * closure
    faces[:, LOWER_OUTER, 1] -= low_thick * closure
    # Width: rounding narrows and pushes the lips forward, spreading widens them, pressing tightens.
    factor = 1.0 - 0.32 * round_ + 0.12 * spread - 0.06 * press
    faces[:, LIPS, 0] = cx + (faces[:, LIPS, 0] - cx) * factor
    faces[:, [60, 64], 0] = cx + (faces[:, [60, 64], 0] - cx) * (1.0 - 0.12 * round_)
    faces[:, LIPS, 2] -= 0.06 * round_ * (0.4 + 0.6 * w[LIPS])
    faces[:, UPPER_OUTER, 1] -= 0.02 * round_
    faces[:, LOWER_OUTER, 1] += 0.02 * round_
    faces[:, CORNERS, 1] -= 0.015 * spread
    # Opening: the lower lip and the jaw drop, the upper lip lifts a little.
    gap = preset.max_opening * open_
    faces[:, LOWER_LIP, 1] += 0.9 * gap * (0.25 + 0.75 * w[LOWER_LIP])
    faces[:, UPPER_INNER, 1] -= 0.1 * gap * w[UPPER_INNER]
    faces[:, UPPER_OUTER, 1] -= 0.1 * gap * w[UPPER_OUTER]
    faces[:, CORNERS, 1] += 0.3 * gap
    for i, k in JAW_DROP.items():
        faces[:, i, 1] += preset.jaw_ratio * k * gap[:, 0]
    # Brows.
    faces[:, BROWS, 1] -= 0.07 * brow_amount[:, None]
    faces[:, INNER_BROWS, 1] -= 0.015 * brow_amount[:, None]
    return faces


def head_motion(preset: Preset, n_frames: int, beats: np.ndarray, mouth: np.ndarray) -> PoseTrack:
    """Sway + beat nods + lift with the opening, as deltas from the portrait's own pose."""
    t = np.arange(n_frames) / FPS
    angles = np.zeros((n_frames, 3))
    for axis, (amp, hz, phase) in enumerate(preset.sway):
        angles[:, axis] = amp * np.sin(2 * np.pi * hz * t + phase)
    nod = np.zeros(n_frames)
    tau = 0.12  # a nod peaks 0.12 s after its beat and fades out
    for b in beats:
        dt = np.clip(t - b, 0.0, None) / tau
        nod += np.where(t >= b, dt * np.exp(1.0 - dt), 0.0)
    # The pitch sway nods down from the portrait's pose rather than tilting back: a closed mouth on a
    # head tilted back stretches the chin in a 2-D warp. The head lifts only while the mouth is open.
    angles[:, 1] += -preset.sway[1][0] - preset.bob_deg * nod + preset.lift_deg * _smooth(mouth[:, 0], 0.15, FPS)
    shift = np.zeros((n_frames, 3))
    shift[:, 1] = preset.bob_shift * nod
    return PoseTrack(delta_angles=angles, delta_translation=shift, delta_log_scale=np.zeros(n_frames), fps=float(FPS))


def blink_schedule(preset: Preset, n_frames: int, seed: int) -> np.ndarray:
    """Eye openness per frame (1 open): raised-cosine blinks at jittered intervals."""
    rng = np.random.default_rng(seed)
    t = np.arange(n_frames) / FPS
    eye = np.ones(n_frames)
    at = 0.8 + rng.uniform(0.0, 0.5)
    while at < t[-1]:
        x = (t - at) / preset.blink_s
        dip = np.where((x >= 0) & (x <= 1), 0.5 - 0.5 * np.cos(2 * np.pi * np.clip(x, 0, 1)), 0.0)
        eye = np.minimum(eye, 1.0 - preset.blink_depth * dip)
        at += preset.blink_every_s * rng.uniform(0.7, 1.3)
    return eye


# ---------------------------------------------------------------------------------------------
# Rendering


def prepare_portrait(renderer) -> SourceFace:
    from talkinghead.face import get_landmarker

    image = media.load_image(PORTRAIT)
    detection = get_landmarker().detect(image, what="the example portrait")
    return renderer.prepare(image, detection.points)


def render_clip(preset: Preset, source: SourceFace, renderer, out: Path, *, seed: int = 0) -> Path:
    """Perform, animate, render and write one style clip."""
    import cv2

    perf = VOICES[preset.name]()
    n_frames = int(round(len(perf.audio) / media.SAMPLE_RATE * FPS))
    mouth = mouth_tracks(preset, perf.phonemes, n_frames)
    canonical = expression_frames(preset, source.identity, mouth)
    rotation, translation, scale = head_motion(preset, n_frames, perf.beats, mouth).apply(source.pose)
    targets = FrameTargets(
        canonical=canonical,
        rotation=rotation,
        translation=translation,
        scale=scale,
        eye_open=blink_schedule(preset, n_frames, seed),
    )

    def frames():
        for start in range(0, n_frames, 16):
            for crop in renderer.render(source, targets[start : start + 16]):
                full = renderer.paste_back(crop, source)
                yield cv2.resize(full, (OUTPUT_SIZE, OUTPUT_SIZE), interpolation=cv2.INTER_AREA)

    return media.write_video(out, frames(), FPS, audio=perf.audio, crf=CRF, preset="slow")


def check(path: Path) -> list[str]:
    """Analyse a written clip; one line per reference."""
    from talkinghead.face import get_landmarker
    from talkinghead.style import analyse_style

    analysis = analyse_style(path, landmarker=get_landmarker())
    lines = [
        f"  {r.label:>4}: frame {r.frame_index:3d} t={r.time:5.2f}s score {r.score:.2f} "
        f"confidence {r.confidence:.2f}{'  LOW CONFIDENCE' if r.low_confidence else ''}"
        for r in analysis.references
    ]
    return lines + [f"  warning: {w}" for w in analysis.warnings]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=EXAMPLES, help="output folder")
    parser.add_argument("--only", choices=sorted(PRESETS), nargs="*", help="presets to write (default: all)")
    parser.add_argument("--check", action="store_true", help="analyse each clip and print its references")
    args = parser.parse_args(argv)
    from talkinghead.render.warp import WarpConfig, WarpRenderer

    args.out.mkdir(parents=True, exist_ok=True)
    renderer = WarpRenderer(config=WarpConfig(mouth_reuse_opening=MOUTH_REUSE_OPENING), device="cpu")
    source = prepare_portrait(renderer)
    for name in args.only or list(PRESETS):
        path = render_clip(PRESETS[name], source, renderer, args.out / f"style_{name}.mp4")
        info = media.probe(path)
        print(f"wrote {path} ({path.stat().st_size / 1024:.0f} KB, {info.duration:.2f} s)")
        if args.check:
            print("\n".join(check(path)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
