"""The classic 2017 deepfakes face-swap autoencoder (faceswap's "Original"): one shared encoder, one decoder
per identity; A to B = decoder_B(encoder(A)). Crops are in [0, 1] (the decoder ends in sigmoid).

`width` scales every layer (64 is the original: convs 128..1024, dense 1024, decoder 256, 128, 64), so tests
can build a tiny one. Encoder and decoder must share `width` and `input_size`.
"""
from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from translate.nets.gemm_conv import GemmConv2d


def _upscale(cin: int, cout: int, conv: type[nn.Conv2d] = nn.Conv2d) -> nn.Sequential:
    """conv3 to 4 * cout, LeakyReLU 0.1, PixelShuffle 2: doubles H and W."""
    return nn.Sequential(conv(cin, cout * 4, 3, padding=1), nn.LeakyReLU(0.1, True), nn.PixelShuffle(2))


def _check_size(input_size: int) -> None:
    if input_size < 16 or input_size % 16:
        raise ValueError(f"input_size must be a positive multiple of 16, got {input_size}")


class FaceEncoder(nn.Module):
    """5x5 s2 convs 2w, 4w, 8w, 16w (LeakyReLU 0.1), flatten, dense 16w, dense (s/16)^2 * 16w, reshape,
    one up-scale -> 8w x s/8 x s/8 (512 x 8 x 8 for the original 64 px). The input must be exactly
    `input_size` px (the dense layers fix it). The two convs on the s/16 maps (most of the weights, few
    positions) are GemmConv2d: one matmul each on CPU, same arithmetic (translate.nets.gemm_conv).
    """

    def __init__(self, input_size: int = 64, in_nc: int = 3, width: int = 64):
        super().__init__()
        _check_size(input_size)
        self.multiple = 16
        self.input_size = input_size
        self.bottom = input_size // 16
        chans = [in_nc, width * 2, width * 4, width * 8, width * 16]
        convs: list[nn.Module] = []
        for cin, cout in zip(chans[:-1], chans[1:]):
            conv = GemmConv2d if cout == chans[-1] else nn.Conv2d
            convs += [conv(cin, cout, 5, stride=2, padding=2), nn.LeakyReLU(0.1, True)]
        self.convs = nn.Sequential(*convs)
        self.latent = width * 16
        flat = width * 16 * self.bottom**2
        self.dense = nn.Sequential(nn.Flatten(), nn.Linear(flat, self.latent), nn.Linear(self.latent, flat))
        self.upscale = _upscale(width * 16, width * 8, GemmConv2d)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-2:] != (self.input_size, self.input_size):
            raise ValueError(f"faceswap encoder expects {self.input_size}x{self.input_size} crops, got {tuple(x.shape[-2:])}")
        h = self.dense(self.convs(x)).view(x.shape[0], self.latent, self.bottom, self.bottom)
        return self.upscale(h)


class FaceDecoder(nn.Module):
    """Up-scales 4w, 2w, w (256, 128, 64 for w=64) from 8w x s/8, then conv5 -> out_nc with sigmoid."""

    def __init__(self, out_nc: int = 3, input_size: int = 64, width: int = 64):
        super().__init__()
        _check_size(input_size)
        self.multiple = 1
        self.input_size = input_size
        self.net = nn.Sequential(
            _upscale(width * 8, width * 4),
            _upscale(width * 4, width * 2),
            _upscale(width * 2, width),
            nn.Conv2d(width, out_nc, 5, padding=2),
            nn.Sigmoid(),
        )
        for conv in self.net.modules():  # direct beats Winograd at batch 16 on these maps (scripts/bench/train.py)
            if isinstance(conv, nn.Conv2d):
                conv.winograd = False

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


def faceswap_encoder(input_size: int = 64, in_nc: int = 3, width: int = 64) -> FaceEncoder:
    return FaceEncoder(input_size, in_nc, width)


def faceswap_decoder(out_nc: int = 3, input_size: int = 64, width: int = 64) -> FaceDecoder:
    return FaceDecoder(out_nc, input_size, width)


GENERATORS: dict[str, Callable[..., nn.Module]] = {
    "faceswap_encoder": faceswap_encoder,
    "faceswap_decoder": faceswap_decoder,
}
