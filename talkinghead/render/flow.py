"""Dense backward warp fields from sparse point motion: thin-plate splines, and first-order local
affine motions composed with soft masks (paper eq. 8–9 / supplement eq. 1–2, analytic masks).

Both map a point p̄ of the *target* frame to the point p of the *source* crop it samples
(backward mapping, what ``grid_sample`` needs). Points are ``B×N×2`` crop pixels; the fields are
evaluated on arbitrary ``P×2`` query points so a caller can use a coarse grid and upsample.
"""

from __future__ import annotations

import numpy as np
import torch

from talkinghead import geometry

# ---------------------------------------------------------------------------------------------
# Virtual points attached to the skull (forehead, crown, hair outline), canonical frame.


def skull_points(identity: np.ndarray) -> np.ndarray:
    """``V×3`` canonical points on the forehead and around the head, built from a face's own
    canonical landmarks so that they sit where *this* face's forehead and hair are.

    They carry no expression: posed with the target's rigid pose they make the forehead, hair and
    head outline follow head rotation rigidly, while the 68 landmarks carry the expression.
    Rows: two forehead rows above the brows (the forehead slopes back, hence the growing z),
    then two rings around the upper head at the depth of the jaw's top points (where a head's
    outline is seen from the front), the inner one on the skull, the outer one on the hair.
    """
    c = np.asarray(identity, dtype=np.float64)
    brows = c[list(geometry.RIGHT_BROW + geometry.LEFT_BROW)]
    brow_y = brows[:, 1].mean()
    centre_x = c[list(geometry.NOSE)][:, 0].mean()
    half_width = 0.5 * (c[16, 0] - c[0, 0])
    brow_to_chin = c[8, 1] - brow_y
    depth = 0.5 * (c[0, 2] + c[16, 2])  # the jaw's top points: the head outline's depth
    rows = []
    for lift, back in ((0.22, 0.06), (0.48, 0.2)):  # forehead rows, in brow-to-chin units
        row = brows.copy()
        row[:, 1] -= lift * brow_to_chin
        row[:, 2] += back * brow_to_chin
        rows.append(row)
    centre_y = 0.5 * (c[0, 1] + c[16, 1])
    theta = np.deg2rad(np.linspace(-20.0, 200.0, 11))
    for grow in (1.08, 1.42):  # skull outline, then the hair volume around it
        rx, ry = grow * 1.25 * half_width, grow * 1.12 * brow_to_chin
        ring = np.stack(
            [centre_x + rx * np.cos(theta), centre_y - ry * np.sin(theta), np.full_like(theta, depth)], -1
        )
        rows.append(ring)
    return np.concatenate(rows, 0)


# Consecutive lip landmarks whose midpoints are extra control points: with only three points per
# lip edge, a spline lets the edge bow between them (a closing smile's lips turn wavy).
LIP_SEGMENTS = tuple(
    pair for ring in (geometry.INNER_LIPS, geometry.OUTER_LIPS) for pair in zip(ring, ring[1:] + ring[:1], strict=True)
)


def lip_midpoints(points: np.ndarray) -> np.ndarray:
    """``(…, L, D)`` midpoints of :data:`LIP_SEGMENTS` of ``(…, 68, D)`` landmarks."""
    p = np.asarray(points)
    a, b = zip(*LIP_SEGMENTS, strict=True)
    return 0.5 * (p[..., list(a), :] + p[..., list(b), :])


def still_anchors(landmarks: np.ndarray) -> np.ndarray:
    """``A×2`` crop points that never move: the neck and the shoulders below the chin.

    The first row sits well below the chin so an open jaw has room to move before it. (The
    crop border needs no anchors: outside the head's support mask nothing moves.)
    """
    p = np.asarray(landmarks, dtype=np.float64)[:, :2]
    iod = float(np.linalg.norm(p[45] - p[36]))
    chin = p[8]
    down = chin - p[27]
    down /= max(np.linalg.norm(down), 1e-9)
    side = np.array([-down[1], down[0]])
    pts = []
    for drop, spread in ((0.62, (-0.5, 0.0, 0.5)), (1.0, (-1.2, -0.6, 0.0, 0.6, 1.2))):
        for s in spread:
            pts.append(chin + drop * iod * down + s * iod * side)
    return np.asarray(pts)


# ---------------------------------------------------------------------------------------------
# Thin-plate spline (backward map: target points → source points)


