"""Phone posteriors from pocketsphinx's US-English acoustic model: a fixed, speaker-independent
layer of the audio encoder (:class:`talkinghead.motion.AudioEncoder` with ``MotionConfig.phones``).

The motion generator's own spectral input is learned from few voices (espeak and one real
speaker). pocketsphinx's ``en-us`` model (shipped in its wheel; trained by CMU Sphinx / Alpha
Cephei on many US-English speakers) tells phones apart across voices and channels. Its
semi-continuous ("PTM") Gaussians are evaluated here on the generator's own log-mel input, so
the audio front end, the inference windows and the training batches stay as they are:

* **Cepstra** — sphinx's 25 mel filters (130–6800 Hz, unit area) are approximated from the 80
  Slaney bands by a non-negative least-squares map on the FFT bins; log, orthonormal DCT-II to 13
  coefficients, sinusoidal lifter 22 (the model's ``feat.params``).
* **CMN** — the mean cepstrum of the sequence's window centres is subtracted (sphinx's ``-cmn
  batch``: the utterance mean, which removes the speaker's and the channel's long-term spectrum).
* **Features** ``1s_c_d_dd`` at sphinx's 100 frames/s: ``c``, ``Δ = c(t+2) − c(t−2)``,
  ``ΔΔ = Δ(t+1) − Δ(t−1)``, read from the 120 Hz window by linear interpolation; three streams of 13.
* **Scores** — each phone's mixture over its own codebook of 128 diagonal Gaussians per stream
  (PTM: one codebook per phone; the weights are the mean of its three states' CI senone
  weights), approximated by its best weighted Gaussian as fast GMM decoders do; streams summed.
  Scaled by ``acoustic_scale`` (the usual acoustic weight) and normalised into posteriors over
  the 42 phones. Evaluated at the window centre (``spread`` adds mel frames around it, averaged):
  one 42-d phone posterior per output frame. No trainable weights, and no gradient is needed.

The Gaussians are buffers of the generator (saved in its weights file), read once at training
time from the installed pocketsphinx by :func:`read_pocketsphinx_model`; inference does not need
pocketsphinx. The acoustic model is © Alpha Cephei Inc. / Carnegie Mellon University, BSD-style
licence (see the model card).
"""

from __future__ import annotations

import math
import os
import struct
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from talkinghead.features import DEFAULT_MEL, MelConfig, mel_filterbank

N_PHONES = 42  # pocketsphinx en-us CI phones (incl. SIL and the fillers +NSN+, +SPN+)
N_STATES = 3  # emitting states per phone
N_STREAMS = 3  # c, Δ, ΔΔ
N_CEP = 13
N_DENSITY = 128  # Gaussians per codebook (one codebook per phone)
N_FILTERS = 25
LOWER_HZ, UPPER_HZ = 130.0, 6800.0  # feat.params
LIFTER = 22
SPHINX_RATE = 100.0  # sphinx frames per second
LOG_WEIGHT_STEP = 1024 * math.log(1.0001)  # sendump: weight = exp(−q · this) (logmath base 1.0001, 10-bit shift)
PHONES = ("+NSN+", "+SPN+", "AA", "AE", "AH", "AO", "AW", "AY", "B", "CH", "D", "DH", "EH", "ER", "EY", "F", "G",
          "HH", "IH", "IY", "JH", "K", "L", "M", "N", "NG", "OW", "OY", "P", "R", "S", "SH", "SIL", "T", "TH",
          "UH", "UW", "V", "W", "Y", "Z", "ZH")


@dataclass(frozen=True)
class PocketsphinxModel:
    """The context-independent part of a PTM acoustic model, as arrays."""

    means: np.ndarray  # N_STREAMS×N_PHONES×N_DENSITY×13 Gaussian means
    variances: np.ndarray  # same shape, diagonal variances (floored)
    log_weights: np.ndarray  # N_STREAMS×N_PHONES×N_STATES×N_DENSITY log mixture weights of the CI senones


