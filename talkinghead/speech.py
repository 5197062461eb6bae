"""Speech and singing synthesis with exact phoneme timing (espeak-ng through its C library, sox).

espeak-ng is called through ``libespeak-ng.so.1`` with ctypes, in synchronous mode with
``espeakINITIALIZE_PHONEME_EVENTS | espeakINITIALIZE_PHONEME_IPA``: together with the audio it
reports every phoneme (as IPA) and the sample where it starts. That gives speech with a known
phoneme alignment — the training data of the motion generator — without any recogniser.

espeak is one global C library, so every call holds :data:`_LOCK`. The library is loaded on first
use; if it is missing, :class:`SpeechUnavailable` says which package to install.

:func:`sing` makes sung material from a list of :class:`Note`: each syllable is spoken by espeak
monotone (pitch range 0), its vowel is time-stretched to the note length (``sox tempo``, pitch
kept), shifted to the note's pitch (``sox pitch``, from the measured f0), given a vibrato (a
sinusoidally modulated delay line) and a loudness envelope, and the notes are joined. Phoneme
times are carried through every step.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import shutil
import subprocess
import tempfile
import threading
import wave
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np

from talkinghead.errors import InputError
from talkinghead.media import SAMPLE_RATE, resample, save_wav

SILENCE = "_"  # phoneme symbol for pauses

_LOCK = threading.Lock()

# espeak_lib.h constants
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INIT_PHONEME_EVENTS = 0x0001
_INIT_PHONEME_IPA = 0x0002
_INIT_DONT_EXIT = 0x8000
_CHARS_UTF8 = 1
_SSML = 0x10
_PHONEMES = 0x100
_EVENT_LIST_TERMINATED = 0
_EVENT_END = 5
_EVENT_MSG_TERMINATED = 6
_EVENT_PHONEME = 7
_PARAM = {"rate": 1, "volume": 2, "pitch": 3, "range": 4, "wordgap": 7}


class SpeechUnavailable(RuntimeError):
    """espeak-ng (or sox for singing) is not installed."""


class _Event(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),  # ms
        ("sample", ctypes.c_int),  # sample index at the library's rate
        ("user_data", ctypes.c_void_p),
        ("id", ctypes.c_char * 8),  # phoneme name, UTF-8, not terminated if 8 bytes long
    ]


_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event))


@dataclass
class _Engine:
    lib: ctypes.CDLL
    sample_rate: int
    data_dir: Path
    callback: object = None  # keeps the ctypes callback alive
    chunks: list[np.ndarray] = field(default_factory=list)
    events: list[tuple[int, int, str]] = field(default_factory=list)  # (type, sample, phoneme)


_engine: _Engine | None = None


def _load() -> _Engine:
    """Load and initialise libespeak-ng once (caller holds the lock)."""
    global _engine
    if _engine is not None:
        return _engine
    name = ctypes.util.find_library("espeak-ng") or "libespeak-ng.so.1"
    try:
        lib = ctypes.CDLL(name)
    except OSError as exc:
        raise SpeechUnavailable(
            "espeak-ng's library (libespeak-ng.so.1) was not found: install it, e.g. "
            "`apt-get install libespeak-ng1 espeak-ng-data` on Debian/Ubuntu"
        ) from exc
    lib.espeak_Initialize.restype = ctypes.c_int
    lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
    lib.espeak_Info.restype = ctypes.c_char_p
    lib.espeak_Info.argtypes = [ctypes.POINTER(ctypes.c_char_p)]
    lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
    lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
    lib.espeak_Synth.argtypes = [
        ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int, ctypes.c_uint, ctypes.c_uint,
        ctypes.c_void_p, ctypes.c_void_p,
    ]
    flags = _INIT_PHONEME_EVENTS | _INIT_PHONEME_IPA | _INIT_DONT_EXIT
    rate = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, None, flags)
    if rate <= 0:
        raise SpeechUnavailable("espeak-ng failed to initialise: is espeak-ng-data installed?")
    path = ctypes.c_char_p()
    lib.espeak_Info(ctypes.byref(path))
    engine = _Engine(lib, rate, Path((path.value or b"").decode()))

    def on_audio(wav, n, events) -> int:  # called from espeak_Synth, same thread
        if n > 0:
            engine.chunks.append(np.ctypeslib.as_array(wav, shape=(n,)).copy())
        i = 0
        while events[i].type != _EVENT_LIST_TERMINATED:
            ev = events[i]
            if ev.type in (_EVENT_PHONEME, _EVENT_END, _EVENT_MSG_TERMINATED):
                symbol = bytes(ev.id).split(b"\0")[0].decode("utf-8", "replace") if ev.type == _EVENT_PHONEME else ""
                engine.events.append((ev.type, ev.sample, symbol))
            i += 1
        return 0

    engine.callback = _CALLBACK(on_audio)
    lib.espeak_SetSynthCallback(engine.callback)
    _engine = engine
    return engine


def available() -> bool:
    """True when espeak-ng's library can be loaded."""
    try:
        with _LOCK:
            _load()
    except SpeechUnavailable:
        return False
    return True