def _kernel(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """The thin-plate radial basis U = r² log r² between B×P×2 points ``a`` and B×N×2 points
    ``b`` → B×P×N (0 at r = 0). In place where it can: it is the renderer's biggest tensor."""
    r2 = torch.baddbmm(
        a.square().sum(-1, keepdim=True) + b.square().sum(-1).unsqueeze(1), a, b.transpose(1, 2), alpha=-2.0
    )  # |a|² + |b|² − 2a·b
    r2.clamp_min_(1e-20)
    return torch.log(r2).mul_(r2)


def tps_fit(ctrl: torch.Tensor, values: torch.Tensor, *, regularization: float) -> torch.Tensor:
    """Thin-plate spline through ``ctrl`` (B×N×2, normalised units) with ``values`` (B×N×D).

    Returns ``B×(N+3)×D`` coefficients (N kernel weights, then the affine part). The
    ``regularization`` λ turns exact interpolation into smoothing, which keeps the system
    solvable when two target points coincide (a closed mouth's inner lips).
    """
    b, n, _ = ctrl.shape
    dt = torch.float64
    c = ctrl.to(dt)
    k = _kernel(c, c)  # B×N×N
    k = k + regularization * torch.eye(n, dtype=dt, device=c.device)
    p = torch.cat([torch.ones(b, n, 1, dtype=dt, device=c.device), c], -1)  # B×N×3
    top = torch.cat([k, p], -1)
    bottom = torch.cat([p.transpose(1, 2), torch.zeros(b, 3, 3, dtype=dt, device=c.device)], -1)
    system = torch.cat([top, bottom], 1)  # B×(N+3)×(N+3)
    rhs = torch.cat([values.to(dt), torch.zeros(b, 3, values.shape[-1], dtype=dt, device=c.device)], 1)
    return _solve(system, rhs).to(values.dtype)


def _solve(system: torch.Tensor, rhs: torch.Tensor) -> torch.Tensor:
    """Batched linear solve. On the CPU one matrix at a time: torch's *batched* LU on the CPU (MKL)
    fails with "Pivots given to lu_solve must all be greater or equal to 1" after
    ``torch.set_num_threads(2)`` (torch 2.13), and numpy's threaded solve stalls for tens of
    milliseconds when other processes share the cores."""
    if system.device.type == "cpu":
        return torch.stack([torch.linalg.solve(a, b) for a, b in zip(system, rhs, strict=True)])
    return torch.linalg.solve(system, rhs)


def _inv2(m: torch.Tensor) -> torch.Tensor:
    """Inverse of ``...×2×2`` matrices in closed form (no batched LAPACK call)."""
    a, b, c, d = m[..., 0, 0], m[..., 0, 1], m[..., 1, 0], m[..., 1, 1]
    det = a * d - b * c
    det = torch.where(det.abs() < 1e-12, torch.full_like(det, 1e-12), det)
    return torch.stack([torch.stack([d, -b], -1), torch.stack([-c, a], -1)], -2) / det[..., None, None]


def tps_eval(query: torch.Tensor, ctrl: torch.Tensor, coef: torch.Tensor) -> torch.Tensor:
    """Evaluate the spline at ``query`` (P×2 or B×P×2) → ``B×P×D``."""
    b, n, _ = ctrl.shape
    if query.dim() == 2:
        query = query.unsqueeze(0).expand(b, -1, -1)
    u = _kernel(query, ctrl)  # B×P×N
    affine = coef[:, n:]  # B×3×D
    return u @ coef[:, :n] + affine[:, :1] + query @ affine[:, 1:]


# ---------------------------------------------------------------------------------------------
# First-order local affine motions with soft masks (paper eq. 8–9)


def local_jacobians(
    target: torch.Tensor, source: torch.Tensor, neighbours: torch.Tensor, *, prior: float = 0.05
) -> torch.Tensor:
    """Per point k a 2×2 affine A_k with ``source_j − source_k ≈ A_k (target_j − target_k)`` over
    k's neighbours (``N×K`` indices), regularised toward the global linear map.

    The 2-D counterpart of the paper's R·R̄⁻¹ in eq. 8: the local linear motion around keypoint k,
    estimated from the keypoints around it instead of predicted by a network.
    """
    dt = target - target.mean(1, keepdim=True)
    ds = source - source.mean(1, keepdim=True)
    g = dt.transpose(1, 2) @ dt  # B×2×2
    global_lin = (ds.transpose(1, 2) @ dt) @ _inv2(g + 1e-6 * torch.eye(2, device=g.device))
    nt = target[:, neighbours] - target.unsqueeze(2)  # B×N×K×2
    ns = source[:, neighbours] - source.unsqueeze(2)
    scale2 = g.diagonal(dim1=1, dim2=2).sum(-1) / target.shape[1]  # mean squared spread, B
    mu = (prior * scale2)[:, None, None, None]
    cross = ns.transpose(2, 3) @ nt + mu * global_lin[:, None]  # B×N×2×2
    auto = nt.transpose(2, 3) @ nt + mu * torch.eye(2, device=g.device)
    return cross @ _inv2(auto)


def first_order_eval(
    query: torch.Tensor,
    target: torch.Tensor,
    source: torch.Tensor,
    jacobians: torch.Tensor,
    *,
    sigma: torch.Tensor,
    background_weight: float,
) -> torch.Tensor:
    """Paper eq. 8–9 with analytic masks: ``p = Σ_k m_k(p̄)·(A_k(p̄ − C̄_k) + C_k) + m_0(p̄)·p̄``.

    ``m`` is a softmax over Gaussian logits ``−|p̄ − C̄_k|²/2σ_k²`` (``sigma``: B×N) plus a
    background motion (identity) with constant weight, so Σ m = 1 (eq. 9).
    """
    b = target.shape[0]
    if query.dim() == 2:
        query = query.unsqueeze(0).expand(b, -1, -1)
    d2 = torch.cdist(query, target).square()  # B×P×N
    logits = -d2 / (2.0 * sigma.square()[:, None, :])
    bg = torch.full_like(logits[..., :1], float(np.log(background_weight)))
    m = torch.softmax(torch.cat([logits, bg], -1), -1)  # B×P×(N+1), eq. 9
    offset = query.unsqueeze(2) - target.unsqueeze(1)  # B×P×N×2: p̄ − C̄_k
    moved = torch.einsum("bnij,bpnj->bpni", jacobians, offset) + source.unsqueeze(1)  # eq. 8: w_k(p̄)
    return (m[..., :-1, None] * moved).sum(2) + m[..., -1:] * query