def _s3_floats(path: str) -> tuple[tuple[int, ...], np.ndarray]:
    """A Sphinx-3 binary Gaussian file: (n_mgau, n_feat, n_density, veclen...) and its floats."""
    data = open(path, "rb").read()
    body = data.index(b"endhdr\n") + len(b"endhdr\n")
    if struct.unpack("<I", data[body:body + 4])[0] != 0x11223344:
        raise ValueError(f"{path}: not a little-endian Sphinx-3 file")
    n_mgau, n_feat, n_density = struct.unpack("<3i", data[body + 4:body + 16])
    veclen = struct.unpack(f"<{n_feat}i", data[body + 16:body + 16 + 4 * n_feat])
    start = body + 16 + 4 * n_feat
    (count,) = struct.unpack("<i", data[start:start + 4])
    values = np.frombuffer(data, "<f4", count=count, offset=start + 4)
    return (n_mgau, n_feat, n_density, *veclen), values


def _sendump(path: str, n_senones_ci: int) -> np.ndarray:
    """pocketsphinx's 8-bit ``sendump``: ``N_STREAMS×N_DENSITY×n_senones`` quantised −log weights,
    of which the first ``n_senones_ci`` senones (the CI ones) are returned."""
    data = open(path, "rb").read()
    pos, header = 0, {}
    while True:
        (n,) = struct.unpack("<i", data[pos:pos + 4])
        pos += 4
        if n == 0:
            break
        text = data[pos:pos + n].rstrip(b"\0").decode("ascii", "replace")
        key, _, value = text.partition(" ")
        header[key] = value
        pos += n
    if header.get("cluster_count", "0") != "0":
        raise ValueError(f"{path}: clustered (4-bit) mixture weights are not supported")
    rows, cols = struct.unpack("<2i", data[pos:pos + 8])
    q = np.frombuffer(data, np.uint8, count=N_STREAMS * rows * cols, offset=pos + 8).reshape(N_STREAMS, rows, cols)
    return q[:, :, :n_senones_ci]


def read_pocketsphinx_model(model_dir: str | None = None) -> PocketsphinxModel:
    """The CI Gaussians and mixture weights of pocketsphinx's ``en-us`` model (the directory in
    its wheel by default). Asserts the layout this module expects."""
    if model_dir is None:
        from pocketsphinx import get_model_path

        model_dir = os.path.join(get_model_path(), "en-us", "en-us")
    shape, means = _s3_floats(os.path.join(model_dir, "means"))
    vshape, variances = _s3_floats(os.path.join(model_dir, "variances"))
    want = (N_PHONES, N_STREAMS, N_DENSITY, N_CEP, N_CEP, N_CEP)
    if shape != want or vshape != want:
        raise ValueError(f"expected a PTM model with layout {want}, got {shape} / {vshape}")
    means = means.reshape(N_PHONES, N_STREAMS, N_DENSITY, N_CEP).transpose(1, 0, 2, 3)
    variances = np.maximum(variances.reshape(N_PHONES, N_STREAMS, N_DENSITY, N_CEP).transpose(1, 0, 2, 3), 1e-4)
    q = _sendump(os.path.join(model_dir, "sendump"), N_PHONES * N_STATES)  # S×G×126
    log_w = -q.astype(np.float64) * LOG_WEIGHT_STEP
    log_w = log_w.reshape(N_STREAMS, N_DENSITY, N_PHONES, N_STATES).transpose(0, 2, 3, 1)  # S×P×3×G
    total = np.exp(log_w).sum(-1)
    if not np.allclose(total, 1.0, atol=0.1):  # 8-bit quantisation leaves sums of 0.94–0.97
        raise ValueError(f"mixture weights do not sum to one (range {total.min():.3f}–{total.max():.3f})")
    return PocketsphinxModel(means=means.astype(np.float32), variances=variances.astype(np.float32),
                             log_weights=log_w.astype(np.float32))


