"""Speech and singing synthesis (espeak-ng through ctypes, sox): audio + phoneme alignment."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from talkinghead import speech
from talkinghead.errors import InputError

pytestmark = pytest.mark.skipif(not speech.available(), reason="espeak-ng's library (libespeak-ng1) is not installed")


def _check_alignment(utt: speech.Utterance) -> None:
    starts = [s for s, _, _ in utt.phonemes]
    assert all(b > a for a, b in zip(starts, starts[1:], strict=False)), "phoneme start times must increase"
    assert all(e > s for s, e, _ in utt.phonemes)
    assert all(utt.phonemes[i][1] <= utt.phonemes[i + 1][0] + 1e-6 for i in range(len(utt.phonemes) - 1))
    assert utt.phonemes[0][0] == 0.0
    assert utt.phonemes[-1][1] == pytest.approx(utt.duration, abs=0.02)


def test_synthesize_gives_audio_and_increasing_phoneme_times():
    utt = speech.synthesize("Bob met Mary by the sea.", voice="en-us", rate=160)
    assert utt.audio.dtype == np.float32 and utt.audio.ndim == 1
    assert 0.8 < utt.duration < 4.0
    assert 0.01 < float(np.abs(utt.audio).max()) <= 1.0
    _check_alignment(utt)
    symbols = [p for _, _, p in utt.phonemes]
    assert symbols.count("b") >= 2 and symbols.count("m") >= 2
    # the phonemes are where the sound is: the first vowel is louder than the leading silence
    vowel = next((s, e) for s, e, p in utt.phonemes if speech.is_vowel(p))
    seg = utt.audio[int(vowel[0] * 16000) : int(vowel[1] * 16000)]
    assert np.sqrt(np.mean(seg**2)) > 10 * np.sqrt(np.mean(utt.audio[:80] ** 2) + 1e-12)


def test_rate_and_ssml_pause_change_timing():
    slow = speech.synthesize("one two three four", rate=100)
    fast = speech.synthesize("one two three four", rate=300)
    assert slow.duration > 1.8 * fast.duration
    paused = speech.synthesize('one <break time="800ms"/> two', ssml=True)
    gaps = [e - s for s, e, p in paused.phonemes if p == speech.SILENCE]
    assert max(gaps) > 0.7
    _check_alignment(paused)


def test_plain_text_is_escaped_not_parsed():
    utt = speech.synthesize("a < b & c > d")
    assert utt.duration > 0.5
    _check_alignment(utt)


def test_errors_are_user_messages():
    with pytest.raises(InputError, match="non-empty"):
        speech.synthesize("   ")
    with pytest.raises(InputError, match="voice"):
        speech.synthesize("hello", voice="no-such-voice-xyz")
    with pytest.raises(InputError, match="rate"):
        speech.synthesize("hello", rate=5)


def test_threads_get_their_own_results():
    texts = ["The cat sat on the mat.", "Purple monkeys bounce by the pool."]
    expected = [speech.synthesize(t) for t in texts]
    results: dict[tuple[int, int], speech.Utterance] = {}

    def work(i: int) -> None:
        for k in range(3):
            results[i, k] = speech.synthesize(texts[i])

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for (i, _), utt in results.items():
        # same phonemes and (to espeak's few-sample cycle jitter) the same length as alone
        assert [p for _, _, p in utt.phonemes] == [p for _, _, p in expected[i].phonemes]
        assert utt.duration == pytest.approx(expected[i].duration, abs=0.03)


def test_sing_holds_vowels_on_pitch():
    notes = [speech.Note("la", 57, 1.2), speech.Note("oh", 64, 1.5, envelope="swell", rest=0.2)]
    utt = speech.sing(notes, voice="en-us", vibrato_cents=0.0)
    _check_alignment(utt)
    vowels = [(s, e, p) for s, e, p in utt.phonemes if speech.is_vowel(p)]
    assert len(vowels) >= 2
    for (s, e, _), note in zip(vowels, notes, strict=False):
        assert e - s > 0.7 * note.duration  # sustained
        f0 = speech.estimate_f0(utt.audio[int(s * 16000) : int(e * 16000)])
        cents = 1200 * np.log2(f0 / speech.midi_to_hz(note.midi))
        assert abs(cents) < 60, f"sung {f0:.1f} Hz for MIDI {note.midi}"
    assert 2.7 < utt.duration < 3.8


def test_vibrato_modulates_pitch():
    t = np.arange(16000) / 16000
    tone = np.sin(2 * np.pi * 220 * t).astype(np.float32)
    wobbly = speech.vibrato(tone, rate_hz=5.0, depth_cents=80.0, onset_s=0.0)
    f0s = [speech.estimate_f0(wobbly[i : i + 1600]) for i in range(0, 14400, 800)]
    assert max(f0s) - min(f0s) > 10.0  # ±80 cents around 220 Hz is ±10 Hz
    assert speech.estimate_f0(tone) == pytest.approx(220, rel=0.02)