def list_variants() -> list[str]:
    """Voice variants espeak-ng ships (append to a voice as ``"en-us+NAME"``)."""
    with _LOCK:
        data = _load().data_dir
    folder = data / "voices" / "!v"
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


@dataclass(frozen=True)
class Utterance:
    """Synthesised audio with its phoneme alignment."""

    audio: np.ndarray  # float32 mono, SAMPLE_RATE Hz
    phonemes: list[tuple[float, float, str]]  # (start_s, end_s, IPA phoneme or "_" for a pause), in order

    @property
    def duration(self) -> float:
        return len(self.audio) / SAMPLE_RATE


def synthesize(
    text: str,
    *,
    voice: str = "en-us",
    rate: int = 175,
    pitch: int = 50,
    range: int = 50,  # noqa: A002 — espeak's own name for the pitch range
    volume: int = 100,
    word_gap: int = 0,
    ssml: bool = False,
) -> Utterance:
    """Speak ``text`` with espeak-ng and return the 16 kHz audio and the phoneme alignment.

    ``voice`` is an espeak voice, optionally with a variant (``"en-us+f3"``); ``rate`` in words per
    minute (80–450); ``pitch`` and ``range`` 0–100 (range 0 is monotone); ``volume`` 0–200;
    ``word_gap`` extra pause between words in 10 ms units. Plain text is escaped; pass
    ``ssml=True`` to use SSML tags (``<break/>``, ``<prosody>``, ``<emphasis>``). Phoneme input
    ``[[...]]`` (espeak's mnemonics) is accepted in both modes.
    """
    if not text or not text.strip():
        raise InputError("Nothing to say: give a non-empty text.")
    checks = {"rate": (rate, 80, 450), "pitch": (pitch, 0, 100), "range": (range, 0, 100), "volume": (volume, 0, 200)}
    for name, (value, lo, hi) in checks.items():
        if not lo <= value <= hi:
            raise InputError(f"{name}={value} is out of range: use {lo}–{hi}.")
    body = text if ssml else escape(text)
    payload = f"<speak>{body}</speak>".encode() if ssml or body != text else text.encode()
    flags = _CHARS_UTF8 | _PHONEMES | (_SSML if (ssml or body != text) else 0)
    with _LOCK:
        eng = _load()
        if eng.lib.espeak_SetVoiceByName(voice.encode()) != 0:
            raise InputError(f"Unknown espeak-ng voice {voice!r}: use e.g. 'en-us', 'en-gb' or 'en-us+f3'.")
        settings = {"rate": rate, "pitch": pitch, "range": range, "volume": volume, "wordgap": word_gap}
        for name, value in settings.items():
            eng.lib.espeak_SetParameter(_PARAM[name], int(value), 0)
        eng.chunks.clear()
        eng.events.clear()
        buf = ctypes.create_string_buffer(payload)
        err = eng.lib.espeak_Synth(buf, len(payload) + 1, 0, 1, 0, flags, None, None)
        eng.lib.espeak_Synchronize()
        chunks, events, sr = list(eng.chunks), list(eng.events), eng.sample_rate
        eng.chunks.clear()
        eng.events.clear()
    if err != 0:
        raise RuntimeError(f"espeak_Synth failed with error {err}")
    raw = np.concatenate(chunks).astype(np.float32) / 32768.0 if chunks else np.zeros(0, np.float32)
    audio = resample(raw, sr)
    return Utterance(audio, _alignment(events, sr, len(audio) / SAMPLE_RATE))