def sphinx_filterbank(n_fft: int = 512, sample_rate: int = 16_000) -> np.ndarray:
    """``25 × (n_fft/2+1)`` sphinx mel filters: 2595·log10(1 + f/700) mel scale, edges rounded
    to FFT bins, unit area."""
    def mel(f):
        return 2595.0 * np.log10(1.0 + f / 700.0)

    def hz(m):
        return 700.0 * (10.0 ** (m / 2595.0) - 1.0)

    step = sample_rate / n_fft
    lo, hi = mel(LOWER_HZ), mel(UPPER_HZ)
    edges = hz(lo + (hi - lo) / (N_FILTERS + 1) * np.arange(N_FILTERS + 2))
    edges = np.round(edges / step) * step
    freqs = np.arange(n_fft // 2 + 1) * step
    fb = np.zeros((N_FILTERS, len(freqs)))
    for i in range(N_FILTERS):
        left, centre, right = edges[i], edges[i + 1], edges[i + 2]
        up = (freqs - left) / max(centre - left, 1e-9)
        down = (right - freqs) / max(right - centre, 1e-9)
        fb[i] = np.clip(np.minimum(up, down), 0.0, None) * 2.0 / (right - left)
    return fb


def band_map(mel: MelConfig = DEFAULT_MEL) -> np.ndarray:
    """``80 × 25`` non-negative map from the Slaney mel energies to sphinx's filter energies
    (least squares on the FFT bins)."""
    from scipy.optimize import nnls

    slaney = mel_filterbank(mel)  # 80×257
    target = sphinx_filterbank(mel.n_fft, mel.sample_rate)  # 25×257
    return np.stack([nnls(slaney.T, row)[0] for row in target], axis=1)


def dct_lifter() -> np.ndarray:
    """``25 × 13`` orthonormal DCT-II to 13 cepstra, times sphinx's lifter."""
    j = np.arange(N_FILTERS) + 0.5
    i = np.arange(N_CEP)
    basis = np.cos(np.pi * i[None, :] * j[:, None] / N_FILTERS) * math.sqrt(2.0 / N_FILTERS)
    basis[:, 0] = math.sqrt(1.0 / N_FILTERS)
    lifter = 1.0 + LIFTER / 2.0 * np.sin(np.pi * i / LIFTER)
    return basis * lifter[None, :]


def _interp_rows(positions: np.ndarray, window: int) -> np.ndarray:
    """``len(positions) × window`` linear-interpolation weights at fractional window positions."""
    out = np.zeros((len(positions), window))
    for r, p in enumerate(positions):
        p = float(np.clip(p, 0, window - 1))
        lo = min(int(math.floor(p)), window - 2)
        out[r, lo], out[r, lo + 1] = 1.0 - (p - lo), p - lo
    return out


def stream_taps(context: int, spread: int, mel_rate: float) -> np.ndarray:
    """``N_STREAMS × (2·spread+1) × (2·context+1)`` time taps over the window: for each evaluation
    position (the centre ± ``spread`` mel frames), the static cepstrum, Δ and ΔΔ at sphinx's
    frame spacing."""
    window = 2 * context + 1
    k = mel_rate / SPHINX_RATE  # one sphinx frame in mel frames (1.2)
    rows = []
    for offset in range(-spread, spread + 1):
        at = {d: _interp_rows(np.array([context + offset + d * k]), window)[0] for d in (-3, -2, -1, 0, 1, 2, 3)}
        delta = at[2] - at[-2]
        ddelta = (at[3] - at[-1]) - (at[1] - at[-3])
        rows.append(np.stack([at[0], delta, ddelta]))
    if context < 3 * k + spread + 1:
        raise ValueError(f"context {context} is too short for ΔΔ features")
    return np.stack(rows, axis=1)  # S×P×W


class PhonePosteriors(nn.Module):
    """Log-mel windows ``B×T×W×80`` → phone posteriors ``B×T×42`` (fixed: no trainable weights).

    Buffers: ``band_map`` (80×25), ``dct`` (25×13), ``taps`` (3×P×W) and ``gauss`` (3×27×5376:
    per stream the weighted Gaussians of the 42 phones as a linear map of ``[x², x, 1]``,
    zero until :meth:`load_model` fills it)."""

    def __init__(self, *, context: int, spread: int, acoustic_scale: float,
                 mel: MelConfig = DEFAULT_MEL) -> None:
        super().__init__()
        if spread < 0 or acoustic_scale <= 0:
            raise ValueError("PhonePosteriors needs spread ≥ 0 and acoustic_scale > 0")
        self.acoustic_scale = acoustic_scale
        self.mel_floor = mel.silence_value
        self.register_buffer("band_map", torch.from_numpy(band_map(mel)).float())
        self.register_buffer("dct", torch.from_numpy(dct_lifter()).float())
        self.register_buffer("taps", torch.from_numpy(stream_taps(context, spread, mel.frame_rate)).float())
        # Per stream, the weighted Gaussians as one linear map of [x², x, 1]: log w + log N(x; μ, σ²)
        # = Σ(−½x²/σ² + xμ/σ²) + log w + log_norm − ½Σμ²/σ²
        self.register_buffer("gauss", torch.zeros(N_STREAMS, 2 * N_CEP + 1, N_PHONES * N_DENSITY))
        taps = self.taps.abs().sum((0, 1))
        used = torch.nonzero(taps > 0).flatten()
        self.span = (int(used[0]), int(used[-1]) + 1)  # window frames the taps read
        self.centre = context - self.span[0]  # the centre frame inside the span

    def load_model(self, model: PocketsphinxModel) -> None:
        """Fill the Gaussian buffers from the acoustic model: each phone's mixture is the mean of
        its three states' mixtures over the phone's codebook."""
        mu = torch.from_numpy(model.means).double().flatten(1, 2)  # S×(42·128)×13
        iv = 1.0 / torch.from_numpy(model.variances).double().flatten(1, 2)
        log_norm = -0.5 * (N_CEP * math.log(2 * math.pi) - iv.log().sum(-1))  # S×(42·128)
        log_w = torch.from_numpy(model.log_weights).double().exp().mean(2).log().flatten(1)  # S×(42·128)
        const = log_w + log_norm - 0.5 * (mu * mu * iv).sum(-1)
        self.gauss.copy_(torch.cat([-0.5 * iv, mu * iv, const[..., None]], dim=-1).transpose(1, 2).float())

    def cepstra(self, feats: torch.Tensor) -> torch.Tensor:
        """``B×T×W×80`` log-mel → ``B×T×W×13`` sphinx-style cepstra (before CMN)."""
        energy = feats.exp() @ self.band_map  # B×T×W×25
        return torch.log(energy.clamp(min=math.exp(self.mel_floor))) @ self.dct

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        b, t, _, _ = feats.shape
        cep = self.cepstra(feats[:, :, self.span[0]:self.span[1]])  # B×T×span×13
        cep = cep - cep[:, :, self.centre].mean(1)[:, None, None, :]  # CMN over the sequence (B×1×1×13)
        taps = self.taps[..., self.span[0]:self.span[1]]
        x = torch.einsum("spw,btwc->sbtpc", taps, cep).reshape(N_STREAMS, -1, N_CEP)  # S×(B·T·P)×13
        post = torch.cat([self.posteriors(part) for part in x.split(self.CHUNK, dim=1)])  # (B·T·P)×42
        return post.view(b, t, -1, N_PHONES).mean(2)  # averaged over the positions: B×T×42

    CHUNK = 4096  # feature vectors scored at once (bounds the S×N×5376 score table)

    def phone_scores(self, x: torch.Tensor) -> torch.Tensor:
        """Stream features ``S×N×13`` → log-likelihood of each phone ``N×42``: per stream its best
        weighted Gaussian (the usual fast approximation of the mixture's sum), streams summed."""
        z = torch.cat([x * x, x, torch.ones_like(x[..., :1])], dim=-1)  # S×N×27
        return (z @ self.gauss).view(N_STREAMS, -1, N_PHONES, N_DENSITY).amax(-1).sum(0)

    def posteriors(self, x: torch.Tensor) -> torch.Tensor:
        """Stream features ``S×N×13`` → phone posteriors ``N×42`` (flat prior)."""
        return torch.softmax(self.acoustic_scale * self.phone_scores(x), dim=-1)
