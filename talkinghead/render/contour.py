"""Local coordinates of an opening bounded by two contours (lips, eyelids), batched in torch.

An opening (mouth, eye) is described by its two corners and an upper and a lower contour that
run from corner to corner. For every pixel we compute ``a`` (0 at the left corner, 1 at the
right, along the corner axis) and ``v`` (pixels along the axis' normal, down the image), and the
two contours as smooth functions ``v_up(a)``, ``v_lo(a)`` (cubic Hermite with Catmull-Rom
tangents through the landmarks). Inside the opening: ``v_up(a) < v < v_lo(a)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

# Lips and lids leave their corners more steeply than the straight line to the next landmark
# (an open mouth is rounded, not a diamond): end tangents are this many times that slope.
CORNER_STEEPNESS = 1.5
TABLE_SIZE = 65  # contour samples between the corners; pixels interpolate between them


@dataclass(frozen=True)
class OpeningFrame:
    """Per-pixel coordinates of B openings; tensors B×P (or B×h×w, the query's shape)."""

    a: torch.Tensor  # position along the corner axis, 0 … 1 between the corners
    v: torch.Tensor  # signed distance from the corner axis, pixels, positive down
    up: torch.Tensor  # v of the upper contour at a
    lo: torch.Tensor  # v of the lower contour at a
    length: torch.Tensor  # B, corner-to-corner distance in pixels
    origin: torch.Tensor  # B×2, the left corner
    axis: torch.Tensor  # B×2, unit vector from the left corner to the right one
    normal: torch.Tensor  # B×2, the axis turned 90° toward +y
    tables: torch.Tensor  # B×2×K: v of the upper and lower contours at K evenly spaced a in [0, 1]

    def project(self, points: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(a, v) of B×K×2 points in this frame."""
        d = points - self.origin.unsqueeze(1)
        return (d * self.axis.unsqueeze(1)).sum(-1) / self.length.unsqueeze(1), (d * self.normal.unsqueeze(1)).sum(-1)

    def contours_at(self, a: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(v_up, v_lo) of this opening at positions ``a`` (B×…); flat beyond the corners."""
        return _lookup(self.tables, a)

    def to_pixels(self, a: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """Pixels (B×…×2) of frame coordinates (a, v) (B×…)."""
        shape = (-1,) + (1,) * (a.dim() - 1) + (2,)
        along = (a * self.length.view(shape[:-1])).unsqueeze(-1)
        return self.origin.view(shape) + along * self.axis.view(shape) + v.unsqueeze(-1) * self.normal.view(shape)


def _hermite(a: torch.Tensor, knots_a: torch.Tensor, knots_v: torch.Tensor) -> torch.Tensor:
    """Evaluate the Catmull-Rom spline through (knots_a, knots_v) (B×M, knots_a increasing) at a (B×P)."""
    m = knots_a.shape[1]
    da = knots_a[:, 1:] - knots_a[:, :-1]  # B×(M-1)
    slope = (knots_v[:, 1:] - knots_v[:, :-1]) / da
    tangent = torch.empty_like(knots_v)
    tangent[:, 0] = CORNER_STEEPNESS * slope[:, 0]
    tangent[:, -1] = CORNER_STEEPNESS * slope[:, -1]
    if m > 2:
        tangent[:, 1:-1] = (knots_v[:, 2:] - knots_v[:, :-2]) / (knots_a[:, 2:] - knots_a[:, :-2])
    a = torch.maximum(torch.minimum(a, knots_a[:, -1:]), knots_a[:, :1])
    seg = (a.unsqueeze(-1) >= knots_a[:, None, 1:-1]).sum(-1)  # B×P in [0, M-2]

    def take(x: torch.Tensor) -> torch.Tensor:
        return torch.gather(x, 1, seg)

    a0, a1 = take(knots_a[:, :-1]), take(knots_a[:, 1:])
    v0, v1 = take(knots_v[:, :-1]), take(knots_v[:, 1:])
    m0, m1 = take(tangent[:, :-1]), take(tangent[:, 1:])
    h = a1 - a0
    t = (a - a0) / h
    t2, t3 = t * t, t * t * t
    return (2 * t3 - 3 * t2 + 1) * v0 + (t3 - 2 * t2 + t) * h * m0 + (-2 * t3 + 3 * t2) * v1 + (t3 - t2) * h * m1


def opening_frame(upper: torch.Tensor, lower: torch.Tensor, query: torch.Tensor) -> OpeningFrame:
    """Coordinates of ``query`` points (B×P×2 or B×h×w×2, pixels) in the opening bounded by the
    ``upper`` and ``lower`` contours (B×M×2 each, left corner first, both sharing the corners)."""
    left, right = 0.5 * (upper[:, 0] + lower[:, 0]), 0.5 * (upper[:, -1] + lower[:, -1])  # B×2
    axis = right - left
    length = axis.norm(dim=-1).clamp_min(1e-3)  # B
    u = axis / length[:, None]
    n = torch.stack([-u[:, 1], u[:, 0]], -1)  # the axis turned 90° toward +y (down the image)

    def coords(p: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        shape = (-1,) + (1,) * (p.dim() - 2) + (2,)
        d = p - left.view(shape)
        return (d * u.view(shape)).sum(-1) / length.view(shape[:-1]), (d * n.view(shape)).sum(-1)

    def table(points: torch.Tensor) -> torch.Tensor:
        ka, kv = coords(points)
        ka = torch.cummax(ka, 1).values + torch.arange(ka.shape[1], device=ka.device) * 1e-4  # increasing
        samples = torch.linspace(0.0, 1.0, TABLE_SIZE, dtype=ka.dtype, device=ka.device)
        return _hermite(samples.expand(len(ka), -1), ka, kv)  # B×K

    qa, qv = coords(query)
    tables = torch.stack([table(upper), table(lower)], 1)  # B×2×K
    up, lo = _lookup(tables, qa)
    return OpeningFrame(a=qa, v=qv, up=up, lo=lo, length=length, origin=left, axis=u, normal=n, tables=tables)


def _lookup(tables: torch.Tensor, a: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Both contours at ``a`` (B×…) by linear interpolation in the B×2×K tables."""
    k = tables.shape[-1]
    x = a.reshape(len(a), 1, -1).clamp(0.0, 1.0) * (k - 1)
    i0 = x.floor().clamp(max=k - 2)
    w = x - i0
    i0 = i0.long().expand(-1, 2, -1)
    v0, v1 = torch.gather(tables, 2, i0), torch.gather(tables, 2, i0 + 1)
    v = v0 + w * (v1 - v0)  # B×2×P
    return v[:, 0].reshape(a.shape), v[:, 1].reshape(a.shape)


def interp(a: torch.Tensor, knots_a: torch.Tensor, knots_v: torch.Tensor) -> torch.Tensor:
    """Piecewise-linear v(a) through B×K knots (sorted here), extended flat, at a (B×…)."""
    order = knots_a.argsort(-1)
    ka, kv = torch.gather(knots_a, 1, order), torch.gather(knots_v, 1, order)
    flat = a.reshape(len(a), -1).contiguous()
    idx = torch.searchsorted(ka.contiguous(), flat).clamp(1, ka.shape[1] - 1)
    a0, a1 = torch.gather(ka, 1, idx - 1), torch.gather(ka, 1, idx)
    v0, v1 = torch.gather(kv, 1, idx - 1), torch.gather(kv, 1, idx)
    t = ((flat - a0) / (a1 - a0).clamp_min(1e-6)).clamp(0.0, 1.0)
    return (v0 + t * (v1 - v0)).reshape(a.shape)


def pixel_grid(
    origin: tuple[int, int], shape: tuple[int, int], batch: int, *, dtype: torch.dtype, device: torch.device
) -> torch.Tensor:
    """B×h×w×2 coordinates (x, y) of the h×w pixels whose top-left is ``origin`` = (x0, y0): the
    query of :func:`opening_frame` over a box."""
    (x0, y0), (h, w) = origin, shape
    ys = torch.arange(y0, y0 + h, dtype=dtype, device=device)
    xs = torch.arange(x0, x0 + w, dtype=dtype, device=device)
    return torch.stack(torch.meshgrid(xs, ys, indexing="xy"), -1).unsqueeze(0).expand(batch, -1, -1, -1)


def smoothstep(x: torch.Tensor) -> torch.Tensor:
    """``3x² − 2x³`` of ``x`` clamped to [0, 1]: soft edges with no kink at either end."""
    x = x.clamp(0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def soft_inside(frame: OpeningFrame, feather: float) -> torch.Tensor:
    """Coverage in [0, 1] of the opening, edges feathered over ``feather`` pixels."""
    f = max(feather, 1e-3)
    top = ((frame.v - frame.up) / f + 0.5).clamp(0.0, 1.0)
    bottom = ((frame.lo - frame.v) / f + 0.5).clamp(0.0, 1.0)
    ends = ((frame.a * frame.length.view((-1,) + (1,) * (frame.a.dim() - 1))) / f + 0.5).clamp(0.0, 1.0)
    ends = ends * (((1.0 - frame.a) * frame.length.view((-1,) + (1,) * (frame.a.dim() - 1))) / f + 0.5).clamp(0.0, 1.0)
    return top * bottom * ends