def _alignment(events: list[tuple[int, int, str]], rate: int, duration: float) -> list[tuple[float, float, str]]:
    """Phoneme events (start samples) → ``(start, end, phoneme)`` covering ``[0, duration]``."""
    marks: list[tuple[float, str]] = []
    for kind, sample, symbol in events:
        t = min(max(sample / rate, 0.0), duration)
        if kind == _EVENT_PHONEME:
            marks.append((t, symbol or SILENCE))
        else:  # end of clause / message: silence follows
            marks.append((t, SILENCE))
    marks.sort(key=lambda m: m[0])
    if not marks or marks[0][0] > 0.0:
        marks.insert(0, (0.0, SILENCE))
    out: list[tuple[float, float, str]] = []
    for i, (t, sym) in enumerate(marks):
        end = marks[i + 1][0] if i + 1 < len(marks) else duration
        if end <= t:
            continue
        if out and out[-1][2] == sym == SILENCE:
            out[-1] = (out[-1][0], end, SILENCE)
        else:
            out.append((t, end, sym))
    return out


# ---------------------------------------------------------------------------------------------
# Singing

# IPA vowels espeak-ng uses for English (a syllable's nucleus is its first vowel phoneme).
VOWEL_CHARS = set("aeiouyæɑɐɒɔəɚɛɜɝɞɪʊʌɤɯɵøœɘɨʉ")


def is_vowel(phoneme: str) -> bool:
    """True for an IPA vowel or diphthong (``"aɪ"``, ``"oʊ"``, ``"iː"``, ``"ɚ"``)."""
    return bool(phoneme) and phoneme[0] in VOWEL_CHARS


@dataclass(frozen=True)
class Note:
    """One sung syllable."""

    syllable: str  # lyric, spoken by espeak ("la", "love", "oh"); its vowel is sustained
    midi: float  # pitch as a MIDI note number (60 = C4 = 261.6 Hz)
    duration: float  # seconds from the syllable's start to the next note's start
    dynamic_db: float = 0.0  # loudness relative to the phrase, dB
    envelope: str = "flat"  # "flat", "swell" (soft-loud-soft), "crescendo", "decrescendo"
    rest: float = 0.0  # silence after the note, seconds (breath); 0 = legato


def midi_to_hz(midi: float) -> float:
    return 440.0 * 2.0 ** ((midi - 69.0) / 12.0)


def _sox() -> str:
    exe = shutil.which("sox")
    if exe is None:
        raise SpeechUnavailable("sox is needed for singing: install it, e.g. `apt-get install sox`")
    return exe


