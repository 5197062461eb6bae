"""Test-time style transfer (paper §4, eqs. 4–7): re-weight a per-request copy of the motion
generator so its audio-driven motion φ_mg takes on the style of the clip's motion φ_s.

The paper's pieces:

* f — the style transfer network: an MLP on 204-d (68×3) frames with layers of 1024, 512 and
  256 units (§4.1). "Mean features" are the mean of f over the frames of a sequence.
* L_sc = ‖mean f(φ_mg) − mean f(φ_s)‖²  (eq. 4), the style constraint.
* L_r = (‖∇_φ̂ f(φ̂)‖₂ − 1)²  with  φ̂ = γ·φ_s + (1−γ)·φ_mg  (eqs. 5–6), the regulariser.
* L_transfer = L_mg + L_sc + L_r  (eq. 7).

Choices the paper leaves open, each with its reason:

* **f is a critic** (WGAN-GP), one step before each generator step: it learns where the motions differ.
* **The critic ascends √L_sc − λ_r·L_r**: the dual is linear in f; a squared gap lets f's scale outgrow the penalty.
* **λ_r = 10** (WGAN-GP's): f stays near 1-Lipschitz, so the gap it measures stays a distance.
* **γ ~ U(0, 1) per frame, frames paired at random**: the penalty covers the whole segment between the motions.
* **f seeded per request**: the same request gives the same motion; the global RNG is left alone.
* **L_mg holds the lip sync** (no ground truth at test time): φ_mg⁰'s timing (standardised trajectories) and closures.
* **f sees (φ − canonical face) / the pooled RMS spread**: motion is tiny next to the face; one scalar keeps its shape.
* **Only the output layers move** (``style_parameters()``): the audio encoding is computed once.
* **The copy starts at the clip's moments** (:func:`moment_start`): its time-averaged shape and the spread of its
  mouth opening, set in closed form (the minimiser of L_sc for an f that sees only them); critic steps from a
  random f are too noisy to get there, and refine what the moments do not capture.
* **Closed lips stay closed** (:class:`Opening`): where φ_mg⁰'s lips are shut, the start may not part them.
* **Small steps, decaying linearly to zero**: the copy settles near the start instead of where the last noisy
  critic step left it.
* **Closure as a near-hard constraint** (:data:`CLOSURE_WEIGHT`): L_sc dwarfs L_mg, and closed lips must stay closed.
* **Strength** s: φ = φ_mg⁰ + s·(φ_ft − φ_mg⁰); 0 is no transfer (exactly φ_mg⁰), 1 the paper, > 1 exaggerated.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from talkinghead import geometry


@dataclass(frozen=True)
class TransferConfig:
    """Test-time style transfer settings (one request)."""

    steps: int = 40  # generator-copy updates
    critic_steps: int = 1  # updates of f per generator update (WGAN-GP's n_critic)
    lr: float = 5e-4  # Adam learning rate of the generator copy's style parameters
    critic_lr: float = 1e-3  # Adam learning rate of f
    lambda_r: float = 10.0  # weight of L_r (eq. 5) in the critic's objective (WGAN-GP's λ)
    lambda_mg: float = 1.0  # weight of L_mg (timing + closure) in eq. 7
    gamma: float | None = None  # fixed γ of eq. 6; None draws γ ~ U(0,1) per frame
    batch_frames: int = 64  # frames per sequence per step for f (subsampled for speed)
    strength: float = 1.0  # 0 = no transfer, 1 = paper, >1 = exaggerated
    seed: int = 0  # seeds f's initialisation, γ and frame sampling
    start: str = "moments"  # "moments": start from the clip's mean shape and opening spread (moment_start); "none"
    max_gain: float = 4.0  # the start's amplitude gain is clamped to [1/max_gain, max_gain]
    device: str = "cpu"

    def __post_init__(self) -> None:
        if self.steps < 0 or self.critic_steps < 1:
            raise ValueError(f"steps must be ≥ 0 and critic_steps ≥ 1, got {self.steps}, {self.critic_steps}")
        if self.lr < 0 or self.critic_lr < 0:
            raise ValueError(f"learning rates must be ≥ 0, got {self.lr}, {self.critic_lr}")
        if self.strength < 0:
            raise ValueError(f"strength must be ≥ 0, got {self.strength}")
        if self.start not in ("moments", "none"):
            raise ValueError(f"start must be 'moments' or 'none', got {self.start!r}")
        if self.max_gain < 1:
            raise ValueError(f"max_gain must be ≥ 1, got {self.max_gain}")
        if self.gamma is not None and not 0.0 <= self.gamma <= 1.0:
            raise ValueError(f"gamma must be in [0, 1], got {self.gamma}")


class StyleTransferNetwork(nn.Module):
    """f(·) of §4.1: MLP 204 → 1024 → 512 → 256 applied frame by frame."""

    def __init__(self, *, in_dim: int = 68 * 3, hidden: tuple[int, ...] = (1024, 512), out_dim: int = 256) -> None:
        super().__init__()
        dims = (in_dim, *hidden, out_dim)
        layers: list[nn.Module] = []
        for i, (a, b) in enumerate(zip(dims[:-1], dims[1:])):
            layers.append(nn.Linear(a, b))
            if i < len(dims) - 2:
                layers.append(nn.LeakyReLU(0.2))
        self.mlp = nn.Sequential(*layers)

    def forward(self, phi: torch.Tensor) -> torch.Tensor:
        return self.mlp(phi)  # N×204 → N×256

    def mean_features(self, phi: torch.Tensor) -> torch.Tensor:
        return self.forward(phi).mean(0)  # N×204 → 256


def constraint_loss(f: StyleTransferNetwork, phi_mg: torch.Tensor, phi_s: torch.Tensor) -> torch.Tensor:
    """Paper eq. 4: L_sc = ‖mean f(φ_mg) − mean f(φ_s)‖²."""
    return (f.mean_features(phi_mg) - f.mean_features(phi_s)).pow(2).sum()


def regularisation_loss(
    f: StyleTransferNetwork, phi_mg: torch.Tensor, phi_s: torch.Tensor, gamma: torch.Tensor
) -> torch.Tensor:
    """Paper eqs. 5–6: L_r = (‖∇_φ̂ f(φ̂)‖₂ − 1)², φ̂ = γ·φ_s + (1−γ)·φ_mg, averaged over frames.

    f is vector-valued (256-d) and eq. 5 needs a scalar: we take f's projection on the current
    direction u of the mean-feature gap (detached), the only direction in which L_sc = (u·gap)²
    grows. Penalising that scalar's gradient keeps the critic 1-Lipschitz where it matters.
    """
    with torch.no_grad():
        gap = f.mean_features(phi_mg) - f.mean_features(phi_s)  # 256
        u = gap / (gap.norm() + 1e-12)
    phi_hat = (gamma * phi_s + (1 - gamma) * phi_mg).detach().requires_grad_(True)  # N×204
    out = (f(phi_hat) @ u).sum()
    (grad,) = torch.autograd.grad(out, phi_hat, create_graph=True)  # N×204
    return (grad.norm(dim=1) - 1).pow(2).mean()


def _standardise(x: torch.Tensor) -> torch.Tensor:
    """Each coordinate's trajectory over time (dim 0) to zero mean, unit variance."""
    return (x - x.mean(0)) / (x.std(0) + 1e-4)


