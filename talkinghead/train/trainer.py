"""Training loop of the motion generator on the synthetic corpus.

Each step draws a batch of crops (random item, random start, one random frame rate per batch from
25/30/50/60 fps, 90 output frames), builds the log-mel windows around every output frame exactly
as :func:`talkinghead.features.frame_windows` does at inference (linear interpolation at the frame's
mel position, silence outside the item), and the target motion ``viseme weights @ viseme shapes``
at the same times. Loss (L_mg):

* position: L1 on the 68×3 displacement, points weighted (lips 1, jaw 0.5, the rest 0.1);
* velocity: L1 on frame-to-frame differences, in units per 1/25 s so frame rates compare;
* opening: L1 on the inner-lip gap (what lip sync is judged by — closures and openings);
* closure: the gap in excess of the target where the target is closed (silence, /m b p f v/).

Training crops get two SpecAugment-style frequency masks (robustness to real voices/channels).

Seeded: the same seed, corpus and thread count give the same weights.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import asdict, dataclass, replace

import numpy as np
import torch
from torch import nn

from talkinghead.acoustic import read_pocketsphinx_model
from talkinghead.features import DEFAULT_MEL
from talkinghead.geometry import INNER_LIP_PAIRS, INNER_LIPS, JAW, N_POINTS, OUTER_LIPS, canonical_face
from talkinghead.motion import MotionConfig, MotionGenerator, spectral_shape
from talkinghead.train.corpus import Corpus
from talkinghead.weights import load_state_partial

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation settings."""

    seed: int = 0  # torch and batch-sampling seed
    steps: int = 2000  # optimiser steps
    batch: int = 24  # crops per step
    frames: int = 90  # output frames per crop
    fps_choices: tuple[int, ...] = (25, 30, 50, 60)  # one drawn per step
    lr: float = 2e-3  # peak AdamW learning rate (cosine decay after warm-up)
    min_lr: float = 2e-5  # final learning rate
    warmup: int = 100  # linear warm-up steps
    weight_decay: float = 1e-4  # AdamW decoupled weight decay
    grad_clip: float = 1.0  # gradient-norm clip
    w_velocity: float = 1.0  # weight of the velocity term
    w_opening: float = 3.0  # weight of the inner-lip gap term
    w_closure: float = 1.5  # weight of the closure term (opening above a closed target)
    freq_masks: int = 2  # SpecAugment frequency masks per training crop
    real_batch: int = 0  # crops of real talking-face clips per step (0: synthetic only)
    real_frames: int = 75  # video frames per real crop (GRID clips are 75 frames at 25 fps)
    real_weight: float = 1.0  # weight of the real crops' loss against the synthetic crops'
    real_warp: float = 0.1  # real crops: mel axis warped by a random factor in 1 ± this (vocal tract length)
    real_tilt: float = 1.5  # real crops: random spectral tilt up to ± this (log units, band 0 to 79)
    threads: int = 1  # torch CPU threads (1: fastest per core on a shared machine)
    log_every: int = 50  # steps between log lines
    val_every: int = 250  # steps between validation passes


def point_weights() -> torch.Tensor:
    w = torch.full((N_POINTS,), 0.1)
    w[list(JAW)] = 0.5
    w[list(OUTER_LIPS + INNER_LIPS)] = 1.0
    return w


def inner_gap(points: torch.Tensor) -> torch.Tensor:
    """Inner-lip gap of ``...×68×3`` points (same definition as geometry.mouth_features)."""
    return sum((points[..., a, :] - points[..., b, :]).norm(dim=-1) for a, b in INNER_LIP_PAIRS) / 3.0


