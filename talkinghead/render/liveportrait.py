"""The `liveportrait` renderer: the pretrained implicit-keypoint networks F, M, W, G, S.

Paper §3.3 (Style Mapping) in LivePortrait's form. The portrait is encoded once: F gives its
appearance feature volume f_s, M its canonical keypoints x_c, head rotation R, expression δ, scale s
and translation t, so that its own keypoints are (paper eq. 1, LivePortrait's form)

    x_s = s·(x_c·R + δ) + t            (row vectors; t_z ignored; see networks.liveportrait.keypoints)

* ISPs (paper eq. 2): M on a reference crop gives R̄ and ε̄, and the driving keypoints are
  ``x_r = s·(x_c·R̄ + ε̄) + t`` — the portrait's own x_c (its identity), s and t: the reference's s̄, τ̄
  place the reference face in its own crop and would misalign the paste-back.
* Frames: expression ``δ = Σ_r w_r·ε̄_r`` by the motion's mouth state (:mod:`expression_blend`), or
  the portrait's own δ_s without references.
* Lip retargeting moves the keypoints from the lip-open ratio the blend already shows to the
  motion's; eye retargeting from the portrait's eye ratio to ``eye_open ×`` it.
* Retargeting enters as a difference, ``MLP(x_s, [c_s, c_to]) − MLP(x_s, [c_s, c_from])``: exactly
  zero when nothing is asked (no jump when a blink starts), while the MLP's own calibration still
  sets how far the keypoints move.
* Head pose relative to the portrait's, ``R_lp = R_lp,s·ΔRᵀ`` with ``ΔR = R_target·R_sourceᵀ``; scale
  ``s·scale_target/scale_source`` about the keypoints' centroid; the target's shift in crop pixels
  in keypoint units (:mod:`pose_conversion`).
* Stitching, then W (paper eqs. 8–9) and G, batched, under ``runtime.inference()``; on CUDA fp16
  autocast for F, M, W and G as LivePortrait runs them (the keypoint MLPs and the weights stay fp32).
* Crop: the networks read the :class:`SourceFace` crop resized to 256², and G's 512² output is the
  same crop, so frames paste back through ``SourceFace.transform`` unchanged; the crop frames the
  face like LivePortrait's own cropper, so the portrait is not re-cropped.
* Weights: the five registered files (:data:`WEIGHT_NAMES`), each loaded strictly by
  ``weights.load_module``.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from talkinghead import runtime
from talkinghead.networks.liveportrait import FULL, LivePortraitConfig, LivePortraitNets, build_liveportrait, keypoints
from talkinghead.render import expression_blend
from talkinghead.render.base import FrameTargets, ReferenceFrame, SourceFace, prepare_source
from talkinghead.render.expression_blend import eye_open_ratios, lip_open_ratio, mouth_blend_weights
from talkinghead.render.pose_conversion import lp_rotation, pixel_shift_to_keypoints

log = logging.getLogger(__name__)

CACHE_KEY = "liveportrait"
INPUT_SIZE = 256  # side of the crops F and M read (the checkpoints' training size)
# The architecture of the Hub checkpoints; `from_registry` builds this one.
ARCHITECTURE: LivePortraitConfig = FULL
# Network role (`LivePortraitNets` field) → its registered weights (`talkinghead.weights`).
WEIGHT_NAMES: dict[str, str] = {
    "appearance": "liveportrait/appearance_feature_extractor",  # F
    "motion": "liveportrait/motion_extractor",  # M
    "warping": "liveportrait/warping_module",  # W
    "generator": "liveportrait/spade_generator",  # G
    "stitching": "liveportrait/stitching_retargeting_module",  # S
}


@dataclass(frozen=True)
class LivePortraitRendererConfig:
    """Runtime options of the `liveportrait` renderer (the architecture is fixed by the weights)."""

    batch_size: int = 16  # frames (or ISPs) through W+G at once: memory vs throughput
    half_precision: bool = True  # fp16 autocast for F, M, W, G on CUDA (S always fp32); ignored on CPU
    stitching: bool = True  # stitching MLP on every driving keypoint set (keeps the crop's border still)
    lip_retargeting: bool = True  # lip MLP sets the mouth opening to the motion's
    eye_retargeting: bool = True  # eye MLP closes the eyes by FrameTargets.eye_open
    # The mouth blend (`expression_blend.mouth_blend_weights`; the defaults' meaning is documented there):
    mouth_scales: tuple[float, float, float, float] = expression_blend.MOUTH_SCALES  # feature scales
    blend_sigma: float = expression_blend.BLEND_SIGMA  # width of the soft assignment
    min_open_gap: float = expression_blend.MIN_OPEN_GAP  # how much more the open templates must open
    max_lip_ratio: float = 1.0  # lip-open ratio targets are clamped to [0, this]
    flip_depth: bool = False  # LivePortrait's depth axis points toward the camera: negate yaw and pitch

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise ValueError(f"LivePortraitRendererConfig.batch_size must be ≥ 1, got {self.batch_size}")
        if len(self.mouth_scales) != 4 or min(self.mouth_scales) <= 0:
            raise ValueError(
                f"LivePortraitRendererConfig.mouth_scales must be 4 positive numbers, got {self.mouth_scales}"
            )
        if self.blend_sigma <= 0 or self.max_lip_ratio <= 0 or self.min_open_gap <= 0:
            raise ValueError("LivePortraitRendererConfig.blend_sigma, max_lip_ratio and min_open_gap must be positive")


@dataclass(frozen=True)
class _Prepared:
    """Per-portrait precomputation stored in ``SourceFace.cache['liveportrait']``."""

    device: torch.device
    feature: torch.Tensor  # 1×C×D×h×w appearance feature volume f_s (float32)
    kp_canonical: torch.Tensor  # 1×K×3 canonical keypoints x_c
    rotation: torch.Tensor  # 1×3×3 M's rotation of the portrait, row-vector form R_lp,s
    expression: torch.Tensor  # 1×K×3 M's expression δ_s
    scale: torch.Tensor  # 1×1 M's scale s
    translation: torch.Tensor  # 1×3 M's translation t (t_z unused)
    kp_source: torch.Tensor  # 1×K×3 posed source keypoints x_s
    eye_ratios: np.ndarray  # 2, the portrait's eye-open ratios (image-left eye, image-right eye)
    lip_ratio: float  # the portrait's lip-open ratio (both measured on SourceFace.identity, like the targets)


@dataclass(frozen=True)
class _ReferenceMotion:
    """What M says about one reference crop."""

    rotation: torch.Tensor  # 3×3 R̄ (row-vector form)
    expression: torch.Tensor  # K×3 ε̄


# ---------------------------------------------------------------------------------------------
# The renderer


class LivePortraitRenderer:
    """Renderer protocol implementation ``liveportrait`` (see :mod:`talkinghead.render.base`)."""

    name = "liveportrait"

    def __init__(
        self,
        *,
        nets: LivePortraitNets,
        device: torch.device | str | None = None,
        config: LivePortraitRendererConfig = LivePortraitRendererConfig(),
    ) -> None:
        self.config = config
        self.device = runtime.resolve_device(device)
        self.nets = nets.to(device=self.device, dtype=torch.float32).eval().requires_grad_(False)
        arch = nets.appearance.config
        self.feature_size = INPUT_SIZE // 2**arch.num_down_blocks  # side of f_s (64 full size)

    # -----------------------------------------------------------------------------------------
    # construction

    @classmethod
    def from_registry(
        cls,
        *,
        device: torch.device | str | None = None,
        config: LivePortraitRendererConfig = LivePortraitRendererConfig(),
        allow_download: bool = True,
    ) -> LivePortraitRenderer:
        """The five Hub checkpoints (:data:`WEIGHT_NAMES`), resolved, sha256-checked and strictly
        loaded into :data:`ARCHITECTURE` networks (float32, eval).

        Raises ``weights.WeightsNotFound`` / ``WeightsCorrupt`` naming the file and how to get it, or
        ``weights.WeightsError`` when a file's keys or shapes do not fit the networks.
        """
        from talkinghead import weights

        nets = build_liveportrait(ARCHITECTURE)
        for role, module in nets.modules_by_role():
            weights.load_module(module, WEIGHT_NAMES[role], allow_download=allow_download)
        log.info("liveportrait: %d weight files loaded", len(WEIGHT_NAMES))
        return cls(nets=nets, device=device, config=config)

    @classmethod
    def random(
        cls,
        *,
        device: torch.device | str | None = None,
        seed: int = 0,
        architecture: LivePortraitConfig = FULL,
        config: LivePortraitRendererConfig = LivePortraitRendererConfig(),
    ) -> LivePortraitRenderer:
        """Random weights (seeded): for tests and benchmarks only — the frames are noise."""
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            nets = build_liveportrait(architecture)
        return cls(nets=nets, device=device, config=config)

    # -----------------------------------------------------------------------------------------
    # preparation

    def prepare(self, image: np.ndarray, landmarks: np.ndarray) -> SourceFace:
        """Crop/align the portrait, then run F (feature volume) and M (keypoints, pose) once."""
        source = prepare_source(image, landmarks)
        source.cache[CACHE_KEY] = self._precompute(source)
        return source

    def _prepared(self, source: SourceFace) -> _Prepared:
        prep = source.cache.get(CACHE_KEY)
        if not isinstance(prep, _Prepared) or prep.device != self.device:
            prep = self._precompute(source)
            source.cache[CACHE_KEY] = prep
        return prep

    def autocast(self) -> contextlib.AbstractContextManager:
        """The precision context F, M, W and G run in: fp16 autocast on CUDA when configured, else none."""
        return runtime.autocast(self.device, half=self.config.half_precision)

    def _input(self, crops: Sequence[np.ndarray]) -> torch.Tensor:
        """uint8 RGB crops → B×3×256×256 float32 in [0, 1] on the device (no normalisation)."""
        import cv2

        batch = []
        for crop in crops:
            crop = np.asarray(crop)
            if crop.dtype != np.uint8 or crop.ndim != 3 or crop.shape[2] != 3:
                raise ValueError(f"liveportrait needs H×W×3 uint8 RGB crops, got {crop.shape} {crop.dtype}")
            if crop.shape[:2] != (INPUT_SIZE, INPUT_SIZE):
                crop = cv2.resize(crop, (INPUT_SIZE, INPUT_SIZE), interpolation=cv2.INTER_AREA)
            batch.append(crop)
        x = torch.from_numpy(np.stack(batch)).to(self.device)
        return x.permute(0, 3, 1, 2).float().div_(255.0)  # B×3×256×256

    def _motion(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """M on B×3×256×256 → refined dict: pitch/yaw/roll B×1 degrees, kp/exp B×K×3, t B×3, scale B×1."""
        with self.autocast():
            raw = self.nets.motion(x)
        return keypoints.refine_kp_info({k: v.float() for k, v in raw.items()})

    def _precompute(self, source: SourceFace) -> _Prepared:
        with runtime.inference():
            x = self._input([source.crop])
            with self.autocast():
                feature = self.nets.appearance(x).float()  # 1×3×256×256 → 1×32×16×64×64
            info = self._motion(x)
            rotation = keypoints.rotation_matrix(info["pitch"], info["yaw"], info["roll"])  # 1×3×3
            kp_source = keypoints.pose_keypoints(info["kp"], rotation, info["exp"], info["scale"], info["t"])  # eq. 1
        return _Prepared(
            device=self.device,
            feature=feature,
            kp_canonical=info["kp"],
            rotation=rotation,
            expression=info["exp"],
            scale=info["scale"],
            translation=info["t"],
            kp_source=kp_source,
            eye_ratios=eye_open_ratios(source.identity),
            lip_ratio=float(lip_open_ratio(source.identity)),
        )

    def _reference_motions(self, source: SourceFace, references: Sequence[ReferenceFrame]) -> list[_ReferenceMotion]:
        """M on each reference crop (batched), remembered per crop in the source's cache."""
        store: dict[str, _ReferenceMotion] = source.cache.setdefault(f"{CACHE_KEY}/references", {})
        keys = [f"{self.device}:{r.crop.shape}:{_digest(r.crop)}" for r in references]
        todo = [i for i, k in enumerate(keys) if k not in store]
        if todo:
            with runtime.inference():
                info = self._motion(self._input([references[i].crop for i in todo]))
                rot = keypoints.rotation_matrix(info["pitch"], info["yaw"], info["roll"])  # N×3×3
            for j, i in enumerate(todo):
                store[keys[i]] = _ReferenceMotion(rotation=rot[j], expression=info["exp"][j])
        return [store[k] for k in keys]

    # -----------------------------------------------------------------------------------------
    # keypoints

    def _stitch(self, prep: _Prepared, kp_driving: torch.Tensor) -> torch.Tensor:
        if not self.config.stitching:
            return kp_driving
        x_s = prep.kp_source.expand(len(kp_driving), -1, -1)
        return keypoints.apply_stitching(self.nets.stitching.stitching, x_s, kp_driving)

    def isp_keypoints(self, source: SourceFace, references: Sequence[ReferenceFrame]) -> torch.Tensor:
        """N×K×3 driving keypoints of the ISPs (paper eq. 2), stitched: ``s·(x_c·R̄ + ε̄) + t``."""
        prep = self._prepared(source)
        motions = self._reference_motions(source, references)
        with runtime.inference():
            n = len(motions)
            rotation = torch.stack([m.rotation for m in motions])  # N×3×3
            expression = torch.stack([m.expression for m in motions])  # N×K×3
            kp = keypoints.pose_keypoints(
                prep.kp_canonical.expand(n, -1, -1),
                rotation,
                expression,
                prep.scale.expand(n, -1),
                prep.translation.expand(n, -1),
            )  # paper eq. 2, the portrait's x_c with the reference's R̄, ε̄
            return self._stitch(prep, kp)

    def driving_keypoints(
        self,
        source: SourceFace,
        targets: FrameTargets,
        references: Sequence[ReferenceFrame] | None = None,
        *,
        stitch: bool = True,
    ) -> torch.Tensor:
        """B×K×3 driving keypoints of B target frames (see the module docstring for each term)."""
        cfg = self.config
        prep = self._prepared(source)
        _check_finite(targets)
        b = len(targets)
        dev = self.device
        canonical = np.asarray(targets.canonical, dtype=np.float64)
        target_lip = np.clip(lip_open_ratio(canonical), 0.0, cfg.max_lip_ratio)  # B
        with runtime.inference():
            if references:
                motions = self._reference_motions(source, references)
                templates = np.stack([source.identity + np.asarray(r.expression) for r in references])  # N×68×3
                weights = mouth_blend_weights(
                    canonical,
                    templates,
                    source.identity,
                    labels=[r.label for r in references],
                    scales=cfg.mouth_scales,
                    sigma=cfg.blend_sigma,
                    min_open_gap=cfg.min_open_gap,
                )  # B×N
                ref_exp = torch.stack([m.expression for m in motions])  # N×K×3
                expression = torch.einsum("bn,nkj->bkj", _tensor(weights, dev), ref_exp)  # B×K×3
                base_lip = weights @ np.clip(lip_open_ratio(templates), 0.0, cfg.max_lip_ratio)  # B
            else:
                expression = prep.expression.expand(b, -1, -1)
                base_lip = np.full(b, min(max(prep.lip_ratio, 0.0), cfg.max_lip_ratio))

            rotation = lp_rotation(
                prep.rotation, source.pose.rotation, targets.rotation, flip_depth=cfg.flip_depth
            ).to(dev)  # B×3×3
            zoom = _tensor(np.asarray(targets.scale, dtype=np.float64) / source.pose.scale, dev)  # B
            scale = prep.scale * zoom[:, None]  # B×1
            body = prep.kp_canonical @ rotation + expression  # B×K×3 (x_c·R + δ)
            centroid = body[..., :2].mean(1)  # B×2, where s·(…) puts the face relative to t
            shift = pixel_shift_to_keypoints(
                np.asarray(targets.translation)[:, :2] - source.pose.translation[:2], source.size, self.feature_size
            )
            t_xy = prep.translation[:, :2] + prep.scale * (1.0 - zoom[:, None]) * centroid + _tensor(shift, dev)
            translation = torch.cat([t_xy, torch.zeros(b, 1, device=dev)], 1)  # B×3 (t_z unused)
            kp = keypoints.pose_keypoints(prep.kp_canonical.expand(b, -1, -1), rotation, expression, scale, translation)

            x_s = prep.kp_source.expand(b, -1, -1)
            if cfg.lip_retargeting:
                c_s = np.full(b, prep.lip_ratio)
                kp = kp + self._retarget(
                    keypoints.retarget_lip, self.nets.stitching.lip, x_s, [c_s], target_lip, base_lip
                )
            if cfg.eye_retargeting:
                own = float(prep.eye_ratios.mean())
                eye_open = np.clip(np.asarray(targets.eye_open, dtype=np.float64), 0.0, 1.0)
                c_s = [np.full(b, prep.eye_ratios[0]), np.full(b, prep.eye_ratios[1])]
                kp = kp + self._retarget(
                    keypoints.retarget_eye, self.nets.stitching.eye, x_s, c_s, eye_open * own, np.full(b, own)
                )
            return self._stitch(prep, kp) if stitch else kp

    @staticmethod
    def _retarget(
        apply: Callable[[keypoints.Mlp, torch.Tensor, torch.Tensor], torch.Tensor],
        mlp: keypoints.Mlp,
        x_s: torch.Tensor,
        source_ratios: list[np.ndarray],
        to: np.ndarray,
        start: np.ndarray,
    ) -> torch.Tensor:
        """``MLP(x_s, [c_s…, to]) − MLP(x_s, [c_s…, start])``: B×K×3, exactly zero where ``to == start``."""
        dev = x_s.device
        ratios_to = _tensor(np.stack([*source_ratios, to], 1), dev)  # B×(n+1)
        ratios_start = _tensor(np.stack([*source_ratios, start], 1), dev)
        both = apply(mlp, torch.cat([x_s, x_s]), torch.cat([ratios_to, ratios_start]))  # 2B×K×3
        moved, rest = both.chunk(2)
        changed = torch.as_tensor(np.asarray(to) != np.asarray(start), device=dev)[:, None, None]
        return torch.where(changed, moved - rest, torch.zeros_like(moved))

    # -----------------------------------------------------------------------------------------
    # rendering

    def render_isps(self, source: SourceFace, references: list[ReferenceFrame]) -> list[np.ndarray]:
        """Paper §3.3 / eq. 2: the portrait wearing each reference's rotation and expression (S×S×3 uint8)."""
        if not references:
            return []
        kp = self.isp_keypoints(source, references)
        return list(self._decode(source, kp))

    def render(
        self, source: SourceFace, targets: FrameTargets, references: list[ReferenceFrame] | None = None
    ) -> np.ndarray:
        """B×S×S×3 uint8 frames of the crop for B targets (batched by ``config.batch_size``)."""
        if len(targets) == 0:
            return np.empty((0, source.size, source.size, 3), np.uint8)
        kp = self.driving_keypoints(source, targets, references)
        return self._decode(source, kp)

    def _decode(self, source: SourceFace, kp_driving: torch.Tensor) -> np.ndarray:
        """W+G for B driving keypoint sets → B×S×S×3 uint8."""
        prep = self._prepared(source)
        out = np.empty((len(kp_driving), source.size, source.size, 3), np.uint8)
        with runtime.inference():
            for start, chunk in _chunks(kp_driving, self.config.batch_size):
                b = len(chunk)
                with self.autocast():
                    warped = self.nets.warping(
                        prep.feature.expand(b, -1, -1, -1, -1),
                        kp_source=prep.kp_source.expand(b, -1, -1),
                        kp_driving=chunk,
                    )  # paper eqs. 8–9 → out B×256×64×64
                    image = self.nets.generator(warped["out"])  # → B×3×512×512 in (0, 1)
                frames = image.float().clamp_(0.0, 1.0).mul_(255.0).round_().to(torch.uint8)
                frames = frames.permute(0, 2, 3, 1).cpu().numpy()
                out[start : start + b] = _resize(frames, source.size)
        return out


