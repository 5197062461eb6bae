"""Phones with times from real recordings, by pocketsphinx (US-English model shipped in its wheel).

:func:`phone_alignment` decodes the words with the language model, then force-aligns that word
sequence to the audio (two passes: words, then phones; very wide beams, which the aligner needs)
and returns ARPAbet phones with their times. When alignment fails it falls back to plain phone
recognition (:func:`recognise_phones`), which is less accurate.
"""

from __future__ import annotations

import os

import numpy as np

SR = 16_000
FRAME_S = 0.01  # pocketsphinx frame shift


def _model() -> dict[str, str]:
    from pocketsphinx import get_model_path

    root = os.path.join(get_model_path(), "en-us")
    return {
        "hmm": os.path.join(root, "en-us"),
        "lm": os.path.join(root, "en-us.lm.bin"),
        "dict": os.path.join(root, "cmudict-en-us.dict"),
        "phone_lm": os.path.join(root, "en-us-phone.lm.bin"),
    }


def _pcm(audio: np.ndarray) -> bytes:
    return (np.clip(np.asarray(audio, dtype=np.float32), -1, 1) * 32767).astype("<i2").tobytes()


def recognise_words(audio: np.ndarray) -> str:
    """Best word hypothesis (lower case, no fillers) of 16 kHz speech."""
    from pocketsphinx import Decoder

    m = _model()
    dec = Decoder(hmm=m["hmm"], lm=m["lm"], dict=m["dict"], loglevel="FATAL")
    dec.start_utt()
    dec.process_raw(_pcm(audio), full_utt=True)
    dec.end_utt()
    hyp = dec.hyp()
    return hyp.hypstr if hyp is not None else ""


def align(audio: np.ndarray, text: str) -> list[tuple[float, float, str]]:
    """Force-align ``text`` to the audio → ``(start_s, end_s, ARPAbet phone)``; [] on failure."""
    from pocketsphinx import Decoder

    if not text.strip():
        return []
    m = _model()
    dec = Decoder(hmm=m["hmm"], dict=m["dict"], loglevel="FATAL", beam=1e-100, pbeam=1e-100, wbeam=1e-80,
                  bestpath=False)
    pcm = _pcm(audio)
    try:
        dec.set_align_text(text)
        dec.start_utt()
        dec.process_raw(pcm, full_utt=True)
        dec.end_utt()
        dec.set_alignment()
        dec.start_utt()
        dec.process_raw(pcm, full_utt=True)
        dec.end_utt()
        words = dec.get_alignment()
    except (RuntimeError, ValueError, KeyError):
        return []
    if words is None:
        return []
    return [(p.start * FRAME_S, (p.start + p.duration) * FRAME_S, p.name) for w in words for p in w]


def recognise_phones(audio: np.ndarray) -> list[tuple[float, float, str]]:
    """Phone recognition with the phone language model → ``(start_s, end_s, phone)``."""
    from pocketsphinx import Decoder

    m = _model()
    dec = Decoder(hmm=m["hmm"], allphone=m["phone_lm"], lw=2.0, pip=0.3, beam=1e-200, pbeam=1e-20,
                  loglevel="FATAL")
    dec.start_utt()
    dec.process_raw(_pcm(audio), full_utt=True)
    dec.end_utt()
    return [(s.start_frame * FRAME_S, (s.end_frame + 1) * FRAME_S, s.word) for s in dec.seg()]


def phone_alignment(audio: np.ndarray) -> tuple[list[tuple[float, float, str]], str]:
    """Phones of real speech: word decoding + forced alignment, else phone recognition.
    Returns ``(phones, method)``."""
    words = recognise_words(audio)
    phones = align(audio, words)
    if phones:
        return phones, f"forced alignment of the decoded words: {words!r}"
    return recognise_phones(audio), "phone recognition (alignment failed)"
