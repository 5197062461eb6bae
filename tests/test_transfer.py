"""Test-time style transfer (paper §4): losses, per-request copies, strength, determinism."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from talkinghead import geometry
from talkinghead.transfer import (
    StyleTransferNetwork,
    TransferConfig,
    constraint_loss,
    regularisation_loss,
    transfer_style,
)
from talkinghead.transfer import _mouth_opening as opening

LOWER_LIP = [56, 57, 58, 65, 66, 67, 7, 8, 9]


class ToyGenerator(nn.Module):
    """Loudness envelope → mouth opening: lower lip and chin move down with the input."""

    def __init__(self) -> None:
        super().__init__()
        self.encoder = nn.Linear(1, 8)
        self.head = nn.Linear(8, 68 * 3)
        with torch.no_grad():
            self.encoder.weight.fill_(1.0)
            self.encoder.bias.zero_()
            self.head.weight.zero_()
            self.head.bias.zero_()
            w = self.head.weight.view(68, 3, 8)
            w[LOWER_LIP, 1, :] = 0.01  # y down: lower lip opens

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.encoder(x))  # 1×T×1 → 1×T×8

    def decode(self, h: torch.Tensor) -> torch.Tensor:
        return self.head(h).view(1, -1, 68, 3)  # 1×T×8 → 1×T×68×3

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))

    def style_parameters(self):
        return self.head.parameters()


def _envelope(t: int = 150, seed: int = 0) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    env = np.clip(np.sin(np.arange(t) / 3.0) + 0.3 * rng.standard_normal(t), 0, None)
    env[40:60] = 0.0  # a silence
    return torch.tensor(env, dtype=torch.float32).view(1, t, 1)


def _style_motion(amplitude: float = 3.5, t: int = 120) -> np.ndarray:
    """A 'singer': the same mouth motion with a much larger opening and a wider mouth."""
    can = geometry.canonical_face()
    phase = np.clip(np.sin(np.arange(t) / 2.5), 0, None)
    phi = np.repeat(can[None], t, 0).copy()
    phi[:, LOWER_LIP, 1] += amplitude * 0.08 * phase[:, None]
    phi[:, [48, 60], 0] -= 0.03 * phase[:, None]
    phi[:, [54, 64], 0] += 0.03 * phase[:, None]
    return phi


def _smd(a: np.ndarray, b: np.ndarray) -> float:
    """Distance between the mouth-shape distributions (mean and spread of the mouth points)."""
    ma, mb = a[:, 48:68].reshape(len(a), -1), b[:, 48:68].reshape(len(b), -1)
    return float(np.linalg.norm(ma.mean(0) - mb.mean(0)) + np.linalg.norm(ma.std(0) - mb.std(0)))


def test_style_network_is_the_papers_mlp():
    f = StyleTransferNetwork()
    sizes = [m.out_features for m in f.modules() if isinstance(m, nn.Linear)]
    assert sizes == [1024, 512, 256]
    assert f(torch.zeros(5, 204)).shape == (5, 256)


def test_constraint_loss_is_squared_mean_feature_gap():
    torch.manual_seed(0)
    f = StyleTransferNetwork()
    a, b = torch.randn(7, 204), torch.randn(9, 204)
    expected = ((f(a).mean(0) - f(b).mean(0)) ** 2).sum()
    assert torch.allclose(constraint_loss(f, a, b), expected)
    assert constraint_loss(f, a, a).item() == 0.0


def test_regularisation_loss_is_zero_for_a_unit_gradient_critic():
    # f(x) = x·w with ‖w‖ = 1 in the gap direction has a unit gradient everywhere: L_r = 0.
    f = StyleTransferNetwork(hidden=(), out_dim=1)
    with torch.no_grad():
        w = torch.randn(204)
        f.mlp[0].weight.copy_((w / w.norm())[None])
        f.mlp[0].bias.zero_()
    a, b = torch.randn(6, 204), torch.randn(6, 204) + 1.0
    loss = regularisation_loss(f, a, b, torch.rand(6, 1))
    assert float(loss) == pytest.approx(0.0, abs=1e-10)
    with torch.no_grad():
        f.mlp[0].weight.mul_(3.0)  # gradient norm 3 → (3 − 1)² = 4
    assert float(regularisation_loss(f, a, b, torch.rand(6, 1))) == pytest.approx(4.0, rel=1e-5)


def test_strength_zero_is_a_no_op():
    gen = ToyGenerator()
    x = _envelope()
    res = transfer_style(gen, x, _style_motion(), TransferConfig(strength=0.0))
    with torch.no_grad():
        expected = geometry.canonical_face()[None] + gen(x)[0].numpy()
    np.testing.assert_allclose(res.styled, expected, atol=1e-6)
    np.testing.assert_array_equal(res.styled, res.unstyled)


def test_transfer_moves_motion_toward_style_and_keeps_timing():
    gen = ToyGenerator()
    before = {k: v.clone() for k, v in gen.state_dict().items()}
    x = _envelope()
    phi_s = _style_motion()
    res = transfer_style(gen, x, phi_s, TransferConfig(steps=60, seed=1))
    # the shared generator is untouched: transfer works on a per-request copy
    for k, v in gen.state_dict().items():
        assert torch.equal(v, before[k]), k
    assert _smd(res.styled, phi_s) < 0.7 * _smd(res.unstyled, phi_s)
    open_before = geometry.mouth_features(res.unstyled).opening
    open_after = geometry.mouth_features(res.styled).opening
    assert np.corrcoef(open_before, open_after)[0, 1] > 0.9  # lip-sync timing kept
    assert open_after.max() > open_before.max()  # larger amplitude, as in the style
    # the silence of the input (frames 40–59) stays as closed as before the transfer
    assert open_after[40:60].max() <= open_before[40:60].max() + 1e-3
    assert np.isfinite(res.styled).all() and len(res.losses) == 60


def test_seeded_runs_are_identical_and_strength_scales_the_change():
    gen = ToyGenerator()
    x = _envelope()
    cfg = TransferConfig(steps=15, seed=3)
    a = transfer_style(gen, x, _style_motion(), cfg)
    b = transfer_style(gen, x, _style_motion(), cfg)
    np.testing.assert_array_equal(a.styled, b.styled)
    half = transfer_style(gen, x, _style_motion(), TransferConfig(steps=15, seed=3, strength=0.5))
    np.testing.assert_allclose(half.styled - half.unstyled, 0.5 * (a.styled - a.unstyled), atol=1e-6)


def test_the_start_takes_the_clips_mean_shape_and_opening_spread_and_keeps_closed_lips_closed():
    gen = ToyGenerator()
    x = _envelope()
    phi_s = _style_motion()
    phi_s[:, 17:27, 1] -= 0.05  # raised brows: a shape the generator never makes
    res = transfer_style(gen, x, phi_s, TransferConfig(steps=0))
    styled, before = torch.tensor(res.styled), torch.tensor(res.unstyled)
    # the clip's time-averaged brows and mouth width, which the closed frames do not touch
    np.testing.assert_allclose(res.styled[:, 17:27].mean(0), phi_s[:, 17:27].mean(0), atol=1e-5)
    np.testing.assert_allclose(res.styled[:, [48, 54], 0].mean(0), phi_s[:, [48, 54], 0].mean(0), atol=1e-5)
    # the opening's spread over time is the clip's (the style opens 3.5× wider than the generator)
    assert float(opening(styled).std()) == pytest.approx(float(opening(torch.tensor(phi_s)).std()), rel=0.02)
    # the silence stays as closed as the un-styled motion, the order of openings is kept
    assert float((opening(styled) - opening(before))[40:60].max()) <= 2e-3  # 0.2 % of the eye distance
    assert np.corrcoef(opening(styled), opening(before))[0, 1] > 0.95
    none = transfer_style(gen, x, phi_s, TransferConfig(steps=0, start="none"))
    np.testing.assert_allclose(none.styled, none.unstyled, atol=1e-6)


@pytest.mark.parametrize(
    "kwargs", [{"steps": -1}, {"strength": -0.5}, {"gamma": 1.5}, {"start": "median"}, {"max_gain": 0.5}]
)
def test_config_rejects_bad_values(kwargs):
    with pytest.raises(ValueError):
        TransferConfig(**kwargs)


def test_bad_style_motion_is_rejected():
    with pytest.raises(ValueError, match="T×68×3"):
        transfer_style(ToyGenerator(), _envelope(), np.zeros((1, 68, 3)))
