"""The `warp` renderer: training-free, offline, CPU real-time portrait animation by dense warping.

A portrait's aligned crop is warped from its own landmarks to target landmarks (backward
mapping with ``grid_sample``, batched, GPU when present). The dense field is a thin-plate spline
(default) or the paper's first-order local affine motions composed with soft masks (eq. 8–9,
analytic masks) through three kinds of control points:

* the 68 landmarks, which carry expression and pose, and the midpoints of the lip contours
  (:func:`flow.lip_midpoints`);
* virtual points on the forehead and around the head (:func:`flow.skull_points`), posed
  rigidly, so the forehead and hair turn with the head;
* still anchors on the neck and the shoulders (:func:`flow.still_anchors`).

The field is evaluated on a coarse grid over the head only, upsampled bilinearly and multiplied
by the portrait's support mask, so the background outside the head is sampled exactly in place.
On top: a mouth interior when the lips part further than the portrait's (:mod:`warp_mouth`),
lowered eyelids for blinks (:mod:`eyes`), and :meth:`WarpRenderer.paste_back` into the full
portrait (:mod:`compose`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from scipy.spatial.transform import Rotation

from talkinghead import geometry, runtime
from talkinghead.render import compose, eyes, flow, warp_mouth
from talkinghead.render.base import FrameTargets, ReferenceFrame, SourceFace, prepare_source
from talkinghead.render.mouth import MouthDonor

CACHE_KEY = "warp"


@dataclass(frozen=True)
class WarpConfig:
    """Options of the `warp` renderer (lengths in inter-ocular units unless said otherwise)."""

    method: str = "tps"  # dense field: "tps" (thin-plate spline) or "first_order" (paper eq. 8–9)
    grid_step: int = 8  # crop pixels between nodes of the coarse grid the field is evaluated on (6: the
    # same frames within 0.15 grey levels on average, 25 % slower)
    tps_regularization: float = 1e-5  # TPS smoothing λ (normalised units); keeps coincident targets solvable
    mask_sigma: float = 0.6  # first_order: Gaussian mask width as a fraction of a point's nearest-neighbour gap
    support_margin: float = compose.SUPPORT_MARGIN  # the head's motion fades to zero over this distance outside it
    paste_feather: float = compose.PASTE_FEATHER  # paste-back seam width outside the support
    max_rotation_deg: float = 20.0  # out-of-plane head turn (yaw, pitch) away from the portrait's, clamped
    # beyond (a 2-D warp of a frontal photo cannot show more of a turn than this without smearing the far cheek)
    max_roll_deg: float = 12.0  # in-plane head tilt away from the portrait's, clamped beyond (past 12–15° the
    # top of the hair folds against the still picture above it)
    fold_ratio: float = 0.4  # out-of-plane turns are further limited to where two neighbouring
    # landmarks of the portrait come no closer than this fraction of their distance (:func:`turn_limit`):
    # 12–16° for frontal photos, under 3° for a three-quarter painting whose nose hides its far cheek
    max_translation: float = 0.2  # head translation away from the portrait's levels off toward this (i.o.)
    max_scale_change: float = 0.25  # relative head scale change, clamped beyond
    max_expression: float = 0.6  # a point's expression offset from the portrait's own, clamped beyond
    mouth_reuse_opening: float = 0.05  # portrait lip gap above which its own mouth interior is reused
    mouth_fade_in: float = 0.04  # painted interior fades in over this much lip gap beyond the portrait's
    mouth_feather_px: float = 1.2  # feathered edge of the painted mouth interior, pixels
    batch_size: int = 16  # frames warped together (memory vs speed)

    def __post_init__(self) -> None:
        if self.method not in ("tps", "first_order"):
            raise ValueError(f"WarpConfig.method must be 'tps' or 'first_order', got {self.method!r}")
        if self.grid_step < 1 or self.batch_size < 1:
            raise ValueError("WarpConfig.grid_step and batch_size must be at least 1")
        if not 0.0 <= self.fold_ratio < 1.0:
            raise ValueError(f"WarpConfig.fold_ratio must be in [0, 1), got {self.fold_ratio}")


@dataclass(frozen=True)
class _Prepared:
    """Per-portrait precomputation stored in ``SourceFace.cache['warp']``."""

    device: torch.device
    config: WarpConfig  # the configuration it was computed for
    crop: torch.Tensor  # 1×3×S×S float32, 0–255
    box: tuple[int, int, int, int]  # (x0, y0, x1, y1) crop pixels the warp may change
    nodes: torch.Tensor  # P×2 coarse-grid nodes inside the support, crop pixels
    node_index: torch.Tensor  # P positions of those nodes in the full gh×gw lattice over the box
    node_shape: tuple[int, int]  # (gh, gw)
    node_support: torch.Tensor  # P support weights at the nodes
    skull: np.ndarray  # V×3 canonical skull points
    anchors: np.ndarray  # A×2 still crop points
    source_points: torch.Tensor  # (68+L+V+A)×2 source positions of all control points (flow.lip_midpoints: L)
    neighbours: torch.Tensor  # (68+L+V+A)×K nearest control points (first_order Jacobians)
    mouth: warp_mouth.MouthPlan  # what fills the lip gap (painted, lent or the portrait's own interior)
    lid: torch.Tensor  # 3, RGB of the upper-lid skin (eyes.lid_colour)
    max_swing_deg: float  # out-of-plane head turn allowed for this portrait (turn_limit)
    paste: compose.PastePlan
    lattice: torch.Tensor  # 1×(gh·gw)×2 positions of every lattice node over the box, crop pixels
    up_y: torch.Tensor  # h×gh bilinear (align-corners) weights from lattice rows to the box's rows
    up_x_t: torch.Tensor  # gw×w the same for columns, transposed


class WarpRenderer:
    """Renderer protocol implementation ``warp`` (see :mod:`talkinghead.render.base`)."""

    name = "warp"

    def __init__(self, *, config: WarpConfig = WarpConfig(), device: torch.device | str | None = None) -> None:
        self.config = config
        self.device = runtime.resolve_device(device)

    # -----------------------------------------------------------------------------------------
    # preparation

    def prepare(self, image: np.ndarray, landmarks: np.ndarray) -> SourceFace:
        """Crop/align the portrait and precompute the mesh, support, mouth and paste data."""
        source = prepare_source(image, landmarks)
        self._prepared(source)
        return source

    def _prepared(self, source: SourceFace) -> _Prepared:
        prep = source.cache.get(CACHE_KEY)
        if not isinstance(prep, _Prepared) or prep.device != self.device or prep.config != self.config:
            prep = self._precompute(source)
            source.cache[CACHE_KEY] = prep
            source.cache[compose.PASTE_KEY] = prep.paste
        return prep

    def _precompute(self, source: SourceFace) -> _Prepared:
        cfg, dev = self.config, self.device
        pts = source.landmarks[:, :2]
        iod = float(np.linalg.norm(pts[45] - pts[36]))
        skull = flow.skull_points(source.identity)
        skull_src = source.pose.apply(skull)[:, :2]
        anchors = flow.still_anchors(source.landmarks)
        support = compose.head_support(source, cfg.support_margin)
        x0, y0, x1, y1 = compose.mask_box(support)
        gw = int(np.ceil((x1 - 1 - x0) / cfg.grid_step)) + 1
        gh = int(np.ceil((y1 - 1 - y0) / cfg.grid_step)) + 1
        gx, gy = np.linspace(x0, x1 - 1, gw), np.linspace(y0, y1 - 1, gh)
        nodes = np.stack(np.meshgrid(gx, gy, indexing="xy"), -1).reshape(-1, 2)
        import cv2

        # the support's minimum over each node's neighbourhood: bilinear upsampling then keeps the
        # field exactly zero wherever the support is
        step = 2 * cfg.grid_step + 1
        shrunk = cv2.erode(support, np.ones((step, step), np.uint8))
        node_support = shrunk[np.round(nodes[:, 1]).astype(int), np.round(nodes[:, 0]).astype(int)]
        active = np.flatnonzero(node_support > 0)
        all_src = np.concatenate([pts, flow.lip_midpoints(pts), skull_src, anchors])
        k = min(8, len(all_src) - 1)
        d = np.linalg.norm(all_src[:, None] - all_src[None], axis=-1)
        neighbours = np.argsort(d, 1)[:, 1 : k + 1]
        crop = torch.from_numpy(source.crop).to(dev).permute(2, 0, 1).unsqueeze(0).float()
        return _Prepared(
            device=dev,
            config=cfg,
            crop=crop,
            box=(x0, y0, x1, y1),
            nodes=torch.tensor(nodes[active], dtype=torch.float32, device=dev),
            node_index=torch.tensor(active, dtype=torch.long, device=dev),
            node_shape=(gh, gw),
            node_support=torch.tensor(node_support[active], dtype=torch.float32, device=dev),
            skull=skull,
            anchors=anchors,
            source_points=torch.tensor(all_src, dtype=torch.float32, device=dev),
            neighbours=torch.tensor(neighbours, dtype=torch.long, device=dev),
            mouth=warp_mouth.mouth_plan(source, dev, reuse_opening=cfg.mouth_reuse_opening),
            lid=torch.tensor(eyes.lid_colour(source.crop, source.landmarks), dtype=torch.float32, device=dev),
            max_swing_deg=turn_limit(source, fold_ratio=cfg.fold_ratio, ceiling=cfg.max_rotation_deg),
            paste=compose.paste_plan(
                source.image, source.transform, support, reach=cfg.grid_step, feather=cfg.paste_feather * iod
            ),  # also stored as the portrait's paste plan (compose.PASTE_KEY)
            lattice=torch.tensor(nodes, dtype=torch.float32, device=dev).unsqueeze(0),
            up_y=_linear_upsampling(gh, y1 - y0).to(dev),
            up_x_t=_linear_upsampling(gw, x1 - x0).T.contiguous().to(dev),
        )

    # -----------------------------------------------------------------------------------------
    # targets

    def clamp_targets(self, source: SourceFace, targets: FrameTargets) -> FrameTargets:
        """Validate targets and clamp them to what a 2-D warp can show.

        Raises ``ValueError`` for non-finite values or a collapsed face (a scale or a face spread
        under a fifth of the portrait's). Clamps, per frame: head rotation away from the portrait's
        to ``max_roll_deg`` in the picture's plane and to the portrait's :func:`turn_limit` (at
        most ``max_rotation_deg``) out of it, translation softly to ``max_translation`` (the head
        slides over a background the warp can only stretch: its motion fades out over
        ``support_margin`` beyond the head), scale to
        ``1 ± max_scale_change``, and each point's offset from the portrait's own canonical point
        to ``max_expression`` (far-out points are pulled back, not rejected); inner lips that
        cross (upper below lower) are set to meet, which a warp shows as closed lips instead of a
        fold.
        """
        cfg = self.config
        swing = self._prepared(source).max_swing_deg
        arrays = {
            "canonical": targets.canonical,
            "rotation": targets.rotation,
            "translation": targets.translation,
            "scale": targets.scale,
            "eye_open": targets.eye_open,
        }
        for name, value in arrays.items():
            if not np.isfinite(np.asarray(value, dtype=np.float64)).all():
                raise ValueError(f"FrameTargets.{name} holds NaN or infinite values; fix the motion before rendering")
        s0 = source.pose.scale
        scale = np.asarray(targets.scale, dtype=np.float64)
        if (scale <= 0.2 * s0).any() or (scale >= 5.0 * s0).any():
            raise ValueError(
                f"target face scale {scale.min():.3g}–{scale.max():.3g} px per eye distance is far from the "
                f"portrait's {s0:.3g}: the target landmarks are collapsed or not in this portrait's crop pixels"
            )
        canonical = np.asarray(targets.canonical, dtype=np.float64)
        spread = np.linalg.norm(canonical - canonical.mean(1, keepdims=True), axis=-1).mean(-1)
        own = np.linalg.norm(source.identity - source.identity.mean(0), axis=-1).mean()
        if (spread < 0.2 * own).any():
            raise ValueError("target canonical landmarks are collapsed (spread under a fifth of the portrait's)")
        offset = canonical - source.identity
        norm = np.linalg.norm(offset, axis=-1, keepdims=True)
        canonical = source.identity + offset * np.minimum(1.0, cfg.max_expression / np.maximum(norm, 1e-12))
        for up, lo in geometry.INNER_LIP_PAIRS:  # inner lips pushed past each other meet instead
            crossed = canonical[:, up, 1] > canonical[:, lo, 1]
            meet = 0.5 * (canonical[crossed, up, 1] + canonical[crossed, lo, 1])
            canonical[crossed, up, 1] = meet
            canonical[crossed, lo, 1] = meet
        rotation = _clamp_rotations(targets.rotation, source.pose.rotation, roll=cfg.max_roll_deg, swing=swing)
        shift = np.asarray(targets.translation, dtype=np.float64) - source.pose.translation
        limit = cfg.max_translation * s0
        length = np.maximum(np.linalg.norm(shift, axis=-1, keepdims=True), 1e-12)
        shift *= limit * np.tanh(length / limit) / length  # slight slides as they are, far ones level off
        return FrameTargets(
            canonical=canonical,
            rotation=rotation,
            translation=source.pose.translation + shift,
            scale=np.clip(scale, s0 * (1 - cfg.max_scale_change), s0 * (1 + cfg.max_scale_change)),
            eye_open=np.clip(np.asarray(targets.eye_open, dtype=np.float64), 0.0, 1.0),
        )

    # -----------------------------------------------------------------------------------------
    # rendering

    def render_isps(self, source: SourceFace, references: list[ReferenceFrame]) -> list[np.ndarray]:
        """Paper §3.3 / eq. 2: the portrait wearing each reference's expression and head turn.

        Target canonical = portrait identity c (lips closed, :func:`isp_targets`) + reference
        expression ε̄ (relative to the clip person's own neutral face, so the portrait keeps its
        face shape). Rotation: the reference's turn relative to the clip's mean pose, applied to
        the portrait's own (as the frames' head motion does), not eq. 2's absolute R̄ — a
        portrait in three-quarter view would otherwise be turned to the clip's frontal view,
        which a 2-D warp can only show by smearing the far eye and cheek. Translation and scale
        stay the portrait's (τ̄, s̄ of the style clip are in another image's pixels): the face
        stays in place and turns about its own centre.
        """
        if not references:
            return []
        return list(self.render(source, isp_targets(source, references), references))

    def render(
        self, source: SourceFace, targets: FrameTargets, references: list[ReferenceFrame] | None = None
    ) -> np.ndarray:
        """B×S×S×3 uint8 frames of the crop. ``references``: the style clip's reference frames; when
        the portrait shows no teeth (closed lips, or parted over a dark gap), the widest open of
        them lends its teeth, tongue and cavity (:func:`mouth.mouth_donor`) to the opened mouth;
        without one a closed mouth gets a synthesised interior and parted lips keep their own."""
        prep = self._prepared(source)
        wants_donor = prep.mouth.paint or prep.mouth.toothless
        donor = warp_mouth.cached_donor(source, references, prep.device) if wants_donor else None
        targets = self.clamp_targets(source, targets)
        size = source.size
        out = np.repeat(source.crop[None], len(targets), 0)  # outside the support box: the crop itself
        x0, y0, x1, y1 = prep.box
        with runtime.inference():
            for start in range(0, len(targets), self.config.batch_size):
                chunk = targets[start : start + self.config.batch_size]
                out[start : start + len(chunk), y0:y1, x0:x1] = self._render_chunk(prep, chunk, size, donor)
        return out

    def _target_points(self, prep: _Prepared, targets: FrameTargets) -> tuple[torch.Tensor, torch.Tensor]:
        """B×68×2 target landmarks and B×(68+L+V+A)×2 target control points, crop pixels."""
        landmarks = targets.landmarks[..., :2]
        skull = targets.scale[:, None, None] * np.einsum("nj,bij->bni", prep.skull, targets.rotation)
        skull = skull[..., :2] + targets.translation[:, None, :2]
        anchors = np.broadcast_to(prep.anchors, (len(targets),) + prep.anchors.shape)
        ctrl = np.concatenate([landmarks, flow.lip_midpoints(landmarks), skull, anchors], 1)
        dev = prep.device
        return (
            torch.tensor(landmarks, dtype=torch.float32, device=dev),
            torch.tensor(ctrl, dtype=torch.float32, device=dev),
        )

    def sample_map(self, source: SourceFace, targets: FrameTargets) -> torch.Tensor:
        """B×h×w×2 backward map (source crop pixels for each target pixel of the support box),
        before eyelids; for inspection and benchmarks. Targets are used as given (not clamped)."""
        prep = self._prepared(source)
        _, ctrl = self._target_points(prep, targets)
        with runtime.inference():
            return self._dense_map(prep, ctrl)

    def _dense_map(self, prep: _Prepared, ctrl: torch.Tensor) -> torch.Tensor:
        b = ctrl.shape[0]
        src = prep.source_points.unsqueeze(0).expand(b, -1, -1)
        scale = float(max(prep.box[2] - prep.box[0], prep.box[3] - prep.box[1]))
        if self.config.method == "tps":
            coef = flow.tps_fit(ctrl / scale, (src - ctrl) / scale, regularization=self.config.tps_regularization)
            disp = flow.tps_eval(prep.nodes / scale, ctrl / scale, coef) * scale  # B×P×2
        else:
            jac = flow.local_jacobians(ctrl, src, prep.neighbours)
            gap = torch.cdist(ctrl, ctrl) + 1e9 * torch.eye(ctrl.shape[1], device=ctrl.device)
            sigma = self.config.mask_sigma * gap.min(-1).values.clamp_min(2.0)
            disp = flow.first_order_eval(prep.nodes, ctrl, src, jac, sigma=sigma, background_weight=1e-4)
            disp = disp - prep.nodes
        gh, gw = prep.node_shape
        # The coarse lattice's positions plus their displacement, upsampled bilinearly to every
        # pixel of the box (align_corners: lattice node i sits on pixel i·(w−1)/(gw−1)). Bilinear
        # interpolation reproduces the lattice positions exactly, so this is ``pixel + disp``.
        full = prep.lattice.expand(b, -1, -1).clone()  # B×(gh·gw)×2
        full[:, prep.node_index] += disp * prep.node_support[None, :, None]
        coarse = full.view(b, gh, gw, 2).permute(0, 3, 1, 2)  # B×2×gh×gw
        dense = torch.matmul(prep.up_y, torch.matmul(coarse, prep.up_x_t))  # B×2×gh×w → B×2×h×w
        return dense.permute(0, 2, 3, 1)  # B×h×w×2

    def _render_chunk(
        self, prep: _Prepared, targets: FrameTargets, size: int, donor: MouthDonor | None = None
    ) -> np.ndarray:
        """B×h×w×3 uint8 pixels of the support box for a chunk of (clamped) targets."""
        b = len(targets)
        landmarks, ctrl = self._target_points(prep, targets)
        iod = torch.tensor(targets.scale, dtype=torch.float32, device=prep.device)  # canonical eye distance is 1
        smap = self._dense_map(prep, ctrl)
        x0, y0, x1, y1 = prep.box
        eye_open = torch.tensor(targets.eye_open, dtype=torch.float32, device=prep.device)
        cover = None
        if bool((eye_open < 0.999).any()):
            smap, cover = eyes.close_eyelids(smap, (x0, y0), landmarks, eye_open)
        norm = (smap + 0.5) * (2.0 / size) - 1.0  # pixel centres → grid_sample's [−1, 1], align_corners=False
        warped = F.grid_sample(
            prep.crop.expand(b, -1, -1, -1), norm, mode=prep.mouth.resampling, padding_mode="border",
            align_corners=False,
        )  # B×3×h×w
        if cover is not None:
            warped += cover.unsqueeze(1) * (prep.lid.view(1, 3, 1, 1) - warped)
        warp_mouth.composite_mouth(
            prep.mouth, warped, smap, targets, landmarks, iod,
            crop=prep.crop, box=prep.box, source_landmarks=prep.source_points[:68], donor=donor,
            fade_in=self.config.mouth_fade_in, feather=self.config.mouth_feather_px,
        )
        return warped.clamp_(0, 255).round_().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()

    # -----------------------------------------------------------------------------------------
    # paste-back

    def paste_back(self, frame: np.ndarray, source: SourceFace) -> np.ndarray:
        """A rendered crop (S×S×3, or B×S×S×3) blended into the full portrait (H×W×3 / B×H×W×3 uint8).

        Only the head's box is resampled (inverse of ``source.transform``) and blended with a
        feathered mask that reaches past the head's support; all other pixels are the portrait's.
        """
        self._prepared(source)  # puts this renderer's paste plan into the cache
        return compose.paste_back(frame, source)


def isp_targets(source: SourceFace, references: list[ReferenceFrame]) -> FrameTargets:
    """Paper eq. 2 targets for ISPs: ``c + ε̄`` with the reference's turn on the portrait's own
    rotation, the portrait's translation and scale (see :meth:`WarpRenderer.render_isps`).

    ``c`` is the portrait's canonical face with its lips closed (:func:`geometry.close_mouth`): eq. 2
    assumes a neutral source image, and a portrait smiling with parted lips would otherwise keep
    them parted in the closed None and M patterns (its smile — corners, width — is kept).
    """
    n = len(references)
    neutral = geometry.close_mouth(source.identity)
    return FrameTargets(
        canonical=np.stack([neutral + r.expression for r in references]),
        rotation=np.stack([r.turn @ source.pose.rotation for r in references]),
        translation=np.repeat(source.pose.translation[None], n, 0),
        scale=np.full(n, source.pose.scale),
        eye_open=np.ones(n),
    )


def _linear_upsampling(n_in: int, n_out: int) -> torch.Tensor:
    """``n_out×n_in`` weights of 1-D linear interpolation with aligned end points (sample ``j`` at
    input position ``j·(n_in−1)/(n_out−1)``): bilinear upsampling as two small matrix products."""
    pos = torch.linspace(0.0, n_in - 1.0, n_out, dtype=torch.float64)
    lo = pos.floor().clamp(max=max(n_in - 2, 0)).long()
    frac = pos - lo
    w = torch.zeros(n_out, n_in, dtype=torch.float64)
    w[torch.arange(n_out), lo] = 1.0 - frac
    if n_in > 1:
        w[torch.arange(n_out), lo + 1] += frac
    return w.float()


def turn_limit(source: SourceFace, *, fold_ratio: float, ceiling: float, directions: int = 16) -> float:
    """The largest out-of-plane head turn (degrees, up to ``ceiling``) that a 2-D warp of this portrait
    can show: turning it about any axis in the picture's plane by that much brings no two
    neighbouring landmarks (0.08–0.4 eye distances apart in the portrait) closer than
    ``fold_ratio`` of their distance.

    A 2-D warp cannot hide what a turn hides: where one part of the face passes in front of
    another, it squeezes the pixels between them into a fold. On a frontal photo that starts at
    12–16° (the far cheek); on a three-quarter view the nose already covers the far cheek and a
    turn of a few degrees drags the nose across it."""
    pts = source.landmarks[:, :2]
    iod = float(np.linalg.norm(pts[45] - pts[36]))
    gap = np.linalg.norm(pts[:, None] - pts[None], axis=-1)
    i, j = np.nonzero(np.triu((gap > 0.08 * iod) & (gap < 0.4 * iod)))
    gap = gap[i, j]
    phi = np.linspace(0.0, 2 * np.pi, directions, endpoint=False)
    axes = np.stack([np.cos(phi), np.sin(phi), np.zeros_like(phi)], 1)  # D×3, in the picture's plane

    def folds(deg: np.ndarray) -> np.ndarray:  # D: whether turning by deg[d] about axes[d] folds
        turn = Rotation.from_rotvec(axes * np.deg2rad(deg)[:, None]).as_matrix()  # D×3×3
        turned = np.einsum("dij,nj->dni", turn @ source.pose.rotation, source.identity)
        moved = np.linalg.norm(turned[:, i, :2] - turned[:, j, :2], axis=-1) * source.pose.scale
        return (moved < fold_ratio * gap).any(-1)

    lo, hi = np.zeros(directions), np.full(directions, float(ceiling))
    if not folds(hi).any():
        return float(ceiling)
    for _ in range(12):  # bisection to ceiling / 4096
        mid = 0.5 * (lo + hi)
        bad = folds(mid)
        hi, lo = np.where(bad, mid, hi), np.where(bad, lo, mid)
    return float(lo.min())


def _clamp_rotations(rotations: np.ndarray, reference: np.ndarray, *, roll: float, swing: float) -> np.ndarray:
    """``rotations`` (B×3×3) moved toward ``reference``: each relative rotation split into a turn in
    the picture's plane (about the view axis, z) and a turn out of it (about an axis in the plane),
    both shortened by one factor until ``(out/swing)² + (in/roll)² ≤ 1`` (degrees): each alone up
    to its limit, less of each together (a tilted and turned head folds the top of the hair before
    either limit). Rotations within the limits come back unchanged."""
    rotations = np.asarray(rotations, dtype=np.float64)
    rel = Rotation.from_matrix(rotations @ reference.T).as_quat()  # B×4: x, y, z, w
    twist = np.zeros_like(rel)
    twist[:, 2:] = rel[:, 2:]
    norm = np.linalg.norm(twist, axis=1, keepdims=True)
    twist = np.where(norm > 1e-12, twist / np.maximum(norm, 1e-12), [0.0, 0.0, 0.0, 1.0])
    in_plane = Rotation.from_quat(twist)
    out_of_plane = Rotation.from_quat(rel) * in_plane.inv()  # rel = out_of_plane · in_plane
    a, b = out_of_plane.as_rotvec(), in_plane.as_rotvec()
    out_angle, in_angle = np.linalg.norm(a, axis=1), np.linalg.norm(b, axis=1)
    reach = np.hypot(out_angle / max(np.deg2rad(swing), 1e-9), in_angle / max(np.deg2rad(roll), 1e-9))
    shrink = np.maximum(reach, 1.0)[:, None]
    shortened = (Rotation.from_rotvec(a / shrink) * Rotation.from_rotvec(b / shrink)).as_matrix() @ reference
    return np.where((reach <= 1.0)[:, None, None], rotations, shortened)
