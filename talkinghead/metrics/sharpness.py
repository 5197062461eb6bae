"""Sharpness: CPBD (Narvekar & Karam, IEEE TIP 2011), the sharpness metric of the paper's Table 1."""

from __future__ import annotations

import numpy as np

from talkinghead.errors import InputError

_CPBD_BLOCK = 64  # block side, pixels
_CPBD_EDGE_BLOCK_FRACTION = 0.002  # a block is an edge block when more than this fraction is edge
_CPBD_BETA = 3.6  # slope of the probability-of-blur-detection psychometric function
_CPBD_MAX_MARGIN = 100  # an edge side is followed for at most 101 pixels
_CPBD_JNB_LOW_CONTRAST = 5.0  # just-noticeable blur width for block contrast ≤ 50
_CPBD_JNB_HIGH_CONTRAST = 3.0  # … and for contrast > 50
_CPBD_LOW_CONTRAST_MAX = 50
_CPBD_P_JNB_BUCKET = 63  # CPBD = P(P_blur ≤ 0.63), 0.63 ≈ 1 − e^(−1): blur at the JNB width


def _grey_levels(image: np.ndarray) -> np.ndarray:
    """uint8 RGB ``H×W×3`` or grey ``H×W`` → float64 grey levels 0..255 (ITU-R 601 luma, rounded
    to integers exactly as Pillow's ``convert("L")``)."""
    a = np.asarray(image)
    if a.dtype != np.uint8 or not (a.ndim == 2 or (a.ndim == 3 and a.shape[2] == 3)):
        raise InputError(
            f"CPBD needs a uint8 RGB (H×W×3) or grey (H×W) image, got shape {a.shape} and dtype {a.dtype}."
        )
    if a.ndim == 3:
        rgb = a.astype(np.int64)
        a = (rgb[..., 0] * 19595 + rgb[..., 1] * 38470 + rgb[..., 2] * 7471 + 0x8000) >> 16
    if a.shape[0] < _CPBD_BLOCK or a.shape[1] < _CPBD_BLOCK:
        raise InputError(
            f"CPBD works on {_CPBD_BLOCK}×{_CPBD_BLOCK} blocks; the image is only {a.shape[1]}×{a.shape[0]}: "
            "score a larger frame."
        )
    return a.astype(np.float64)


def _run_left(cond: np.ndarray) -> np.ndarray:
    """Per row, the number of consecutive True values ending at each column (inclusive)."""
    cols = np.arange(cond.shape[1])
    last_false = np.maximum.accumulate(np.where(cond, -1, cols), axis=1)
    return cols - last_false


def _sobel_vertical_edges(grey: np.ndarray) -> np.ndarray:
    """Edge map for the width measurement: the thinned horizontal Sobel response, as in the
    widely used Python port of the authors' MATLAB code (``cpbd`` 1.0.7, after Octave's ``edge``)."""
    from scipy.ndimage import convolve

    kernel = np.array([[1.0, 0.0, -1.0], [2.0, 0.0, -2.0], [1.0, 0.0, -1.0]]) / 8.0
    strength = convolve(grey, kernel) ** 2  # scipy's default 'reflect' border
    strength[strength <= 2.0 * np.sqrt(strength.mean())] = 0.0  # Octave's threshold, as ported
    pad = np.pad(strength, 1)  # zero border
    horizontal = (strength > pad[1:-1, :-2]) & (strength > pad[1:-1, 2:])
    vertical = (strength > pad[:-2, 1:-1]) & (strength > pad[2:, 1:-1])
    return horizontal | vertical