def _sox_effect(audio: np.ndarray, effects: list[str]) -> np.ndarray:
    """Run ``sox in.wav out.wav EFFECTS...`` on 16 kHz float audio (argument list, temp files)."""
    with tempfile.TemporaryDirectory(prefix="th_sox_", ignore_cleanup_errors=True) as tmp:
        src, dst = os.path.join(tmp, "in.wav"), os.path.join(tmp, "out.wav")
        save_wav(src, audio)
        proc = subprocess.run([_sox(), "-q", src, dst, *effects], capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise RuntimeError(f"sox {' '.join(effects)} failed: {proc.stderr.strip()}")
        return _read_wav(dst)


def _read_wav(path: str) -> np.ndarray:
    with wave.open(path, "rb") as w:
        if w.getsampwidth() != 2 or w.getnchannels() != 1:
            raise RuntimeError(f"unexpected wav format in {path}")
        return np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(np.float32) / 32768.0


def estimate_f0(audio: np.ndarray, *, fmin: float = 60.0, fmax: float = 900.0) -> float:
    """Median f0 (Hz) of a voiced segment: normalised autocorrelation on 40 ms frames, taking the
    shortest lag whose correlation is within 10 % of the best (avoids octave-low errors)."""
    x = np.asarray(audio, dtype=np.float64)
    n = int(0.04 * SAMPLE_RATE)
    lo, hi = int(SAMPLE_RATE / fmax), int(SAMPLE_RATE / fmin)
    f0s = []
    for start in range(0, len(x) - n - hi, n // 2):
        a = x[start : start + n] - x[start : start + n].mean()
        energy = float(a @ a)
        if energy < 1e-8:
            continue
        lags = np.arange(lo, hi)
        segs = np.stack([x[start + k : start + k + n] for k in lags])
        segs = segs - segs.mean(axis=1, keepdims=True)
        r = (segs @ a) / np.sqrt(energy * np.maximum((segs**2).sum(axis=1), 1e-12))
        best = float(r.max())
        if best < 0.6:
            continue
        peaks = [i for i in range(1, len(r) - 1) if r[i] >= r[i - 1] and r[i] >= r[i + 1] and r[i] >= 0.9 * best]
        f0s.append(SAMPLE_RATE / lags[peaks[0] if peaks else int(np.argmax(r))])
    return float(np.median(f0s)) if f0s else 0.0


def vibrato(audio: np.ndarray, *, rate_hz: float, depth_cents: float, onset_s: float = 0.25) -> np.ndarray:
    """Frequency vibrato by a sinusoidally modulated delay line ``y(t) = x(t − d(t))``; the depth
    fades in over ``onset_s`` as singers do."""
    x = np.asarray(audio, dtype=np.float64)
    n = np.arange(len(x))
    t = n / SAMPLE_RATE
    ramp = np.clip(t / max(onset_s, 1e-3), 0.0, 1.0)
    # instantaneous frequency ratio 1 − d'(t) ≈ 2^(±cents/1200): d'(t) amplitude = ratio − 1
    amp = (2.0 ** (depth_cents / 1200.0) - 1.0) / (2 * np.pi * rate_hz)  # seconds
    d = amp * ramp * (1.0 - np.cos(2 * np.pi * rate_hz * t)) * SAMPLE_RATE
    return np.interp(n - d, n, x).astype(np.float32)


def _envelope(n: int, kind: str, fade: int) -> np.ndarray:
    u = np.linspace(0.0, 1.0, max(n, 1))
    shapes = {
        "flat": np.ones_like(u),
        "swell": 0.45 + 0.55 * np.sin(np.pi * u),
        "crescendo": 0.35 + 0.65 * u,
        "decrescendo": 1.0 - 0.65 * u,
    }
    if kind not in shapes:
        raise InputError(f"Unknown note envelope {kind!r}: use one of {', '.join(shapes)}.")
    env = shapes[kind]
    fade = min(fade, n // 2)
    if fade > 0:
        env[:fade] *= np.linspace(0.0, 1.0, fade)
        env[-fade:] *= np.linspace(1.0, 0.0, fade)
    return env


_PITCH_STEPS = (5, 20, 35, 50, 65, 80, 95)
_pitch_table: dict[str, list[tuple[int, float]]] = {}


def _espeak_pitch_for(voice: str, target_hz: float) -> tuple[int, float]:
    """espeak pitch setting whose monotone f0 is nearest ``target_hz`` → (setting, its f0)."""
    if voice not in _pitch_table:
        table = []
        for p in _PITCH_STEPS:
            f0 = estimate_f0(synthesize("aa", voice=voice, rate=130, pitch=p, range=0).audio)
            if f0 > 0:
                table.append((p, f0))
        _pitch_table[voice] = table
    table = _pitch_table[voice]
    if not table:
        return 50, 0.0
    return min(table, key=lambda pf: abs(np.log(pf[1] / target_hz)))


def _stretch_effects(factor: float) -> list[str]:
    """sox ``tempo`` chain for a tempo factor (< 1 slows down); one call handles ≥ 0.1."""
    effects: list[str] = []
    while factor < 0.1:
        effects += ["tempo", "-s", "0.1"]
        factor /= 0.1
    return effects + ["tempo", "-s", f"{factor:.5f}"]


def _sing_note(
    note: Note, *, voice: str, vibrato_cents: float, vibrato_hz: float
) -> tuple[np.ndarray, list[tuple[float, float, str]]]:
    """One note → (audio, phonemes with times relative to the note's start)."""
    target = midi_to_hz(note.midi)
    setting, _ = _espeak_pitch_for(voice, target)
    spoken = synthesize(note.syllable, voice=voice, rate=130, pitch=setting, range=0)
    phones = [p for p in spoken.phonemes if p[2] != SILENCE]
    nucleus = next((i for i, p in enumerate(phones) if is_vowel(p[2])), None)
    if nucleus is None:
        raise InputError(f"The lyric {note.syllable!r} has no vowel to sing: use a syllable such as 'la'.")

    def cut(t0: float, t1: float) -> np.ndarray:
        return spoken.audio[int(round(t0 * SAMPLE_RATE)) : int(round(t1 * SAMPLE_RATE))]

    first, (vs, ve), last = phones[0][0], phones[nucleus][:2], phones[-1][1]
    onset, vowel, coda = cut(first, vs), cut(vs, ve), cut(ve, last)
    f0 = estimate_f0(vowel)
    shift = ["pitch", f"{1200.0 * np.log2(target / f0):.1f}"] if f0 > 0 else []
    want = max(note.duration - (len(onset) + len(coda)) / SAMPLE_RATE, 0.08)
    sung = _sox_effect(vowel, _stretch_effects(len(vowel) / SAMPLE_RATE / want) + shift)
    if shift and len(onset) > 800:  # voiced onsets ("la", "ma") follow the note's pitch too
        onset = _sox_effect(onset, shift)[: len(onset)]
    sung = vibrato(sung, rate_hz=vibrato_hz, depth_cents=vibrato_cents)
    sung = sung * _envelope(len(sung), note.envelope, int(0.03 * SAMPLE_RATE)).astype(np.float32)
    audio = np.concatenate([onset, sung, coda]) * np.float32(10 ** (note.dynamic_db / 20))
    t_on = len(onset) / SAMPLE_RATE
    t_off = t_on + len(sung) / SAMPLE_RATE
    out = [(st - first, en - first, sym) for st, en, sym in phones[:nucleus]]
    out.append((t_on, t_off, phones[nucleus][2]))
    out += [(t_off + st - ve, t_off + en - ve, sym) for st, en, sym in phones[nucleus + 1 :]]
    return audio.astype(np.float32), out


def sing(
    notes: Sequence[Note],
    *,
    voice: str = "en-us",
    vibrato_cents: float = 35.0,
    vibrato_hz: float = 5.5,
) -> Utterance:
    """Sing ``notes`` (lyric syllables with pitch, length and dynamics) → audio + phoneme alignment.

    Vowels are held for the note's length with vibrato; ``Note.rest`` inserts a breath.
    """
    if not notes:
        raise InputError("Nothing to sing: give at least one note.")
    pieces: list[np.ndarray] = [np.zeros(int(0.15 * SAMPLE_RATE), np.float32)]
    phones: list[tuple[float, float, str]] = [(0.0, 0.15, SILENCE)]
    t = 0.15
    for note in notes:
        if note.duration <= 0 or note.rest < 0:
            raise InputError(f"Note {note.syllable!r}: duration must be positive and rest non-negative.")
        audio, ph = _sing_note(note, voice=voice, vibrato_cents=vibrato_cents, vibrato_hz=vibrato_hz)
        pieces.append(audio)
        phones += [(t + st, t + en, sym) for st, en, sym in ph]
        t += len(audio) / SAMPLE_RATE
        gap = note.rest if note.rest > 0 else 0.0
        if gap > 0:
            pieces.append(np.zeros(int(round(gap * SAMPLE_RATE)), np.float32))
            phones.append((t, t + len(pieces[-1]) / SAMPLE_RATE, SILENCE))
            t += len(pieces[-1]) / SAMPLE_RATE
    pieces.append(np.zeros(int(0.15 * SAMPLE_RATE), np.float32))
    phones.append((t, t + 0.15, SILENCE))
    audio = np.concatenate(pieces)
    peak = float(np.abs(audio).max())
    if peak > 0.99:
        audio = audio * (0.99 / peak)
    end = len(audio) / SAMPLE_RATE
    phones = [(st, min(en, end), sym) for st, en, sym in phones if st < end]
    return Utterance(audio.astype(np.float32), phones)
