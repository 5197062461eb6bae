"""Audio encoder + motion generator (paper §3.1): log-mel windows → 68×3 landmark displacements.

The paper's "Intermediate Audio-driven Motion" φ_mg: per video frame, the displacement of the 68
landmarks from the neutral face in the canonical frame (inter-ocular units, see
:mod:`talkinghead.geometry`), so ``canonical_face() + gen(feats)`` is the motion.

* :class:`AudioEncoder` sees, for each output frame, a window of ±0.2 s of 80-d log-mel frames at
  120 Hz (:func:`talkinghead.features.audio_features`) and returns one feature vector per frame.
  Frames are encoded independently, so the frame rate can be anything (25, 30, 60 fps).
  With ``MotionConfig.phones`` the same windows also go through a fixed copy of pocketsphinx's
  US-English acoustic model (:mod:`talkinghead.acoustic`), and the frame's phone posteriors are
  added to the feature: phone evidence learned from many voices, where the spectral path has
  seen few. Files without the field load as spectral-only generators.
* :class:`MotionGenerator` runs a bidirectional GRU over the per-frame features (longer context:
  anticipation, smoothness, loudness relative to the utterance) and a linear head to the
  204 coordinates. The head's output is scaled by a fixed per-coordinate scale, so a small
  change of weights is a small change of motion (helps the test-time fine-tuning of §4).

Trained by :mod:`talkinghead.train` (synthetic speech and singing with exact phoneme timing and a
measured viseme model); weights ``weights/motion_generator.safetensors`` (see its model card).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from talkinghead.acoustic import N_PHONES, PhonePosteriors
from talkinghead.features import DEFAULT_MEL, MelConfig, frame_windows, utterance_mel
from talkinghead.features import audio_features as _audio_features
from talkinghead.geometry import N_POINTS

WEIGHTS_NAME = "motion_generator"


@dataclass(frozen=True)
class MotionConfig:
    """Architecture of the audio encoder + motion generator."""

    n_mels: int = 80  # log-mel bands of the input
    context: int = 24  # mel frames each side of an output frame (window 2·context+1)
    mel_dim: int = 32  # per-mel-frame projection of the 80 bands
    channels: tuple[int, int, int] = (32, 64, 96)  # strided temporal convs over the window
    feature_dim: int = 128  # audio feature per output frame (encoder output)
    hidden: int = 96  # GRU units per direction
    layers: int = 2  # GRU layers
    dropout: float = 0.1  # between GRU layers and before the head (training only)
    out_scale: float = 0.1  # head output × this = displacement (inter-ocular units)
    utterance_norm: bool = False  # remove the utterance's mean spectral shape from the input (see spectral_shape)
    phones: bool = False  # add each frame's phone posteriors (pocketsphinx's acoustic model, talkinghead.acoustic)
    acoustic_scale: float = 0.1  # acoustic weight of the phone posteriors (scores × this before the softmax)
    spectral_dropout: float = 0.0  # training only: share of sequences without the spectral feature (phones only)

    def __post_init__(self) -> None:
        if self.n_mels < 1 or self.context < 1 or self.feature_dim < 1 or self.hidden < 1 or self.layers < 1:
            raise ValueError("MotionConfig sizes must be positive")
        if len(self.channels) != 3:
            raise ValueError("MotionConfig.channels needs three conv widths")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError("dropout must be in [0, 1)")
        if self.acoustic_scale <= 0:
            raise ValueError("acoustic_scale must be positive")
        if not 0.0 <= self.spectral_dropout < 1.0 or (self.spectral_dropout > 0 and not self.phones):
            raise ValueError("spectral_dropout must be in [0, 1) and needs the phone input")

    @property
    def window(self) -> int:
        return 2 * self.context + 1

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @staticmethod
    def from_json(text: str) -> MotionConfig:
        data = json.loads(text)
        data["channels"] = tuple(data["channels"])
        return MotionConfig(**data)  # fields added later take their defaults in older files


ACTIVE_RANGE = 30.0 * math.log(10.0) / 10.0  # 30 dB in natural-log power units


def spectral_shape(frames: torch.Tensor) -> torch.Tensor:
    """The utterance's mean spectral shape: ``B×T×80`` log-mel frames → ``B×80``.

    The per-band mean over the active frames (level within 30 dB of the loudest), minus its mean
    over the bands. Subtracting it removes what is constant through an utterance — the speaker's
    long-term spectrum (vocal tract, voice quality) and the channel (microphone, room EQ) — and
    keeps the level (the level is already set per utterance by ``audio.normalise_level``, and
    loudness carries mouth opening) and everything that changes from frame to frame. Digital
    silence has a flat shape (0)."""
    level = frames.mean(-1)  # B×T
    active = (level >= level.amax(1, keepdim=True) - ACTIVE_RANGE).to(frames.dtype)  # B×T
    mean = (frames * active[..., None]).sum(1) / active.sum(1, keepdim=True).clamp(min=1.0)  # B×80
    return mean - mean.mean(-1, keepdim=True)


def _window_after_convs(window: int) -> int:
    for _ in range(3):  # three stride-2 convs with "same" padding
        window = (window + 1) // 2
    return window


class AudioEncoder(nn.Module):
    """Audio encoder: a window of log-mel frames around each video frame → one feature vector."""

    def __init__(self, *, config: MotionConfig) -> None:
        super().__init__()
        c = config
        # Fixed input normalisation (per mel band), set from the training data.
        self.register_buffer("mel_mean", torch.zeros(c.n_mels))
        self.register_buffer("mel_std", torch.ones(c.n_mels))
        self.project = nn.Linear(c.n_mels, c.mel_dim)
        c1, c2, c3 = c.channels
        self.convs = nn.Sequential(
            nn.Conv1d(c.mel_dim, c1, 5, stride=2, padding=2), nn.GELU(),
            nn.Conv1d(c1, c2, 5, stride=2, padding=2), nn.GELU(),
            nn.Conv1d(c2, c3, 3, stride=2, padding=1), nn.GELU(),
        )
        self.out = nn.Linear(c3 * _window_after_convs(c.window), c.feature_dim)
        if c.phones:  # speaker-independent phone evidence, added to the spectral feature
            self.phones = PhonePosteriors(context=c.context, spread=0, acoustic_scale=c.acoustic_scale)
            self.phone_norm = nn.LayerNorm(N_PHONES)
            self.phone_out = nn.Linear(N_PHONES, c.feature_dim)
        self.config = c

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        b, t, w, m = feats.shape
        if w != self.config.window or m != self.config.n_mels:
            want = f"B×T×{self.config.window}×{self.config.n_mels}"
            raise ValueError(f"expected {want} features, got {tuple(feats.shape)}")
        spectrum = feats
        if self.config.utterance_norm:  # the utterance's spectral shape from the window centres
            spectrum = feats - spectral_shape(feats[:, :, self.config.context])[:, None, None, :]
        x = (spectrum - self.mel_mean) / self.mel_std  # B×T×W×80
        x = self.project(x.reshape(b * t, w, m))  # (B·T)×W×mel_dim
        x = self.convs(x.transpose(1, 2))  # (B·T)×mel_dim×W → (B·T)×C3×W/8
        out = self.out(x.flatten(1)).reshape(b, t, -1)  # B×T×feature_dim
        if self.training and self.config.spectral_dropout > 0:
            out = out * (torch.rand(b, 1, 1, device=out.device) >= self.config.spectral_dropout).to(out)
        if self.config.phones:
            with torch.no_grad():  # a fixed layer on the data: nothing to learn, no gradient needed
                post = self.phones(feats)  # B×T×42
            out = out + self.phone_out(self.phone_norm(post.clamp(min=1e-6).log()))
        return out


class MotionGenerator(nn.Module):
    """Audio encoder + motion generator: ``B×T×W×80`` log-mel windows → ``B×T×68×3`` displacement."""

    def __init__(self, *, config: MotionConfig = MotionConfig()) -> None:
        super().__init__()
        c = config
        self.config = c
        self.encoder = AudioEncoder(config=c)
        self.norm = nn.LayerNorm(c.feature_dim)
        self.gru = nn.GRU(
            c.feature_dim, c.hidden, num_layers=c.layers, batch_first=True, bidirectional=True,
            dropout=c.dropout if c.layers > 1 else 0.0,
        )
        self.drop = nn.Dropout(c.dropout)
        self.head = nn.Linear(2 * c.hidden, N_POINTS * 3)
        self.register_buffer("out_scale", torch.full((N_POINTS * 3,), c.out_scale))

    def encode(self, feats: torch.Tensor) -> torch.Tensor:
        """Everything up to the output layer: audio encoder + recurrent motion state, ``B×T×2H``.

        This is what the test-time style transfer computes once per request and caches."""
        h, _ = self.gru(self.norm(self.encoder(feats)))  # B×T×W×80 → B×T×D → B×T×2H
        return h

    def decode(self, h: torch.Tensor) -> torch.Tensor:
        """Output layer: motion state ``B×T×2H`` → displacement ``B×T×68×3`` (inter-ocular units)."""
        d = self.head(self.drop(h)) * self.out_scale  # B×T×204
        return d.reshape(h.shape[0], h.shape[1], N_POINTS, 3)

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(feats))

    def style_parameters(self) -> list[nn.Parameter]:
        """What the test-time style transfer re-weights: the output layer, which maps the motion
        state to landmark displacements and so sets the motion's amplitude, mean shape and the
        shape of each mouth movement. The audio encoder and the recurrent state stay as trained
        (they carry the timing, i.e. the lip sync) and are computed once per request, which keeps
        the transfer within seconds on a CPU."""
        return list(self.head.parameters())


def audio_features(audio16k: np.ndarray, fps: float = 25.0, mel: MelConfig = DEFAULT_MEL) -> torch.Tensor:
    """``1×T×(2·context+1)×80`` float32 log-mel windows, ``T = round(duration·fps)``: the
    generator's input (see :mod:`talkinghead.features`)."""
    return _audio_features(audio16k, fps, mel)