def _mouth_opening(phi: torch.Tensor) -> torch.Tensor:
    """Inner-lip gap of T×68×3 canonical motion (inter-ocular units), T."""
    return (phi[:, list(geometry.UPPER_INNER_LIP)] - phi[:, list(geometry.LOWER_INNER_LIP)]).norm(dim=-1).mean(-1)


# Weight of the closure term of L_mg: 10⁻³ inter-ocular units (≈ 0.14 px in the 512² metric crop) of extra
# opening in a closed frame costs as much as a whole unit of the timing term. L_sc dwarfs the
# timing term in f's units, so a weaker weight lets the style hold the lips apart through silences
# and m/b/p.
CLOSURE_WEIGHT = 1e6


def closed_level(opening: np.ndarray | torch.Tensor) -> float:
    """Mouth opening under which a motion counts as closed: 10 % of its range above its minimum."""
    return float(opening.min() + 0.1 * (opening.max() - opening.min()))


def motion_generator_loss(phi: torch.Tensor, phi0: torch.Tensor, closed: torch.Tensor) -> torch.Tensor:
    """L_mg: keep φ_mg⁰'s timing (standardised trajectories) and its closed frames closed.

    ``phi``/``phi0``: T×68×3; ``closed``: T bool, frames where φ_mg⁰'s mouth is shut.
    """
    t = phi.shape[0]
    timing = (_standardise(phi.reshape(t, -1)) - _standardise(phi0.reshape(t, -1))).pow(2).mean()
    if closed.any():
        extra = torch.relu(_mouth_opening(phi[closed]) - _mouth_opening(phi0[closed]))
        closure = extra.pow(2).mean() * CLOSURE_WEIGHT
    else:
        closure = phi.new_zeros(())
    return timing + closure