def _edge_widths(edges: np.ndarray, grey: np.ndarray) -> np.ndarray:
    """Marziliano edge widths along rows at edge pixels whose gradient is horizontal, 0 elsewhere."""
    gy, gx = np.gradient(grey)
    with np.errstate(invalid="ignore"):
        angle = np.where(gx != 0, np.degrees(np.arctan2(gy, gx)), np.where(gy == np.pi / 2, 90.0, 0.0))
    widths = np.zeros_like(grey)
    if not angle.any():
        return widths
    quantised = 45.0 * np.round(angle / 45.0)
    h, w = grey.shape
    interior = np.zeros_like(edges)
    interior[1:-1, 1:-1] = edges[1:-1, 1:-1]
    left_step = np.zeros((h, w), bool)  # comparisons of column j with column j−1 (False at j = 0)
    right_step = np.zeros((h, w), bool)  # … of column j with column j+1 (False at j = w−1)
    for falling, select in ((True, interior & (np.abs(quantised) == 180)), (False, interior & (quantised == 0))):
        if not select.any():
            continue
        # Walk outward from the edge while the intensity keeps falling (angle ±180: dark to the
        # right) or rising (angle 0) — the extent of the edge's ramp on each side.
        if falling:
            left_step[:, 1:] = grey[:, :-1] > grey[:, 1:]
            right_step[:, :-1] = grey[:, 1:] < grey[:, :-1]
        else:
            left_step[:, 1:] = grey[:, :-1] < grey[:, 1:]
            right_step[:, :-1] = grey[:, 1:] > grey[:, :-1]
        run_left = _run_left(left_step)
        run_right = _run_left(right_step[:, ::-1])[:, ::-1]
        rows, cols = np.nonzero(select)
        width_left = np.minimum(run_left[rows, cols - 1], _CPBD_MAX_MARGIN) + 1
        width_right = np.minimum(run_right[rows, cols + 1], _CPBD_MAX_MARGIN) + 1
        widths[rows, cols] = width_left + width_right
    return widths


def cpbd(image: np.ndarray) -> float:
    """CPBD sharpness (Narvekar & Karam, IEEE TIP 2011) of one frame, 0..1, higher is sharper.

    The image is cut into 64×64 blocks; in blocks with enough Canny edges, the width of each Sobel
    edge (Marziliano's method) and the block's contrast give a probability that the blur is seen;
    CPBD is the fraction of edges whose probability stays at or below the just-noticeable level.

    A vectorised re-implementation of the Python port that talking-head papers use (``pip install
    cpbd``, 1.0.7, itself after the authors' MATLAB code), quirks included: widths measured along
    rows only, scikit-image's default Canny on 0..255 values, Octave's Sobel threshold as ported.
    Its numbers match that package's ``compute`` on the same grey image. Greyscale as Pillow's
    ``convert("L")``. An image with no edge block scores 0. Two quirks of that port come along:
    its thinning keeps only strict local maxima of the Sobel response, so an edge whose response
    has a flat top (a linear ramp) is skipped; and when every gradient angle of the image is
    exactly 0 (e.g. a synthetic picture of vertical steps only) no width is measured at all.
    """
    from skimage.feature import canny

    grey = _grey_levels(image)
    widths = _edge_widths(_sobel_vertical_edges(grey), grey)
    canny_edges = canny(grey)

    nby, nbx = grey.shape[0] // _CPBD_BLOCK, grey.shape[1] // _CPBD_BLOCK
    crop = (slice(0, nby * _CPBD_BLOCK), slice(0, nbx * _CPBD_BLOCK))

    def blocks(a: np.ndarray) -> np.ndarray:  # H×W → nby×nbx×64×64
        return a[crop].reshape(nby, _CPBD_BLOCK, nbx, _CPBD_BLOCK).swapaxes(1, 2)

    edge_count = blocks(canny_edges).sum(axis=(2, 3))
    is_edge_block = edge_count > _CPBD_BLOCK * _CPBD_BLOCK * _CPBD_EDGE_BLOCK_FRACTION
    g = blocks(grey)
    contrast = (g.max(axis=(2, 3)) - g.min(axis=(2, 3))).astype(np.int64)
    jnb = np.where(contrast <= _CPBD_LOW_CONTRAST_MAX, _CPBD_JNB_LOW_CONTRAST, _CPBD_JNB_HIGH_CONTRAST)

    bw = blocks(widths)
    jnb_per_pixel = np.broadcast_to(jnb[:, :, None, None], bw.shape)
    counted = (bw != 0) & is_edge_block[:, :, None, None]
    if not counted.any():
        return 0.0
    p_blur = 1.0 - np.exp(-(np.abs(bw[counted] / jnb_per_pixel[counted]) ** _CPBD_BETA))
    buckets = np.round(p_blur * 100.0)
    return float(np.count_nonzero(buckets <= _CPBD_P_JNB_BUCKET) / len(buckets))


