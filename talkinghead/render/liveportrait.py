"""The `liveportrait` renderer: the pretrained implicit-keypoint networks F, M, W, G, S.

Paper §3.3 (Style Mapping) in LivePortrait's form. The portrait is encoded once: F gives its
appearance feature volume f_s, M its canonical keypoints x_c, head rotation R, expression δ, scale s
and translation t, so that its own keypoints are (paper eq. 1, LivePortrait's form)

    x_s = s·(x_c·R + δ) + t            (row vectors; t_z ignored; see networks.liveportrait.keypoints)

**ISPs (paper eq. 2).** For a style reference r, M on the reference crop gives R̄ and ε̄; the
portrait's canonical keypoints x_c are reused (the identity), so the driving keypoints are
``x_r = s·(x_c·R̄ + ε̄) + t``. The portrait's own s and t are kept instead of the reference's s̄, τ̄:
those place the *reference* face in *its* crop, and using them would only move and resize the face
in the portrait's crop, which then no longer lines up for paste-back. The stitching MLP corrects
x_r, then W warps f_s from x_s to x_r (paper eqs. 8–9: one motion per keypoint, softmax masks) and
G decodes the 512² ISP.

**Frames.** Per target frame:

* expression: ``δ = Σ_r w_r·ε̄_r``, a convex blend of the references' expressions (the ones their
  ISPs show), with weights from the motion's mouth state relative to the portrait's own mouth
  (:func:`mouth_blend_weights`: opening, roundness, width, lip thickness; the weight moves from the
  closed templates None/M to the open ones R/O in proportion to the mouth opening, and within each
  pair goes to the nearer shape); without references, the portrait's own expression δ_s;
* lip retargeting: the lip MLP moves the keypoints from the lip-open ratio the blend already shows
  (``Σ_r w_r·c_r``, or the portrait's own) to the motion's (:func:`lip_open_ratio` of the target);
* eye retargeting: the eye MLP moves them from the portrait's eye ratio to ``eye_open ×`` it;
* head pose: relative to the portrait's, as LivePortrait's relative mode does — our rotation of the
  frame relative to the portrait's, ``ΔR = R_target·R_sourceᵀ``, is applied on top of M's rotation
  of the portrait (:func:`lp_rotation`); so targets with the portrait's own pose render the
  portrait's own pose whatever the small offsets between our landmark fit and M's estimate;
* scale: ``s·scale_target/scale_source`` about the keypoints' centroid; translation: the target's
  shift in crop pixels converted to keypoint units (:func:`pixel_shift_to_keypoints`);
* stitching, then W and G, batched, under ``runtime.inference()`` and, on CUDA, fp16 autocast
  for F, M, W and G as LivePortrait runs them (the keypoint MLPs stay fp32; weights stay fp32).

Retargeting deltas enter as *differences* of two MLP outputs, ``MLP(x_s, [c_s, c_to]) −
MLP(x_s, [c_s, c_from])``, so they are exactly zero when nothing is asked (no jump when a blink
starts) while the MLP's own calibration still sets how far the keypoints move.

**Rotation conventions.** Our geometry poses canonical *column* vectors, ``X = s·R·c + τ`` with
``R = Rz(roll)·Ry(yaw)·Rx(pitch)`` (:func:`geometry.angles_to_rotation`); LivePortrait poses *row*
vectors by ``x·R_lp`` with ``R_lp = (Rz(roll)·Ry(yaw)·Rx(pitch))ᵀ`` built from the same three
matrices (:func:`keypoints.rotation_matrix`). Both frames have x right and y down in the crop; z is
away from the camera in ours and along the feature volume's depth axis in LivePortrait's. With the
depth axes agreeing, the same (yaw, pitch, roll) give ``R_lp = Rᵀ`` and a head rotation ΔR acts as
``R_lp,new = R_lp,s·ΔRᵀ``. The direction of the learned depth axis cannot be read from the
architecture; should it point toward the camera, yaw and pitch change sign
(``ΔR → D·ΔR·D``, D = diag(1, 1, −1)): :attr:`LivePortraitRendererConfig.flip_depth`.

**Crop.** The networks read the :class:`SourceFace` crop (``geometry.CropSpec``: outer eye corners
0.27 of the side apart, eye centre at 0.42 of the height) resized to 256², and G's 512² output is
the same crop, so frames paste back through ``SourceFace.transform`` unchanged. LivePortrait's own
cropper (square box around the face landmarks × 2.3, moved up by 0.125 of its side) gives, for a
frontal face's 68 points, a box ≈ 0.94 of our side whose centre lies ≈ 0.07 of the side higher
(:func:`upstream_crop_box`): the same framing to within a few percent, so the portrait is not
re-cropped.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from talkinghead import geometry, runtime
from talkinghead.networks.liveportrait import (
    FULL,
    LivePortraitConfig,
    LivePortraitNets,
    build_liveportrait,
    load_liveportrait_state,
)
from talkinghead.networks.liveportrait import keypoints as K
from talkinghead.render.base import FrameTargets, ReferenceFrame, SourceFace, prepare_source

log = logging.getLogger(__name__)

CACHE_KEY = "liveportrait"
INPUT_SIZE = 256  # side of the crops F and M read (the checkpoints' training size)
# The architecture of the Hub checkpoints; `from_registry` builds this one.
ARCHITECTURE: LivePortraitConfig = FULL
# LivePortrait's cropper: square box around the landmarks scaled by this, shifted up by this × side.
UPSTREAM_CROP_SCALE = 2.3
UPSTREAM_CROP_SHIFT_UP = 0.125


@dataclass(frozen=True)
class LivePortraitRendererConfig:
    """Runtime options of the `liveportrait` renderer (the architecture is fixed by the weights)."""

    batch_size: int = 16  # frames (or ISPs) through W+G at once: memory vs throughput
    half_precision: bool = True  # fp16 autocast for F, M, W, G on CUDA (S always fp32); ignored on CPU
    stitching: bool = True  # stitching MLP on every driving keypoint set (keeps the crop's border still)
    lip_retargeting: bool = True  # lip MLP sets the mouth opening to the motion's
    eye_retargeting: bool = True  # eye MLP closes the eyes by FrameTargets.eye_open
    # Scales of the mouth-state features (opening, roundness, width, thickness) in mouth_blend_weights:
    # inter-ocular units, opening/inner width, relative width change, relative lip-thickness change.
    mouth_scales: tuple[float, float, float, float] = (0.05, 0.25, 0.05, 0.15)
    blend_sigma: float = 1.0  # width of the Gaussian soft assignment, in scaled feature units
    min_open_gap: float = 0.02  # open templates must open this much more than closed ones (inter-ocular units)
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
# Geometry helpers (numpy, batched over leading axes)


def lip_open_ratio(points: np.ndarray) -> np.ndarray:
    """LivePortrait's lip-open ratio on iBUG-68 points ``(...,68,3)``: inner-lip gap at the middle
    (62–66) over the outer mouth-corner distance (48–54). 0 closed, ≈ 0.3–0.6 wide open."""
    p = np.asarray(points, dtype=np.float64)
    gap = np.linalg.norm(p[..., 62, :] - p[..., 66, :], axis=-1)
    width = np.linalg.norm(p[..., 48, :] - p[..., 54, :], axis=-1)
    return gap / np.maximum(width, 1e-9)


def eye_open_ratios(points: np.ndarray) -> np.ndarray:
    """LivePortrait's eye-open ratios ``(..., 2)``: lid gap over eye width, image-left eye (36–41)
    first. Our 68-point stand-in for its 203-point ratio is the eye aspect ratio."""
    return geometry.eye_openness(points)


def mouth_state(points: np.ndarray, reference: np.ndarray, scales: Sequence[float]) -> np.ndarray:
    """Scaled mouth features ``(..., 4)`` of ``points`` (…×68×3) relative to ``reference`` (68×3).

    Features (from :func:`geometry.mouth_features`, all scale- and pose-free), each divided by its
    entry of ``scales``: inner-lip opening minus the reference's (inter-ocular units); roundness
    (opening / inner width) minus the reference's; mouth-corner width ÷ the reference's − 1; visible
    lip thickness ÷ the reference's − 1 (negative when the lips are pressed).
    """
    m = geometry.mouth_features(points)
    r = geometry.mouth_features(reference)
    feats = np.stack(
        [
            m.opening - r.opening,
            m.roundness - r.roundness,
            m.width / max(float(r.width), 1e-9) - 1.0,
            m.lip_thickness / max(float(r.lip_thickness), 1e-9) - 1.0,
        ],
        -1,
    )
    return feats / np.asarray(scales, dtype=np.float64)


CLOSED_LABELS = ("None", "M")  # closed-syllable templates (paper §3.2): mouth shut
OPEN_LABELS = ("R", "O")  # open-syllable templates: mouth open


def _softmax_nearest(z: np.ndarray, zr: np.ndarray, sigma: float) -> np.ndarray:
    """B×N Gaussian soft assignment ``softmax_r(−‖z − z_r‖² / 2σ²)`` (z B×F, zr N×F)."""
    logits = -((z[:, None, :] - zr[None, :, :]) ** 2).sum(-1) / (2.0 * sigma**2)
    logits -= logits.max(1, keepdims=True)
    w = np.exp(logits)
    return w / w.sum(1, keepdims=True)


def mouth_blend_weights(
    canonical: np.ndarray,
    templates: np.ndarray,
    identity: np.ndarray,
    *,
    labels: Sequence[str] | None = None,
    scales: Sequence[float] = LivePortraitRendererConfig.mouth_scales,
    sigma: float = LivePortraitRendererConfig.blend_sigma,
    min_open_gap: float = LivePortraitRendererConfig.min_open_gap,
) -> np.ndarray:
    """B×N weights (rows sum to 1) of N template mouths for B target mouths.

    ``canonical`` B×68×3 are the frames' canonical points, ``templates`` N×68×3 the portrait wearing
    each reference's expression (``identity + ε_r``), ``identity`` the portrait's own canonical points,
    ``labels`` the templates' names. z and z_r are the :func:`mouth_state` features of a frame and of
    template r, relative to the portrait's own mouth; o and o_r their inner-lip openings minus the
    portrait's (inter-ocular units). With closed templates C = {None, M} and open ones O = {R, O}:

    1. shape within each group: ``w^C_r = softmax_{r∈C}(−‖z − z_r‖²/2σ²)``, likewise ``w^O``;
    2. the openings those blends show: ``o_C = Σ w^C_r·o_r``, ``o_O = Σ w^O_r·o_r``;
    3. how open the frame is between them: ``a = clip((o − o_C)/(o_O − o_C), 0, 1)``;
    4. ``w = (1 − a)·w^C ⊕ a·w^O``.

    The weights follow the mouth opening linearly, so the expression morphs with every syllable
    instead of jumping from a closed to an open template at half-open, and a frame shaped like a
    template takes (almost) all of that template. When the labels do not name at least one closed
    and one open template, or the open blend is not at least ``min_open_gap`` more open than the
    closed one, the weights are the Gaussian soft assignment over all templates (step 1 on one group).
    """
    z = mouth_state(canonical, identity, scales)  # B×4
    zr = mouth_state(templates, identity, scales)  # N×4
    names = list(labels) if labels is not None else []
    closed = [i for i, name in enumerate(names) if name in CLOSED_LABELS]
    opened = [i for i, name in enumerate(names) if name in OPEN_LABELS]
    w_all = _softmax_nearest(z, zr, sigma)
    if not closed or not opened:
        return w_all
    o, o_r = z[:, 0] * scales[0], zr[:, 0] * scales[0]  # openings, inter-ocular units
    w_c = _softmax_nearest(z, zr[closed], sigma)  # B×|C|
    w_o = _softmax_nearest(z, zr[opened], sigma)  # B×|O|
    o_c, o_o = w_c @ o_r[closed], w_o @ o_r[opened]  # B each
    gap = o_o - o_c
    a = np.clip((o - o_c) / np.where(gap > min_open_gap, gap, 1.0), 0.0, 1.0)[:, None]
    w = np.zeros_like(w_all)
    w[:, closed] = (1.0 - a) * w_c
    w[:, opened] = a * w_o
    return np.where((gap > min_open_gap)[:, None], w, w_all)


def upstream_crop_box(landmarks: np.ndarray) -> tuple[np.ndarray, float]:
    """(centre xy, side) of the square crop LivePortrait's own cropper would take around these 68
    points (``parse_rect_from_landmark`` with scale 2.3, vy −0.125, the eye-to-mouth axis as "down").

    Only for documentation and tests: the renderer reads the :class:`SourceFace` crop instead.
    """
    p = np.asarray(landmarks, dtype=np.float64)[:, :2]
    eyes = (p[list(geometry.RIGHT_EYE)].mean(0) + p[list(geometry.LEFT_EYE)].mean(0)) / 2
    down = p[list(geometry.MOUTH)].mean(0) - eyes
    uy = down / max(np.linalg.norm(down), 1e-9)
    ux = np.array([-uy[1], uy[0]])
    centre0 = p.mean(0)
    local = (p - centre0) @ np.stack([ux, uy]).T
    lo, hi = local.min(0), local.max(0)
    side = float((hi - lo).max()) * UPSTREAM_CROP_SCALE
    mid = (lo + hi) / 2
    centre = centre0 + ux * mid[0] + uy * mid[1] - uy * UPSTREAM_CROP_SHIFT_UP * side
    return centre, side


# ---------------------------------------------------------------------------------------------
# Pose conversion (torch)


def lp_rotation(
    rotation_lp_source: torch.Tensor, ours_source: np.ndarray, ours_target: np.ndarray, *, flip_depth: bool = False
) -> torch.Tensor:
    """B×3×3 LivePortrait rotations (row-vector form) for B target rotations.

    ``rotation_lp_source`` (3×3 or 1×3×3) is M's rotation of the portrait; ``ours_source`` (3×3) and
    ``ours_target`` (B×3×3) are our column-vector rotations of the portrait and of the frames. The
    frame's head rotation relative to the portrait, ``ΔR = R_t·R_sᵀ`` (camera frame), moves the
    portrait's keypoints: ``R_lp = R_lp,s·ΔRᵀ`` (``ΔR → D·ΔR·D`` with ``flip_depth``). Identical
    source and target rotations give ``R_lp,s`` itself.
    """
    delta = np.einsum("bij,kj->bik", np.asarray(ours_target, dtype=np.float64), np.asarray(ours_source, np.float64))
    if flip_depth:
        d = np.diag([1.0, 1.0, -1.0])
        delta = d @ delta @ d
    delta_t = torch.as_tensor(np.ascontiguousarray(delta.transpose(0, 2, 1)), dtype=torch.float32)
    base = rotation_lp_source.reshape(1, 3, 3).to(torch.float32)
    return base @ delta_t.to(base.device)  # B×3×3


def pixel_shift_to_keypoints(shift_px: np.ndarray, crop_size: int, feature_size: int) -> np.ndarray:
    """Crop-pixel shifts ``(..., 2)`` → keypoint units: x, y ∈ [−1, 1] span the centres of the first
    and last of the ``feature_size`` cells of W's grid, i.e. ``crop_size·(feature_size−1)/feature_size``
    crop pixels."""
    span = crop_size * (feature_size - 1) / feature_size
    return np.asarray(shift_px, dtype=np.float64) * (2.0 / span)


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
        """The five Hub checkpoints (``weights.specs("liveportrait")``), resolved, sha256-checked and
        strictly loaded into :data:`ARCHITECTURE` networks (float32, eval).

        Raises ``weights.WeightsNotFound`` / ``WeightsCorrupt`` naming the file and how to get it, or
        ``weights.WeightsError`` when a file's keys or shapes do not fit the networks.
        """
        from talkinghead import weights

        tensors = {
            spec.filename: weights.load_tensors(spec, allow_download=allow_download)
            for spec in weights.specs("liveportrait")
        }
        nets = build_liveportrait(ARCHITECTURE)
        try:
            load_liveportrait_state(nets, tensors)
        except ValueError as exc:
            raise weights.WeightsError(
                f"{exc}. Fetch them again with: python -m talkinghead weights download liveportrait"
            ) from exc
        log.info("liveportrait: %d weight files loaded", len(tensors))
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
        return K.refine_kp_info({k: v.float() for k, v in raw.items()})

    def _precompute(self, source: SourceFace) -> _Prepared:
        with runtime.inference():
            x = self._input([source.crop])
            with self.autocast():
                feature = self.nets.appearance(x).float()  # 1×3×256×256 → 1×32×16×64×64
            info = self._motion(x)
            rotation = K.rotation_matrix(info["pitch"], info["yaw"], info["roll"])  # 1×3×3
            kp_source = K.pose_keypoints(info["kp"], rotation, info["exp"], info["scale"], info["t"])  # eq. 1
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
                rot = K.rotation_matrix(info["pitch"], info["yaw"], info["roll"])  # N×3×3
            for j, i in enumerate(todo):
                store[keys[i]] = _ReferenceMotion(rotation=rot[j], expression=info["exp"][j])
        return [store[k] for k in keys]

    # -----------------------------------------------------------------------------------------
    # keypoints

    def _stitch(self, prep: _Prepared, kp_driving: torch.Tensor) -> torch.Tensor:
        if not self.config.stitching:
            return kp_driving
        x_s = prep.kp_source.expand(len(kp_driving), -1, -1)
        return K.apply_stitching(self.nets.stitching.stitching, x_s, kp_driving)

    def isp_keypoints(self, source: SourceFace, references: Sequence[ReferenceFrame]) -> torch.Tensor:
        """N×K×3 driving keypoints of the ISPs (paper eq. 2), stitched: ``s·(x_c·R̄ + ε̄) + t``."""
        prep = self._prepared(source)
        motions = self._reference_motions(source, references)
        with runtime.inference():
            n = len(motions)
            rotation = torch.stack([m.rotation for m in motions])  # N×3×3
            expression = torch.stack([m.expression for m in motions])  # N×K×3
            kp = K.pose_keypoints(
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
            kp = K.pose_keypoints(prep.kp_canonical.expand(b, -1, -1), rotation, expression, scale, translation)

            x_s = prep.kp_source.expand(b, -1, -1)
            if cfg.lip_retargeting:
                c_s = np.full(b, prep.lip_ratio)
                kp = kp + self._retarget(K.retarget_lip, self.nets.stitching.lip, x_s, [c_s], target_lip, base_lip)
            if cfg.eye_retargeting:
                own = float(prep.eye_ratios.mean())
                eye_open = np.clip(np.asarray(targets.eye_open, dtype=np.float64), 0.0, 1.0)
                c_s = [np.full(b, prep.eye_ratios[0]), np.full(b, prep.eye_ratios[1])]
                kp = kp + self._retarget(
                    K.retarget_eye, self.nets.stitching.eye, x_s, c_s, eye_open * own, np.full(b, own)
                )
            return self._stitch(prep, kp) if stitch else kp

    @staticmethod
    def _retarget(
        apply: Callable[[K.Mlp, torch.Tensor, torch.Tensor], torch.Tensor],
        mlp: K.Mlp,
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


__all__ = [
    "ARCHITECTURE",
    "CLOSED_LABELS",
    "OPEN_LABELS",
    "LivePortraitRenderer",
    "LivePortraitRendererConfig",
    "eye_open_ratios",
    "lip_open_ratio",
    "lp_rotation",
    "mouth_blend_weights",
    "mouth_state",
    "pixel_shift_to_keypoints",
    "upstream_crop_box",
]