@dataclass(frozen=True)
class Chunking:
    """How long audio is encoded: chunks of ``seconds`` with ``overlap`` seconds of extra audio
    on each side, the two chunks' motion states cross-faded linearly over the ``2·overlap``
    around each border. The recurrent state forgets where it started within a couple of
    seconds, so with 2 s of context both chunks hold nearly the motion of one pass over the
    whole (``tests/test_motion.py`` measures the difference); memory is that of one chunk."""

    seconds: float = 30.0
    overlap: float = 2.0

    def __post_init__(self) -> None:
        if not 0 < 2 * self.overlap < self.seconds:
            raise ValueError(f"need 0 < 2·overlap < seconds, got {self.overlap} and {self.seconds}")


def encode_audio(
    gen: MotionGenerator, audio16k: np.ndarray, fps: float, *, chunking: Chunking = Chunking(),
    mel: MelConfig = DEFAULT_MEL,
) -> torch.Tensor:
    """The generator's motion state (:meth:`MotionGenerator.encode`) for a whole utterance of any
    length, ``1×T×2H``, ``T = round(duration·fps)``. Audio up to one chunk long is encoded in one
    pass; longer audio a chunk at a time (see :class:`Chunking`), the level normalised over
    the whole utterance as for one pass."""
    spectrum, n_out = utterance_mel(audio16k, fps, mel)
    device = next(gen.parameters()).device
    size = max(1, round(chunking.seconds * fps))
    overlap = round(chunking.overlap * fps)
    with torch.no_grad():
        if n_out <= size + overlap:
            return gen.encode(frame_windows(spectrum, n_out, fps, mel)[None].to(device))
        states: torch.Tensor | None = None
        t = torch.arange(n_out, dtype=torch.float32)
        for a in range(0, n_out, size):
            b = min(n_out, a + size)
            lo, hi = max(0, a - overlap), min(n_out, b + overlap)
            h = gen.encode(frame_windows(spectrum, hi - lo, fps, mel, start=lo)[None].to(device))  # 1×(hi−lo)×2H
            # Trapezoid weight: 1 inside the chunk, ramps of 2·overlap frames centred on its
            # borders (the neighbour's ramp is the complement, so the weights sum to one).
            w = torch.ones(hi - lo)
            if a > 0:
                w = torch.minimum(w, ((t[lo:hi] - (a - overlap) + 0.5) / (2 * overlap)).clamp(0, 1))
            if b < n_out:
                w = torch.minimum(w, (((b + overlap) - t[lo:hi] - 0.5) / (2 * overlap)).clamp(0, 1))
            if states is None:
                states = h.new_zeros(1, n_out, h.shape[-1])
            states[:, lo:hi] += w.to(h)[None, :, None] * h
        assert states is not None
        return states


