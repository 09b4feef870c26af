"""The generated-content detector: a residual CNN and a spectrum MLP fused into one logit.

Two views of the same input, both aimed at the traces generators leave rather than at content:
- residual branch: fixed SRM high-pass filters (not learned) -> conv blocks -> global average + max pooling;
- spectrum branch: the standardised azimuthal log power spectrum (``spectrum_bins`` bins) -> MLP.
Their features are concatenated and a linear head gives one logit per image (positive = generated).

Input: RGB (N, 3, H, W) in [-1, 1] like every net here; any H, W >= 8 (no multiple needed). The fixed
features live in ``translate.detect.features``, a leaf module (torch and numpy only) kept free of other
``translate`` imports so this file can use it without an import cycle.
"""
from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from translate.detect.features import HighPassResidual, radial_spectrum


def _conv_bn_relu(cin: int, cout: int, stride: int = 1) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


class Detector(nn.Module):
    """Residual CNN + spectrum MLP -> one logit per image, shape (N,).

    width: channels of the first conv block (doubling per down-sampling block, capped at 8x width);
    n_blocks: stride-2 blocks after the full-resolution stem (receptive field grows, size shrinks 2**n_blocks);
    spectrum_bins / spectrum_hidden: the spectrum feature's length and its MLP width (0 bins turns the
    branch off); residual_clamp: SRM-style truncation of the residuals in input units (0 = off);
    dropout: before the head (training only).
    """

    uses_gan_init = False  # keeps PyTorch's default (Kaiming-uniform) init, as classifiers do

    def __init__(self, in_nc: int = 3, width: int = 32, n_blocks: int = 4, spectrum_bins: int = 64,
                 spectrum_hidden: int = 64, residual_clamp: float = 0.0, dropout: float = 0.2):
        super().__init__()
        if width < 1 or n_blocks < 0 or spectrum_bins < 0 or spectrum_hidden < 1:
            raise ValueError("width and spectrum_hidden must be >= 1, n_blocks and spectrum_bins >= 0")
        self.multiple = 1
        self.spectrum_bins = spectrum_bins
        self.highpass = HighPassResidual(in_nc, clamp=residual_clamp)
        layers = _conv_bn_relu(self.highpass.out_channels, width) + _conv_bn_relu(width, width)
        ch = width
        for i in range(n_blocks):
            out = width * min(2 ** (i + 1), 8)
            layers += _conv_bn_relu(ch, out, stride=2) + _conv_bn_relu(out, out)
            ch = out
        self.cnn = nn.Sequential(*layers)
        self.spectrum_mlp = (
            nn.Sequential(nn.Linear(spectrum_bins, spectrum_hidden), nn.ReLU(inplace=True),
                          nn.Linear(spectrum_hidden, spectrum_hidden), nn.ReLU(inplace=True))
            if spectrum_bins > 0 else None
        )
        n_features = 2 * ch + (spectrum_hidden if spectrum_bins > 0 else 0)
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(n_features, 1))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The fused feature vector (N, 2 * cnn_channels [+ spectrum_hidden]) before the head."""
        if x.shape[-1] < 8 or x.shape[-2] < 8:
            raise ValueError(f"detector input must be at least 8x8 pixels, got {tuple(x.shape[-2:])}")
        f = self.cnn(self.highpass(x))
        parts = [f.mean(dim=(2, 3)), f.amax(dim=(2, 3))]
        if self.spectrum_mlp is not None:
            spec = radial_spectrum(x, self.spectrum_bins).to(f.dtype)
            parts.append(self.spectrum_mlp(spec))
        return torch.cat(parts, dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x)).squeeze(1)


class EmbeddingProbe(nn.Module):
    """A head on frozen backbone embeddings (N, in_dim) -> one logit (N,): linear (hidden 0), as
    UniversalFakeDetect's probe on CLIP features, or one hidden ReLU layer."""

    uses_gan_init = False

    def __init__(self, in_dim: int = 512, hidden: int = 0, dropout: float = 0.1):
        super().__init__()
        if in_dim < 1 or hidden < 0:
            raise ValueError("in_dim must be >= 1 and hidden >= 0")
        self.multiple = 1  # the registry's contract; its input is a vector, not an image
        layers: list[nn.Module] = [nn.Dropout(dropout)]
        layers += [nn.Linear(in_dim, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, 1)] if hidden else [nn.Linear(in_dim, 1)]
        self.head = nn.Sequential(*layers)

    def forward(self, e: torch.Tensor) -> torch.Tensor:
        return self.head(e).squeeze(1)


DISCRIMINATORS: dict[str, Callable[..., nn.Module]] = {"detector": Detector, "embedding-probe": EmbeddingProbe}