def _chunks(x: torch.Tensor, size: int) -> Iterator[tuple[int, torch.Tensor]]:
    for start in range(0, len(x), size):
        yield start, x[start : start + size]


def _resize(frames: np.ndarray, size: int) -> np.ndarray:
    if frames.shape[1] == size:
        return frames
    import cv2

    interp = cv2.INTER_AREA if frames.shape[1] > size else cv2.INTER_LINEAR
    return np.stack([cv2.resize(f, (size, size), interpolation=interp) for f in frames])


def _digest(image: np.ndarray) -> str:
    return hashlib.blake2b(np.ascontiguousarray(image).tobytes(), digest_size=16).hexdigest()


def _tensor(x: np.ndarray, device: torch.device) -> torch.Tensor:
    """float32 tensor on ``device`` from a numpy array (float64 maths stays in numpy)."""
    return torch.as_tensor(np.asarray(x, dtype=np.float32), device=device)


def _check_finite(targets: FrameTargets) -> None:
    for name in ("canonical", "rotation", "translation", "scale", "eye_open"):
        if not np.isfinite(np.asarray(getattr(targets, name), dtype=np.float64)).all():
            raise ValueError(f"FrameTargets.{name} holds NaN or infinite values; fix the motion before rendering")
    if (np.asarray(targets.scale) <= 0).any():
        raise ValueError("FrameTargets.scale must be positive (crop pixels per inter-ocular unit)")


__all__ = ["ARCHITECTURE", "WEIGHT_NAMES", "LivePortraitRenderer", "LivePortraitRendererConfig"]
