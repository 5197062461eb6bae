"""Write the example audio clips with the project's own speech synthesis.

    python -m examples.make_audio        (from the repository root)

* ``examples/speech_en.wav`` — an English sentence with pauses and many m/b/p (lip closures).
* ``examples/song_vowels.wav`` — a sung phrase: long vowels on a melody, vibrato, crescendo.

Both are 16 kHz mono 16-bit WAV (under 300 KB), synthesised deterministically by espeak-ng
(:mod:`talkinghead.speech`), so anyone can rebuild them.
"""

from __future__ import annotations

from pathlib import Path

from talkinghead import media
from talkinghead.speech import Note, sing, synthesize

HERE = Path(__file__).resolve().parent

SPEECH_SSML = (
    "Hello! My name is Paula. <break time=\"400ms\"/> "
    "I bake bread, brew pepper tea, and boil maple syrup by the big blue bay. <break time=\"500ms\"/> "
    "Would you like some?"
)

# A short melody in A major: (syllable, MIDI note, seconds, dynamics dB, envelope, rest after)
MELODY = (
    ("oh", 69, 1.3, -4.0, "crescendo", 0.0),
    ("la", 71, 0.5, 0.0, "flat", 0.0),
    ("la", 73, 0.5, 0.0, "flat", 0.25),
    ("ah", 76, 1.8, 0.0, "swell", 0.35),
    ("my", 74, 0.6, -2.0, "flat", 0.0),
    ("love", 73, 1.0, -2.0, "flat", 0.0),
    ("oo", 69, 1.6, -6.0, "decrescendo", 0.0),
)


def make_speech():
    return synthesize(SPEECH_SSML, voice="en-us+f3", rate=150, pitch=55, range=60, ssml=True)


def make_song():
    notes = [Note(s, float(m), d, dyn, env, rest) for s, m, d, dyn, env, rest in MELODY]
    return sing(notes, voice="en-us+f3", vibrato_cents=40.0, vibrato_hz=5.5)


def main() -> int:
    for name, utt in (("speech_en.wav", make_speech()), ("song_vowels.wav", make_song())):
        path = media.save_wav(HERE / name, utt.audio)
        print(f"wrote {path} ({utt.duration:.2f} s, {path.stat().st_size // 1024} KB, {len(utt.phonemes)} phonemes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
