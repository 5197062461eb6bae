"""Phoneme → viseme → landmark model with coarticulation: the training targets of the motion generator.

Visemes
    Phonemes (espeak-ng's IPA or pocketsphinx's ARPAbet) map to :data:`VISEMES`, 15 classes of
    mouth shape. Diphthongs are two targets (``aɪ`` = AA then IY over 60 % / 40 % of the phone).
    Each class has one canonical-frame displacement ``68×3`` from the neutral face (inter-ocular
    units), *measured* on real talking faces by :mod:`talkinghead.train.measure_visemes` and
    stored in ``visemes.npz`` next to this file.

Coarticulation (Cohen & Massaro 1993, dominance functions)
    Every phone segment ``[s, e]`` exerts a dominance ``D(t) = α·exp(−d/τ)`` on the mouth, with
    ``d`` the distance from ``t`` to the segment (0 inside it) and ``τ`` longer before the segment
    (anticipation: lips round for an /u/ ahead of time) than after it (carry-over). The mouth at
    ``t`` is the dominance-weighted mean of the segment shapes. Bilabials and silence dominate
    strongly over a short reach (the lips must close for /m b p/, even for 30 ms, and close in
    pauses); /t d k g h/ are weak, so they take the jaw and lip shape of the neighbouring vowels, as
    in real speech. A final Gaussian smoothing (σ = 12 ms) stands for the inertia of the articulators.

Sustained vowels
    Past its first 150 ms a vowel longer than 0.3 s (held notes in singing, drawn-out words) mixes
    in 30 % of the open-jaw AA shape: singers drop the jaw on held notes, even on /u/ and /i/.

Loudness
    Vowel shapes are scaled by ``a(t) = clip(1 + β·(L(t) − L_ref)/10 dB, 0.4, 1.5)``, β = 0.8, with ``L(t)`` the
    60 ms loudness of the clean synthetic audio and ``L_ref`` the utterance's median vowel
    loudness: louder (stressed, sung forte) vowels open the mouth more, quiet ones less.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np
from scipy import signal

from talkinghead.geometry import N_POINTS

VISEMES: tuple[str, ...] = (
    "rest",  # silence, mouth closed and relaxed
    "PBM",  # p b m: lips pressed together
    "FV",  # f v: lower lip under the upper teeth
    "TH",  # θ ð: tongue between the teeth, slight opening
    "TDNL",  # t d n l ɾ: alveolar, jaw slightly open
    "SZ",  # s z: teeth close, lips spread a little
    "SH",  # ʃ ʒ tʃ dʒ: lips protruded and rounded
    "KG",  # k g ŋ h: velar/glottal, shape from the neighbours
    "R",  # ɹ: lips slightly rounded
    "UW",  # u ʊ w: rounded, protruded, small opening
    "AA",  # ɑ a ʌ: jaw wide open
    "EH",  # ɛ æ e: open-mid, spread
    "IY",  # i ɪ j: spread, small opening
    "OW",  # ɔ o ɒ: rounded and open
    "ER",  # ɚ ɜ: r-coloured, mid opening, slight rounding
)
INDEX = {name: i for i, name in enumerate(VISEMES)}
N_VISEMES = len(VISEMES)

# Dominance (α, τ_anticipation s, τ_carry-over s) per class.
DOMINANCE: dict[str, tuple[float, float, float]] = {
    "rest": (3.0, 0.025, 0.025),
    "PBM": (25.0, 0.020, 0.015),
    "FV": (6.0, 0.025, 0.020),
    "TH": (1.0, 0.030, 0.020),
    "TDNL": (0.35, 0.030, 0.020),
    "SZ": (0.8, 0.030, 0.020),
    "SH": (1.5, 0.040, 0.030),
    "KG": (0.2, 0.030, 0.020),
    "R": (0.8, 0.040, 0.030),
    "UW": (1.5, 0.050, 0.035),
    "AA": (1.0, 0.035, 0.035),
    "EH": (1.0, 0.035, 0.035),
    "IY": (1.0, 0.035, 0.035),
    "OW": (1.2, 0.045, 0.035),
    "ER": (1.0, 0.035, 0.035),
}
VOWEL_CLASSES = frozenset({"UW", "AA", "EH", "IY", "OW", "ER"})

# IPA (espeak-ng, English voices) → list of (class, share of the phone's duration, amplitude).
# Each row: the symbols that share a mapping | one or two "CLASS share amplitude" parts.
_IPA_TABLE = """
p b m ɱ                 | PBM 1.0 1.0
f v                     | FV 1.0 1.0
θ ð                     | TH 1.0 1.0
t d n l ɾ n̩ t̪ d̪ ɬ ɫ  | TDNL 1.0 1.0
əl l̩                   | EH 0.4 0.6  TDNL 0.6 1.0
s z                     | SZ 1.0 1.0
ʃ ʒ tʃ dʒ ç             | SH 1.0 1.0
k g ɡ ŋ h x ʔ ɦ         | KG 1.0 1.0
ɹ r ɻ                   | R 1.0 1.0
w ʍ                     | UW 1.0 1.0
u uː ʊ ʉ ʉː             | UW 1.0 1.0
j                       | IY 1.0 0.8
i iː ɪ ɨ                | IY 1.0 1.0
ɛ e eː æ ɛː             | EH 1.0 1.0
a aː ɑ ɑː ʌ ɐ ɒ         | AA 1.0 1.0
ə ɘ ɜ                   | AA 1.0 0.55
ɚ ɝ ɜː əɹ               | ER 1.0 1.0
ɔ ɔː o oː               | OW 1.0 1.0
aɪ ɑɪ ʌɪ                | AA 0.6 1.0  IY 0.4 0.8
aʊ æʊ ɑʊ                | AA 0.6 1.0  UW 0.4 0.8
eɪ ɛɪ əɪ                | EH 0.6 1.0  IY 0.4 0.8
oʊ əʊ ʌʉ ɔʊ             | OW 0.6 1.0  UW 0.4 0.8
ɔɪ oɪ                   | OW 0.6 1.0  IY 0.4 0.8
ɪə iə eə ɛə ʊə oə ɑə    | EH 0.6 0.9  AA 0.4 0.6
ɑːɹ ɑɹ                  | AA 0.6 1.0  R 0.4 1.0
ɔːɹ oːɹ oɹ ɔɹ           | OW 0.6 1.0  R 0.4 1.0
ʌɹ ɛɹ ɪɹ ʊɹ             | ER 1.0 1.0
"""


def _parse_ipa_table(table: str) -> dict[str, list[tuple[str, float, float]]]:
    mapping: dict[str, list[tuple[str, float, float]]] = {}
    for row in table.strip().splitlines():
        symbols, parts = row.split("|")
        fields = parts.split()
        classes = [(fields[i], float(fields[i + 1]), float(fields[i + 2])) for i in range(0, len(fields), 3)]
        for s in symbols.split():
            mapping[s] = classes
    return mapping


_IPA = _parse_ipa_table(_IPA_TABLE)

# ARPAbet (pocketsphinx / CMUdict, no stress digits) → the same classes
ARPABET: dict[str, list[tuple[str, float, float]]] = {
    "SIL": [("rest", 1.0, 1.0)],
    "P": [("PBM", 1.0, 1.0)], "B": [("PBM", 1.0, 1.0)], "M": [("PBM", 1.0, 1.0)],
    "F": [("FV", 1.0, 1.0)], "V": [("FV", 1.0, 1.0)],
    "TH": [("TH", 1.0, 1.0)], "DH": [("TH", 1.0, 1.0)],
    "T": [("TDNL", 1.0, 1.0)], "D": [("TDNL", 1.0, 1.0)], "N": [("TDNL", 1.0, 1.0)], "L": [("TDNL", 1.0, 1.0)],
    "S": [("SZ", 1.0, 1.0)], "Z": [("SZ", 1.0, 1.0)],
    "SH": [("SH", 1.0, 1.0)], "ZH": [("SH", 1.0, 1.0)], "CH": [("SH", 1.0, 1.0)], "JH": [("SH", 1.0, 1.0)],
    "K": [("KG", 1.0, 1.0)], "G": [("KG", 1.0, 1.0)], "NG": [("KG", 1.0, 1.0)], "HH": [("KG", 1.0, 1.0)],
    "R": [("R", 1.0, 1.0)], "W": [("UW", 1.0, 1.0)], "Y": [("IY", 1.0, 0.8)],
    "UW": [("UW", 1.0, 1.0)], "UH": [("UW", 1.0, 1.0)],
    "IY": [("IY", 1.0, 1.0)], "IH": [("IY", 1.0, 1.0)],
    "EH": [("EH", 1.0, 1.0)], "AE": [("EH", 1.0, 1.0)],
    "AA": [("AA", 1.0, 1.0)], "AH": [("AA", 1.0, 0.8)],
    "ER": [("ER", 1.0, 1.0)],
    "AO": [("OW", 1.0, 1.0)],
    "AY": [("AA", 0.6, 1.0), ("IY", 0.4, 0.8)],
    "AW": [("AA", 0.6, 1.0), ("UW", 0.4, 0.8)],
    "EY": [("EH", 0.6, 1.0), ("IY", 0.4, 0.8)],
    "OW": [("OW", 0.6, 1.0), ("UW", 0.4, 0.8)],
    "OY": [("OW", 0.6, 1.0), ("IY", 0.4, 0.8)],
}

SILENCE_SYMBOLS = frozenset({"_", "", "SIL", "sil", "<sil>", "+NSN+", "+SPN+", "+BREATH+"})


def _strip(symbol: str) -> str:
    """Drop stress marks, ties and most diacritics that espeak attaches (keeps ː and syllabic ̩)."""
    s = symbol.replace("ˈ", "").replace("ˌ", "").replace("͡", "").replace("‿", "")
    return "".join(c for c in unicodedata.normalize("NFC", s) if c not in "ʰʲʷˠ̃")


def viseme_parts(symbol: str) -> list[tuple[str, float, float]]:
    """``(class, share, amplitude)`` parts of one phone (IPA or ARPAbet); silence → rest."""
    if symbol in SILENCE_SYMBOLS:
        return [("rest", 1.0, 1.0)]
    arpa = symbol.rstrip("012")
    if arpa in ARPABET and arpa.isupper():
        return ARPABET[arpa]
    s = _strip(symbol)
    if s in _IPA:
        return _IPA[s]
    if s.rstrip("ː") in _IPA:
        return _IPA[s.rstrip("ː")]
    for n in range(len(s) - 1, 0, -1):  # longest known prefix ("ɑːɹ" → "ɑː")
        if s[:n] in _IPA:
            return _IPA[s[:n]]
    return [("KG", 1.0, 1.0)]  # unknown consonant-like symbol: weak, takes its neighbours' shape


@dataclass(frozen=True)
class Segment:
    """One viseme target in time."""

    start: float  # s
    end: float  # s
    viseme: int  # index into VISEMES
    amplitude: float  # shape scale (reduced vowels < 1)


def segments(phonemes: list[tuple[float, float, str]]) -> list[Segment]:
    """Phone alignment → viseme segments (diphthongs split)."""
    out: list[Segment] = []
    for start, end, symbol in phonemes:
        if end <= start:
            continue
        t = start
        for name, share, amp in viseme_parts(symbol):
            t1 = t + share * (end - start)
            out.append(Segment(t, t1, INDEX[name], amp))
            t = t1
    return out


def loudness_db(audio: np.ndarray, times: np.ndarray, sample_rate: int = 16_000, window_s: float = 0.06) -> np.ndarray:
    """RMS level (dBFS) of ``audio`` in a ``window_s`` Hann window around each of ``times``."""
    x = np.asarray(audio, dtype=np.float64)
    half = int(window_s * sample_rate / 2)
    w = np.hanning(2 * half + 1)
    power = signal.fftconvolve(x * x, w / w.sum(), mode="same") if len(x) else np.zeros(1)
    idx = np.clip(np.round(np.asarray(times) * sample_rate).astype(int), 0, max(len(x) - 1, 0))
    power = np.maximum(power[idx], 0.0)
    return 10 * np.log10(power + 1e-10)


SUSTAIN_AFTER = 0.15  # s into a long vowel before the jaw drops further
SUSTAIN_MIN = 0.3  # s: vowels at least this long count as sustained
SUSTAIN_OPEN = 0.3  # share of the AA shape mixed into a sustained vowel


def viseme_weights(
    segs: list[Segment],
    times: np.ndarray,
    *,
    loudness: np.ndarray | None = None,
    loudness_gain: float = 0.8,
    smooth_s: float = 0.012,
    sustain_open: float = SUSTAIN_OPEN,
) -> np.ndarray:
    """Coarticulated viseme weights at ``times`` (``T × N_VISEMES``): the motion at ``t`` is
    ``weights[t] @ shapes`` (shapes ``N_VISEMES×68×3``; rest is the zero shape).

    ``loudness`` (dB at ``times``, optional) scales vowel classes as described in the module.
    """
    t = np.asarray(times, dtype=np.float64)
    if not segs:
        return np.zeros((len(t), N_VISEMES), np.float32)
    start = np.array([s.start for s in segs])
    end = np.array([s.end for s in segs])
    cls = np.array([s.viseme for s in segs])
    amp = np.array([s.amplitude for s in segs])
    alpha = np.array([DOMINANCE[VISEMES[c]][0] for c in cls])
    tau_a = np.array([DOMINANCE[VISEMES[c]][1] for c in cls])
    tau_c = np.array([DOMINANCE[VISEMES[c]][2] for c in cls])
    before = np.maximum(start[None, :] - t[:, None], 0.0)  # T×S: time until the segment starts
    after = np.maximum(t[:, None] - end[None, :], 0.0)
    dom = alpha * np.exp(-before / tau_a - after / tau_c)  # T×S
    dom = np.maximum(dom, 1e-30)
    scale = np.broadcast_to(amp, dom.shape).copy()
    if loudness is not None:
        vowel = np.array([VISEMES[c] in VOWEL_CLASSES for c in cls])
        lt = np.asarray(loudness, dtype=np.float64)
        inside = (t[:, None] >= start[None, :]) & (t[:, None] < end[None, :])
        vowel_frames = (inside & vowel[None, :]).any(1)
        ref = np.median(lt[vowel_frames]) if vowel_frames.any() else np.median(lt)
        a = np.clip(1.0 + loudness_gain * (lt - ref) / 10.0, 0.4, 1.5)  # T
        # a segment's loudness factor: its own (clamped into the segment) time's value
        idx_in = np.clip(np.searchsorted(t, np.clip(t[:, None], start[None, :], end[None, :] - 1e-6)), 0, len(t) - 1)
        seg_a = a[idx_in]  # T×S
        scale = np.where(vowel[None, :], scale * seg_a, scale)
    w = np.zeros((len(t), N_VISEMES))
    contrib = dom * scale / dom.sum(1, keepdims=True)
    if sustain_open > 0:  # held vowels: part of their weight goes to the open jaw (AA)
        vowel = np.array([VISEMES[c] in VOWEL_CLASSES for c in cls])
        held = vowel & (end - start >= SUSTAIN_MIN)
        ramp = np.clip((t[:, None] - start[None, :] - SUSTAIN_AFTER) / 0.1, 0.0, 1.0) * held[None, :]
        moved = contrib * sustain_open * ramp
        contrib = contrib - moved
        w[:, INDEX["AA"]] += moved.sum(1)
    for c in range(N_VISEMES):
        m = cls == c
        if m.any():
            w[:, c] += contrib[:, m].sum(1)
    if smooth_s > 0 and len(t) > 1:
        dt = float(np.median(np.diff(t)))
        sigma = smooth_s / dt
        r = int(np.ceil(3 * sigma))
        k = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2)
        k /= k.sum()
        w = np.stack([np.convolve(np.pad(w[:, c], r, mode="edge"), k, mode="valid") for c in range(N_VISEMES)], 1)
    return w.astype(np.float32)


@dataclass(frozen=True)
class VisemeTable:
    """Measured viseme shapes."""

    shapes: np.ndarray  # N_VISEMES×68×3 float32, canonical-frame displacement from the neutral face
    counts: np.ndarray  # N_VISEMES int: real phone instances each shape was averaged from
    source: str  # how the table was measured

    def motion(self, weights: np.ndarray) -> np.ndarray:
        """``T×N_VISEMES`` weights → ``T×68×3`` displacement."""
        return np.einsum("tv,vpc->tpc", weights, self.shapes).astype(np.float32)


def table_path() -> str:
    return str(resources.files("talkinghead.train").joinpath("visemes.npz"))


@lru_cache(maxsize=1)
def load_table() -> VisemeTable:
    """The shipped, measured viseme table (``talkinghead/train/visemes.npz``)."""
    with resources.files("talkinghead.train").joinpath("visemes.npz").open("rb") as fh:
        data = np.load(fh, allow_pickle=False)
        shapes = data["shapes"].astype(np.float32)
        names = tuple(str(n) for n in data["names"])
        counts = data["counts"].astype(np.int64)
        source = str(data["source"])
    if names != VISEMES or shapes.shape != (N_VISEMES, N_POINTS, 3):
        raise RuntimeError("visemes.npz does not match VISEMES: rerun python -m talkinghead.train.measure_visemes")
    return VisemeTable(shapes, counts, source)