def save_motion_generator(gen: MotionGenerator, path: str | Path, *, summary: dict | None = None) -> Path:
    """Write the weights as float32 safetensors with the config (and an optional training summary)
    in the file's metadata."""
    from safetensors.torch import save_file

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().to("cpu", torch.float32).contiguous() for k, v in gen.state_dict().items()}
    meta = {"config": gen.config.to_json(), "format": "talkinghead.motion_generator/1"}
    if summary is not None:
        meta["summary"] = json.dumps(summary, sort_keys=True)
    save_file(tensors, str(path), metadata=meta)
    return path


def read_config(path: str | Path) -> MotionConfig:
    """The :class:`MotionConfig` stored in a weights file's metadata."""
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as fh:
        meta = fh.metadata() or {}
    if "config" not in meta:
        raise ValueError(f"{path} has no motion generator config in its metadata")
    return MotionConfig.from_json(meta["config"])


def load_motion_generator(
    device: str | torch.device = "cpu", *, path: str | Path | None = None, allow_download: bool = True
) -> MotionGenerator:
    """The shipped motion generator in eval mode: ``weights/motion_generator.safetensors`` (or the
    Hub), loaded strictly by :func:`talkinghead.weights.load_module`. ``path`` loads another file."""
    from talkinghead import weights

    if path is None:
        path = weights.resolve(WEIGHTS_NAME, allow_download=allow_download)
    gen = MotionGenerator(config=read_config(path))  # the architecture travels in the file's metadata
    weights.load_module(gen, WEIGHTS_NAME, path=path)
    return gen.to(device).eval()