class Batcher:
    """Random crops of a :class:`Corpus` as (windows, target displacement)."""

    def __init__(self, corpus: Corpus, shapes: np.ndarray, *, context: int, seed: int) -> None:
        self.mel = torch.from_numpy(corpus.mel)  # float16, N×80
        self.weights = torch.from_numpy(corpus.weights)  # float16, N×V
        self.offsets = torch.from_numpy(corpus.offsets)
        self.lengths = self.offsets[1:] - self.offsets[:-1]
        self.shapes = torch.from_numpy(shapes.reshape(len(shapes), -1).astype(np.float32))  # V×204
        self.context = context
        self.rate = DEFAULT_MEL.frame_rate
        self.silence = DEFAULT_MEL.silence_value
        self.gen = torch.Generator().manual_seed(seed)

    def _rows(self, table: torch.Tensor, item: torch.Tensor, idx: torch.Tensor, fill: float | None) -> torch.Tensor:
        return _rows(table, self.offsets, self.lengths, item, idx, fill)

    def sample(self, batch: int, frames: int, fps: float, items: torch.Tensor | None = None,
               starts: torch.Tensor | None = None, freq_masks: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
        """(windows ``B×T×W×80``, target displacement ``B×T×68×3``). ``freq_masks`` bands of up to
        8 mel channels per crop are replaced by the crop's mean (SpecAugment-style)."""
        if items is None:
            items = torch.randint(0, len(self.lengths), (batch,), generator=self.gen)
        dur = self.lengths[items].double() / self.rate  # s
        span = frames / fps
        if starts is None:
            room = (dur - span).clamp(min=0.0)
            starts = torch.rand(batch, generator=self.gen, dtype=torch.float64) * room
        centre = (starts[:, None] + torch.arange(frames, dtype=torch.float64)[None, :] / fps) * self.rate  # B×T
        lo = centre.floor()
        frac = (centre - lo).float()[..., None, None]  # B×T×1×1, the same for the whole window
        offs = torch.arange(-self.context, self.context + 2)
        rows = self._rows(self.mel, items, lo.long()[..., None] + offs, self.silence)  # B×T×(W+1)×80
        windows = rows[..., :-1, :] * (1 - frac) + rows[..., 1:, :] * frac  # B×T×W×80
        windows = freq_mask(windows, self.gen, freq_masks)
        w = self._rows(self.weights, items, lo.long()[..., None] + torch.arange(2), None)  # B×T×2×V
        w = w[..., 0, :] * (1 - frac[..., 0, :]) + w[..., 1, :] * frac[..., 0, :]
        target = (w @ self.shapes).reshape(batch, frames, N_POINTS, 3)
        return windows, target


def augment_voice(windows: torch.Tensor, gen: torch.Generator, *, warp: float, tilt: float,
                  silence: float) -> torch.Tensor:
    """Another voice and channel for each crop of ``B×T×W×80`` log-mel windows: the mel axis
    warped by a factor in ``1 ± warp`` (a longer or shorter vocal tract moves the formants) and a
    spectral tilt up to ``± tilt`` (microphone/room), digital silence left as it is."""
    b, n_mels = windows.shape[0], windows.shape[-1]
    band = torch.arange(n_mels, dtype=torch.float32)
    factor = 1.0 + (torch.rand(b, generator=gen) * 2 - 1) * warp  # B
    pos = (band[None] * factor[:, None]).clamp(0, n_mels - 1.000001)  # B×80
    lo = pos.floor().long()
    frac = (pos - lo).view(b, 1, 1, n_mels)
    idx = lo.view(b, 1, 1, n_mels).expand(*windows.shape)
    warped = windows.gather(-1, idx) * (1 - frac) + windows.gather(-1, (idx + 1).clamp(max=n_mels - 1)) * frac
    slope = (torch.rand(b, generator=gen) * 2 - 1) * tilt  # B
    ramp = (band / (n_mels - 1) - 0.5)[None] * slope[:, None]  # B×80
    out = warped + ramp.view(b, 1, 1, n_mels)
    return torch.where(windows > silence + 0.5, out, windows)


class RealBatcher:
    """Random crops of a :class:`~talkinghead.train.realdata.RealCorpus` as (windows, target
    displacement) at each clip's own frame rate (all clips of one batch must share it)."""

    def __init__(self, corpus, *, context: int, seed: int) -> None:
        self.mel = torch.from_numpy(corpus.mel)  # float16, N_mel×80
        self.motion = torch.from_numpy(corpus.motion.reshape(len(corpus.motion), -1))  # float16, N×204
        self.mel_offsets = torch.from_numpy(corpus.mel_offsets)
        self.frame_offsets = torch.from_numpy(corpus.frame_offsets)
        self.lengths = self.frame_offsets[1:] - self.frame_offsets[:-1]
        self.mel_lengths = self.mel_offsets[1:] - self.mel_offsets[:-1]
        fps = np.unique(corpus.fps)
        if len(fps) != 1:
            raise ValueError(f"real clips at several frame rates {fps}: one RealBatcher per rate")
        self.fps = float(fps[0])
        self.context = context
        self.rate = DEFAULT_MEL.frame_rate
        self.silence = DEFAULT_MEL.silence_value
        self.gen = torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        return len(self.lengths)

    def sample(self, batch: int, frames: int, items: torch.Tensor | None = None, starts: torch.Tensor | None = None,
               warp: float = 0.0, tilt: float = 0.0, freq_masks: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
        """(windows ``B×T×W×80``, target ``B×T×68×3``); ``starts`` in frames (default random)."""
        if items is None:
            items = torch.randint(0, len(self.lengths), (batch,), generator=self.gen)
        frames = int(min(frames, int(self.lengths[items].min())))
        if starts is None:
            room = (self.lengths[items] - frames).clamp(min=0)
            starts = (torch.rand(batch, generator=self.gen) * (room + 1).float()).long().minimum(room)
        k = starts[:, None] + torch.arange(frames)[None]  # B×T frame indices in the clip
        centre = k.double() * (self.rate / self.fps)  # mel position of each frame
        lo = centre.floor()
        frac = (centre - lo).float()[..., None, None]
        offs = torch.arange(-self.context, self.context + 2)
        rows = _rows(self.mel, self.mel_offsets, self.mel_lengths, items, lo.long()[..., None] + offs, self.silence)
        windows = rows[..., :-1, :] * (1 - frac) + rows[..., 1:, :] * frac  # B×T×W×80
        if warp > 0 or tilt > 0:
            windows = augment_voice(windows, self.gen, warp=warp, tilt=tilt, silence=self.silence)
        windows = freq_mask(windows, self.gen, freq_masks)
        target = self.motion[(self.frame_offsets[items][:, None] + k).reshape(-1)].float()
        return windows, target.reshape(batch, frames, N_POINTS, 3)


def _rows(table: torch.Tensor, offsets: torch.Tensor, lengths: torch.Tensor, item: torch.Tensor, idx: torch.Tensor,
          fill: float | None) -> torch.Tensor:
    """Rows ``idx`` (``B×…`` local indices) of each batch item's part of ``table``; outside the
    item: ``fill`` (None: the nearest row)."""
    shape = (-1, *([1] * (idx.dim() - 1)))
    length = lengths[item].view(shape)
    rows = table[(offsets[item].view(shape) + idx.clamp(min=0).minimum(length - 1)).reshape(-1)]
    rows = rows.float().reshape(*idx.shape, table.shape[1])
    if fill is not None:
        valid = (idx >= 0) & (idx < length)
        rows = torch.where(valid.unsqueeze(-1), rows, torch.full_like(rows, fill))
    return rows


def freq_mask(windows: torch.Tensor, gen: torch.Generator, n: int) -> torch.Tensor:
    """``n`` bands of up to 8 mel channels per crop replaced by the crop's mean (SpecAugment)."""
    batch = windows.shape[0]
    for _ in range(n):
        width = torch.randint(0, 9, (batch,), generator=gen)
        low = (torch.rand(batch, generator=gen) * (windows.shape[-1] - width)).long()
        band = torch.arange(windows.shape[-1])
        mask = (band[None] >= low[:, None]) & (band[None] < (low + width)[:, None])  # B×80
        mean = windows.mean(dim=(1, 2), keepdim=True)  # B×1×1×80
        windows = torch.where(mask[:, None, None, :], mean.mean(-1, keepdim=True), windows)
    return windows


def _lr(step: int, cfg: TrainConfig) -> float:
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    t = (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup)
    return cfg.min_lr + 0.5 * (cfg.lr - cfg.min_lr) * (1 + math.cos(math.pi * t))


def losses(pred: torch.Tensor, target: torch.Tensor, fps: float, cfg: TrainConfig) -> dict[str, torch.Tensor]:
    pw = point_weights().view(1, 1, N_POINTS, 1)
    pos = ((pred - target).abs() * pw).sum() / (pw.sum() * pred.shape[0] * pred.shape[1] * 3)
    scale = fps / 25.0
    dv = (pred[:, 1:] - pred[:, :-1] - (target[:, 1:] - target[:, :-1])) * scale
    vel = (dv.abs() * pw).sum() / (pw.sum() * dv.shape[0] * dv.shape[1] * 3)
    can = torch.tensor(np.asarray(canonical_face()), dtype=pred.dtype)
    g_pred, g_target = inner_gap(can + pred), inner_gap(can + target)
    gap = (g_pred - g_target).abs().mean()
    closed = g_target < inner_gap(can) + 0.005  # rest, /m b p/, /f v/: the lips must meet
    closure = ((g_pred - g_target).clamp(min=0) * closed).sum() / closed.sum().clamp(min=1)
    total = pos + cfg.w_velocity * vel + cfg.w_opening * gap + cfg.w_closure * closure
    return {"total": total, "position": pos, "velocity": vel, "opening": gap, "closure": closure}


def _normalised_mel(mel: np.ndarray, offsets: np.ndarray, rows: np.ndarray, utterance_norm: bool) -> np.ndarray:
    """Rows ``rows`` of ``mel`` (float32), each item's spectral shape removed when ``utterance_norm``."""
    out = mel[rows].astype(np.float32)
    if utterance_norm:
        item = np.searchsorted(offsets, rows, side="right") - 1
        for i in np.unique(item):
            m = torch.from_numpy(mel[offsets[i]:offsets[i + 1]].astype(np.float32))[None]
            out[item == i] -= spectral_shape(m)[0].numpy()
    return out


def fit_normalisation(gen: MotionGenerator, corpus: Corpus, shapes: np.ndarray, seed: int, real=None) -> None:
    """Set the encoder's mel mean/std and the head's per-coordinate output scale from the data
    (the synthetic corpus, and the real one when given: 200k synthetic and up to 100k real frames)."""
    rng = np.random.default_rng(seed)
    idx = rng.choice(len(corpus.mel), size=min(200_000, len(corpus.mel)), replace=False)
    utt = gen.config.utterance_norm
    mel = _normalised_mel(corpus.mel, corpus.offsets, idx, utt)
    disp = corpus.weights[idx].astype(np.float32) @ shapes.reshape(len(shapes), -1)
    if real is not None:
        ridx = rng.choice(len(real.mel), size=min(100_000, len(real.mel)), replace=False)
        mel = np.concatenate([mel, _normalised_mel(real.mel, real.mel_offsets, ridx, utt)])
        fidx = rng.choice(len(real.motion), size=min(100_000, len(real.motion)), replace=False)
        disp = np.concatenate([disp, real.motion[fidx].reshape(len(fidx), -1).astype(np.float32)])
    gen.encoder.mel_mean.copy_(torch.from_numpy(mel.mean(0)))
    gen.encoder.mel_std.copy_(torch.from_numpy(mel.std(0) + 1e-3))
    scale = np.maximum(disp.std(0), 0.01)  # ≥ 0.01 so the style transfer can still move any point
    gen.out_scale.copy_(torch.from_numpy(scale.astype(np.float32)))


def evaluate(gen: MotionGenerator, batcher: Batcher, cfg: TrainConfig, n: int) -> dict[str, float]:
    """Mean losses on the first ``n`` items of ``batcher`` (fixed crops at 25 fps)."""
    gen.eval()
    items = torch.arange(min(n, len(batcher.lengths)))
    out: dict[str, float] = {}
    with torch.no_grad():
        for chunk in items.split(16):
            starts = torch.zeros(len(chunk), dtype=torch.float64)
            x, y = batcher.sample(len(chunk), cfg.frames, 25.0, items=chunk, starts=starts)
            for k, v in losses(gen(x), y, 25.0, cfg).items():
                out[k] = out.get(k, 0.0) + float(v) * len(chunk) / len(items)
    gen.train()
    return out


def evaluate_real(gen: MotionGenerator, batcher: RealBatcher, cfg: TrainConfig) -> dict[str, float]:
    """On whole real clips: mean losses and the mean per-clip correlation of the predicted and the
    real inner-lip opening (lag 0)."""
    gen.eval()
    out: dict[str, float] = {}
    corrs = []
    can = torch.tensor(np.asarray(canonical_face()), dtype=torch.float32)
    items = torch.arange(len(batcher))
    with torch.no_grad():
        for chunk in items.split(16):
            starts = torch.zeros(len(chunk), dtype=torch.long)
            x, y = batcher.sample(len(chunk), cfg.real_frames, items=chunk, starts=starts)
            pred = gen(x)
            for k, v in losses(pred, y, batcher.fps, cfg).items():
                out[k] = out.get(k, 0.0) + float(v) * len(chunk) / len(items)
            gp, gt = inner_gap(can + pred), inner_gap(can + y)
            for a, b in zip(gp, gt, strict=True):
                if a.std() > 0 and b.std() > 0:
                    corrs.append(float(torch.corrcoef(torch.stack([a, b]))[0, 1]))
    gen.train()
    out["r"] = float(np.mean(corrs)) if corrs else 0.0
    return out


def train(
    corpus: Corpus, val: Corpus, shapes: np.ndarray, cfg: TrainConfig, model_cfg: MotionConfig = MotionConfig(),
    *, real=None, real_val=None, init: MotionGenerator | None = None,
) -> tuple[MotionGenerator, dict]:
    """Train a :class:`MotionGenerator`; returns it (eval mode) and a summary dict. Runs on
    ``cfg.threads`` CPU threads (the process's setting is restored afterwards).

    ``real`` / ``real_val`` (:class:`~talkinghead.train.realdata.RealCorpus`): real talking-face
    clips mixed into every step (``cfg.real_batch`` crops) and scored at each validation.
    ``init``: fine-tune a copy of this generator (its input/output normalisation is kept)
    instead of training from scratch."""
    threads = torch.get_num_threads()
    torch.set_num_threads(cfg.threads)
    try:
        return _train(corpus, val, shapes, cfg, model_cfg, real=real, real_val=real_val, init=init)
    finally:
        torch.set_num_threads(threads)


def _train(
    corpus: Corpus, val: Corpus, shapes: np.ndarray, cfg: TrainConfig, model_cfg: MotionConfig = MotionConfig(),
    *, real=None, real_val=None, init: MotionGenerator | None = None,
) -> tuple[MotionGenerator, dict]:
    torch.manual_seed(cfg.seed)
    gen = MotionGenerator(config=model_cfg)
    if init is not None:
        if replace(init.config, phones=model_cfg.phones, acoustic_scale=model_cfg.acoustic_scale) != model_cfg or (
                init.config.phones and not model_cfg.phones):
            raise ValueError("fine-tuning needs the initial generator's architecture (phone input may be added)")
        missing, unexpected = load_state_partial(gen, init.state_dict(), source="the initial generator's weights")
        if unexpected or any(not k.startswith("encoder.phone") for k in missing):
            raise ValueError(f"fine-tuning: unexpected {unexpected}, missing {missing}")
        if missing:  # phone input added: it starts at zero, so the start is the initial generator
            gen.encoder.phones.load_model(read_pocketsphinx_model())
            nn.init.zeros_(gen.encoder.phone_out.weight)
            nn.init.zeros_(gen.encoder.phone_out.bias)
    else:
        if model_cfg.phones:
            gen.encoder.phones.load_model(read_pocketsphinx_model())
        fit_normalisation(gen, corpus, shapes, cfg.seed, real=real if cfg.real_batch > 0 else None)
    batcher = Batcher(corpus, shapes, context=model_cfg.context, seed=cfg.seed)
    val_batcher = Batcher(val, shapes, context=model_cfg.context, seed=cfg.seed + 1)
    use_real = real is not None and cfg.real_batch > 0
    real_batcher = RealBatcher(real, context=model_cfg.context, seed=cfg.seed + 3) if use_real else None
    real_val_batcher = RealBatcher(real_val, context=model_cfg.context, seed=cfg.seed + 4) if (
        use_real and real_val is not None and len(real_val)) else None
    fps_gen = torch.Generator().manual_seed(cfg.seed + 2)
    decay = [p for n, p in gen.named_parameters() if p.dim() > 1]
    no_decay = [p for n, p in gen.named_parameters() if p.dim() <= 1]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}], lr=cfg.lr
    )
    gen.train()
    history: list[dict] = []
    t0 = time.time()
    running: dict[str, float] = {}
    for step in range(cfg.steps):
        fps = float(cfg.fps_choices[int(torch.randint(len(cfg.fps_choices), (1,), generator=fps_gen))])
        x, y = batcher.sample(cfg.batch, cfg.frames, fps, freq_masks=cfg.freq_masks)
        for group in opt.param_groups:
            group["lr"] = _lr(step, cfg)
        parts = losses(gen(x), y, fps, cfg)
        total = parts["total"]
        if real_batcher is not None:
            xr, yr = real_batcher.sample(cfg.real_batch, cfg.real_frames, warp=cfg.real_warp, tilt=cfg.real_tilt,
                                         freq_masks=cfg.freq_masks)
            real_parts = losses(gen(xr), yr, real_batcher.fps, cfg)
            total = total + cfg.real_weight * real_parts["total"]
            parts.update({f"real_{k}": v for k, v in real_parts.items()})
        opt.zero_grad(set_to_none=True)
        total.backward()
        torch.nn.utils.clip_grad_norm_(gen.parameters(), cfg.grad_clip)
        opt.step()
        for k, v in parts.items():
            running[k] = running.get(k, 0.0) + float(v.detach())
        if (step + 1) % cfg.log_every == 0:
            avg = {k: v / cfg.log_every for k, v in running.items()}
            running = {}
            entry = {"step": step + 1, "seconds": round(time.time() - t0, 1), "lr": _lr(step, cfg),
                     **{f"train_{k}": round(v, 5) for k, v in avg.items()}}
            if (step + 1) % cfg.val_every == 0 or step + 1 == cfg.steps:
                entry.update({f"val_{k}": round(v, 5) for k, v in evaluate(gen, val_batcher, cfg, 128).items()})
                if real_val_batcher is not None:
                    entry.update({f"val_real_{k}": round(v, 5)
                                  for k, v in evaluate_real(gen, real_val_batcher, cfg).items()})
            history.append(entry)
            log.info("%s", "  ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in entry.items()))
    gen.eval()
    summary = {
        "train_config": {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(cfg).items()},
        "seconds": round(time.time() - t0, 1),
        "history": history,
        "final": history[-1] if history else {},
    }
    return gen, summary