def moment_start(
    phi0: torch.Tensor, phi_s: torch.Tensor, opening: Opening, *, max_gain: float
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Where the copy starts: φ = μ_s + k·(φ_mg − μ_0), the clip's time-averaged shape μ_s (68×3)
    and a gain k that gives the mouth opening the clip's spread over time (``phi0``: T×68×3
    un-styled motion with mean μ_0, ``phi_s``: T_s×68×3), closed lips re-closed (:meth:`Opening.reclose`).
    Returns (μ_0, μ_s, k).

    The upper and lower point of each inner-lip pair take the same shift in depth
    (the tracker's depth of the lips is not a gap), so closed lips can meet again.
    The opening is a length, not linear in the points, so k is found by a few fixed-point steps,
    clamped to [1/max_gain, max_gain].
    """
    mean0 = phi0.mean(0)
    shift = phi_s.mean(0) - mean0  # 68×3
    for pair in geometry.INNER_LIP_PAIRS:  # a pair shifts alike in depth
        shift[list(pair), 2] = shift[list(pair), 2].mean()
    mean_s = mean0 + shift
    target = _mouth_opening(phi_s).std()
    gain = phi0.new_ones(())
    for _ in range(16):
        spread = _mouth_opening(opening.reclose(mean_s + gain * (phi0 - mean0))).std().clamp_min(1e-9)
        gain = (gain * target / spread).clamp(1 / max_gain, max_gain)
    return mean0, mean_s, gain


class Opening:
    """Keeps the lips of the un-styled motion's closed frames closed in a styled motion.

    ``weight`` (T in [0, 1]) says how closed each frame of ``phi0`` is: 1 at or under
    :func:`closed_level`, fading to 0 over the next tenth of the opening's range.
    """

    def __init__(self, phi0: torch.Tensor) -> None:
        self.opening0 = _mouth_opening(phi0)  # T
        level = closed_level(self.opening0)
        width = max(0.1 * float(self.opening0.max() - self.opening0.min()), 1e-9)
        x = ((level + width - self.opening0) / width).clamp(0.0, 1.0)
        self.weight = x * x * (3.0 - 2.0 * x)  # smoothstep
        canonical = np.array(geometry.canonical_face())
        opened = geometry.open_mouth(canonical, 1.0) - canonical  # jaw and lower lip, per unit of lip gap
        follow = geometry.JAW_FOLLOW
        per_unit = np.mean([follow[lo] - follow[up] for up, lo in geometry.INNER_LIP_PAIRS])  # 1.0
        self.direction = torch.as_tensor(opened / per_unit, dtype=phi0.dtype, device=phi0.device)  # 68×3

    def reclose(self, phi: torch.Tensor) -> torch.Tensor:
        """``phi`` (T×68×3) with the opening gained beyond the un-styled one, times ``weight``,
        taken off along the mouth's opening direction (:func:`geometry.open_mouth`)."""
        excess = torch.relu(_mouth_opening(phi) - self.opening0) * self.weight  # T
        return phi - excess[:, None, None] * self.direction


@dataclass
class TransferResult:
    """What one transfer produced."""

    styled: np.ndarray  # T×68×3 styled motion φ (canonical frame)
    unstyled: np.ndarray  # T×68×3 φ_mg⁰ before transfer
    losses: list[dict[str, float]] = field(default_factory=list)  # per step: sc, r, mg
    seconds: float = 0.0


def _style_parameters(module: nn.Module) -> list[nn.Parameter]:
    getter = getattr(module, "style_parameters", None)
    params = list(getter()) if callable(getter) else list(module.parameters())
    if not params:
        raise ValueError("the motion generator has no parameters to fine-tune")
    return params


def _critic_steps(
    gen: nn.Module, forward: Callable[[], torch.Tensor], phi0: torch.Tensor, phi_s: np.ndarray,
    canonical: torch.Tensor, config: TransferConfig,
) -> list[dict[str, float]]:
    """Eq. 7 by alternating steps: f (the critic) widens L_sc under L_r, then ``gen``'s style
    parameters (moved in place; ``forward()`` is its T×68×3 motion) narrow L_sc under L_mg.
    Returns the per-step losses."""
    params = _style_parameters(gen)
    for p in params:
        p.requires_grad_(True)

    device, t = phi0.device, phi0.shape[0]
    g = torch.Generator(device="cpu").manual_seed(config.seed)
    f = StyleTransferNetwork()
    with torch.no_grad():  # initialised from this request's generator, never the global RNG
        for layer in f.mlp:
            if isinstance(layer, nn.Linear):
                bound = 1.0 / math.sqrt(layer.in_features)  # nn.Linear's default bound
                layer.weight.uniform_(-bound, bound, generator=g)
                layer.bias.uniform_(-bound, bound, generator=g)
    f = f.to(device)
    opt_g = torch.optim.Adam(params, lr=config.lr)
    # The step size decays linearly to zero: the copy settles instead of ending wherever the last
    # noisy critic gradient left it.
    decay = torch.optim.lr_scheduler.LambdaLR(opt_g, lambda i: 1.0 - i / config.steps)
    opt_f = torch.optim.Adam(f.parameters(), lr=config.critic_lr, betas=(0.5, 0.9))
    # f's input: displacement from the canonical face in units of the motions' pooled spread.
    center = canonical.reshape(1, -1)  # 1×204
    pooled = torch.cat([torch.as_tensor(phi_s, device=device).reshape(len(phi_s), -1), phi0.reshape(t, -1)])
    spread = (pooled - pooled.mean(0)).pow(2).mean().sqrt().clamp_min(1e-6)

    def normalised(phi: torch.Tensor) -> torch.Tensor:  # N×204 → N×204
        return (phi - center) / spread

    target = normalised(torch.as_tensor(phi_s, device=device).reshape(len(phi_s), -1))  # T_s×204
    opening0 = _mouth_opening(phi0)
    closed = opening0 <= closed_level(opening0)  # T
    n = min(config.batch_frames, t, len(target))

    def sample() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        i_mg = torch.randint(0, t, (n,), generator=g)
        i_s = torch.randint(0, len(target), (n,), generator=g)
        gam = torch.rand(n, 1, generator=g) if config.gamma is None else torch.full((n, 1), config.gamma)
        return i_mg.to(device), i_s.to(device), gam.to(device)

    losses: list[dict[str, float]] = []
    for _ in range(config.steps):
        # Critic steps: f maximises the gap L_sc under the gradient penalty L_r (eqs. 4–6).
        with torch.no_grad():
            phi = normalised(forward().reshape(t, -1))
        for _ in range(config.critic_steps):
            i_mg, i_s, gam = sample()
            l_sc = constraint_loss(f, phi[i_mg], target[i_s])
            l_r = regularisation_loss(f, phi[i_mg], target[i_s], gam)
            opt_f.zero_grad(set_to_none=True)
            (-(l_sc + 1e-12).sqrt() + config.lambda_r * l_r).backward()
            opt_f.step()

        # Generator step: eq. 7 with f fixed (L_r has no generator gradient: φ̂ is detached).
        i_mg, i_s, _ = sample()
        phi_full = forward()
        l_sc_g = constraint_loss(f, normalised(phi_full.reshape(t, -1))[i_mg], target[i_s])
        l_mg = motion_generator_loss(phi_full, phi0, closed)
        opt_g.zero_grad(set_to_none=True)
        (config.lambda_mg * l_mg + l_sc_g).backward()
        opt_g.step()
        decay.step()
        losses.append({"sc": l_sc_g.item(), "r": l_r.item(), "mg": l_mg.item()})

    return losses


def transfer_style(
    generator: nn.Module,
    features: torch.Tensor | None,
    phi_s: np.ndarray,
    config: TransferConfig = TransferConfig(),
    *,
    states: torch.Tensor | None = None,
) -> TransferResult:
    """Fine-tune a copy of ``generator`` so its motion for ``features`` takes on the style of ``phi_s``.

    ``generator(features)`` must return 1×T×68×3 displacements from the canonical face (the
    :mod:`talkinghead.motion` contract); ``phi_s`` is the style clip's T_s×68×3 motion in the same
    canonical, identity-normalised space. ``states`` replaces ``features`` with what the
    generator's ``encode`` already made of them (long audio is encoded a chunk at a time, see
    :func:`talkinghead.motion.encode_audio`). The shared ``generator`` is never modified.
    """
    start = time.perf_counter()
    device = torch.device(config.device)
    phi_s = np.asarray(phi_s, dtype=np.float32)
    if phi_s.ndim != 3 or phi_s.shape[1:] != (68, 3) or len(phi_s) < 2:
        raise ValueError(f"phi_s must be T×68×3 with T ≥ 2, got {phi_s.shape}")
    if not np.isfinite(phi_s).all():
        raise ValueError("phi_s has non-finite values")

    canonical = torch.tensor(np.array(geometry.canonical_face()), dtype=torch.float32, device=device)
    gen = copy.deepcopy(generator).to(device).eval()  # per-request copy: the shared weights never change
    for p in gen.parameters():
        p.requires_grad_(False)
    # Everything before the re-weighted layers is computed once (when the generator splits into
    # encode/decode); only its style parameters move.
    encode = getattr(gen, "encode", None)
    decode = getattr(gen, "decode", None)
    cached = None
    if states is not None:
        if not callable(decode):
            raise ValueError("states need a generator with decode()")
        cached = states.to(device)
    elif features is None:
        raise ValueError("transfer_style needs features or states")
    else:
        features = features.to(device)
        with torch.no_grad():
            if callable(encode) and callable(decode):
                cached = encode(features)

    def generated() -> torch.Tensor:
        disp = decode(cached) if cached is not None else gen(features)
        return canonical + disp[0]  # T×68×3

    with torch.no_grad():
        phi0 = generated()  # T×68×3, φ_mg⁰
    forward = generated
    if config.start == "moments":
        opening = Opening(phi0)
        mean0, mean_s, gain = moment_start(
            phi0, torch.as_tensor(phi_s, device=device), opening, max_gain=config.max_gain
        )

        def forward() -> torch.Tensor:  # the copy's motion from the clip's moments, closed lips kept closed
            return opening.reclose(mean_s + gain * (generated() - mean0))

    result = TransferResult(styled=phi0.cpu().numpy(), unstyled=phi0.cpu().numpy())
    if config.strength == 0.0:
        result.seconds = time.perf_counter() - start
        return result
    if config.steps > 0:
        result.losses = _critic_steps(gen, forward, phi0, phi_s, canonical, config)

    with torch.no_grad():
        phi_ft = forward()
    styled = phi0 + config.strength * (phi_ft - phi0)
    result.styled = styled.cpu().numpy()
    result.seconds = time.perf_counter() - start
    return result
