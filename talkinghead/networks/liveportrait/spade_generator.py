"""Generator G (SPADE decoder): warped 2-D feature B×256×64×64 → RGB image B×3×512×512 in (0, 1).

Paper component: the generator part of supplement Table 4 (Conv2d 256→512 3×3, six residual
blocks, two ×2 upsamplings, a final conv → 3×256×256). LivePortrait's G keeps that skeleton but:

* every residual block is a SPADE block (Park et al., CVPR 2019) whose normalisation is modulated
  by the input feature itself, used as the "segmentation map";
* the block convolutions carry spectral normalisation (checkpoint keys ``weight_orig``,
  ``weight_u``, ``weight_v``), applied here with the stored u and v as they are (eval semantics);
* the last conv predicts 12 channels that a PixelShuffle(2) turns into a 512² image (×8 overall).

The occlusion map of the paper's Table 4 is already applied by W.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from talkinghead.networks.liveportrait.configs import SpadeGeneratorConfig

LRELU_SLOPE = 0.2  # LeakyReLU slope inside and after the SPADE blocks
INSTANCE_NORM_EPS = 1e-5  # SPADE's parameter-free InstanceNorm
INIT_POWER_ITERATIONS = 20  # power iterations that set u, v for freshly built (untrained) layers


class SpectralNormConv2d(nn.Module):
    """Conv2d whose weight is ``weight_orig / σ`` with ``σ = u·(W v)`` from the stored u, v.

    The state-dict layout is that of ``torch.nn.utils.spectral_norm`` (``bias``, ``weight_orig``,
    then buffers ``weight_u`` [out] and ``weight_v`` [in·kh·kw]). This layer is for inference: it
    never runs the power iteration during forward (training mode would update u and v), so the
    pretrained u, v give exactly the trained effective weight.
    """

    def __init__(self, *, in_channels: int, out_channels: int, kernel_size: int, bias: bool = True) -> None:
        super().__init__()
        self.padding = kernel_size // 2
        fan_in = in_channels * kernel_size * kernel_size
        bound = 1.0 / math.sqrt(fan_in)
        if bias:
            self.bias = nn.Parameter(torch.empty(out_channels).uniform_(-bound, bound))
        else:
            self.register_parameter("bias", None)
        weight = torch.empty(out_channels, in_channels, kernel_size, kernel_size)
        nn.init.kaiming_uniform_(weight, a=math.sqrt(5))  # nn.Conv2d's default initialisation
        self.weight_orig = nn.Parameter(weight)
        u, v = self._power_iteration(weight.reshape(out_channels, -1), INIT_POWER_ITERATIONS)
        self.register_buffer("weight_u", u)
        self.register_buffer("weight_v", v)

    @staticmethod
    def _power_iteration(w_mat: torch.Tensor, steps: int) -> tuple[torch.Tensor, torch.Tensor]:
        u = F.normalize(torch.randn(w_mat.shape[0]), dim=0, eps=1e-12)
        v = F.normalize(w_mat.t() @ u, dim=0, eps=1e-12)
        for _ in range(steps):
            v = F.normalize(w_mat.t() @ u, dim=0, eps=1e-12)
            u = F.normalize(w_mat @ v, dim=0, eps=1e-12)
        return u, v

    def effective_weight(self) -> torch.Tensor:
        w_mat = self.weight_orig.reshape(self.weight_orig.shape[0], -1)  # out × (in·kh·kw)
        sigma = torch.dot(self.weight_u, torch.mv(w_mat, self.weight_v))  # stored u, v; no power iteration
        return self.weight_orig / sigma

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.effective_weight(), self.bias, padding=self.padding)


class SPADE(nn.Module):
    """``InstanceNorm(x)·(1 + γ(seg)) + β(seg)``, with γ, β from two 3×3 convs on a shared 3×3 conv+ReLU."""

    def __init__(self, *, norm_channels: int, label_channels: int, hidden: int) -> None:
        super().__init__()
        self.mlp_shared = nn.Sequential(
            nn.Conv2d(label_channels, hidden, kernel_size=3, padding=1), nn.ReLU()
        )
        self.mlp_gamma = nn.Conv2d(hidden, norm_channels, kernel_size=3, padding=1)
        self.mlp_beta = nn.Conv2d(hidden, norm_channels, kernel_size=3, padding=1)

    def forward(self, x: torch.Tensor, seg: torch.Tensor) -> torch.Tensor:
        normalized = F.instance_norm(x, eps=INSTANCE_NORM_EPS)  # B×C×H×W, per-sample per-channel stats
        seg = F.interpolate(seg, size=x.shape[2:], mode="nearest")  # B×L×h×w → B×L×H×W
        actv = self.mlp_shared(seg)  # → B×128×H×W
        return normalized * (1 + self.mlp_gamma(actv)) + self.mlp_beta(actv)


class SPADEResnetBlock(nn.Module):
    """``shortcut(x) + conv_1(lrelu(SPADE_1(conv_0(lrelu(SPADE_0(x))))))``.

    The shortcut is x itself, or a learned 1×1 ``conv_s(SPADE_s(x))`` when fin ≠ fout.
    """

    def __init__(self, *, fin: int, fout: int, label_channels: int, hidden: int) -> None:
        super().__init__()
        fmid = min(fin, fout)
        self.learned_shortcut = fin != fout
        self.conv_0 = SpectralNormConv2d(in_channels=fin, out_channels=fmid, kernel_size=3)
        self.conv_1 = SpectralNormConv2d(in_channels=fmid, out_channels=fout, kernel_size=3)
        if self.learned_shortcut:
            self.conv_s = SpectralNormConv2d(in_channels=fin, out_channels=fout, kernel_size=1, bias=False)
        self.norm_0 = SPADE(norm_channels=fin, label_channels=label_channels, hidden=hidden)
        self.norm_1 = SPADE(norm_channels=fmid, label_channels=label_channels, hidden=hidden)
        if self.learned_shortcut:
            self.norm_s = SPADE(norm_channels=fin, label_channels=label_channels, hidden=hidden)

    def forward(self, x: torch.Tensor, seg: torch.Tensor) -> torch.Tensor:
        shortcut = self.conv_s(self.norm_s(x, seg)) if self.learned_shortcut else x  # B×fout×H×W
        dx = self.conv_0(F.leaky_relu(self.norm_0(x, seg), LRELU_SLOPE))  # B×fin×H×W → B×fmid×H×W
        dx = self.conv_1(F.leaky_relu(self.norm_1(dx, seg), LRELU_SLOPE))  # → B×fout×H×W
        return shortcut + dx


class SpadeGenerator(nn.Module):
    """G: B×C×h×w feature (C = 256 full size) → B×3×(8h)×(8w) image in (0, 1) (upscale 2)."""

    def __init__(self, *, config: SpadeGeneratorConfig) -> None:
        super().__init__()
        self.config = config
        c, hid = config.in_channels, config.hidden
        self.fc = nn.Conv2d(c, 2 * c, kernel_size=3, padding=1)
        for i in range(6):
            self.add_module(
                f"G_middle_{i}", SPADEResnetBlock(fin=2 * c, fout=2 * c, label_channels=c, hidden=hid)
            )
        self.up_0 = SPADEResnetBlock(fin=2 * c, fout=c, label_channels=c, hidden=hid)
        self.up_1 = SPADEResnetBlock(fin=c, fout=config.out_channels, label_channels=c, hidden=hid)
        if config.upscale > 1:
            self.conv_img = nn.Sequential(
                nn.Conv2d(config.out_channels, 3 * config.upscale**2, kernel_size=3, padding=1),
                nn.PixelShuffle(config.upscale),
            )
        else:
            self.conv_img = nn.Conv2d(config.out_channels, 3, kernel_size=3, padding=1)

    def forward(self, feature: torch.Tensor) -> torch.Tensor:
        seg = feature  # B×256×64×64, also the SPADE conditioning map
        x = self.fc(feature)  # → B×512×64×64
        for i in range(6):
            x = getattr(self, f"G_middle_{i}")(x, seg)  # → B×512×64×64
        x = F.interpolate(x, scale_factor=2.0, mode="nearest")  # → B×512×128×128
        x = self.up_0(x, seg)  # → B×256×128×128
        x = F.interpolate(x, scale_factor=2.0, mode="nearest")  # → B×256×256×256
        x = self.up_1(x, seg)  # → B×64×256×256
        x = self.conv_img(F.leaky_relu(x, LRELU_SLOPE))  # → B×12×256×256 → PixelShuffle → B×3×512×512
        return torch.sigmoid(x)
