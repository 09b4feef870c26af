"""The reference (pytorch-CycleGAN-and-pix2pix) image-to-image generators: ResNet and U-Net.

Images are in [-1, 1]; both end in tanh. Layer order and attribute names match the reference, so its
`*_net_G*.pth` state dicts load by plain `load_state_dict`.
"""
from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from .blocks import (
    PADDINGS,
    ResnetBlock,
    UnetSkipConnectionBlock,
    check_choice,
    conv_bias,
    norm_factory,
)

UPSAMPLES = ("transpose", "resize")


class ResnetGenerator(nn.Module):
    """c7s1-ngf, two stride-2 downs, `n_blocks` residual blocks, two ups, c7s1-output_nc, tanh.

    `upsample="resize"` swaps each ConvTranspose2d for nearest x2 + conv3 (no checkerboard artefacts); it
    is one module at the same index, so only that layer's keys differ from the reference.
    """

    uses_gan_init = True

    def __init__(
        self,
        input_nc: int = 3,
        output_nc: int = 3,
        ngf: int = 64,
        norm: str = "instance",
        use_dropout: bool = False,
        n_blocks: int = 9,
        padding_type: str = "reflect",
        upsample: str = "transpose",
    ):
        super().__init__()
        check_choice("padding_type", padding_type, PADDINGS)
        check_choice("upsample", upsample, UPSAMPLES)
        if n_blocks < 0:
            raise ValueError(f"n_blocks must be >= 0, got {n_blocks}")
        norm_layer, bias = norm_factory(norm), conv_bias(norm)
        n_down = 2
        self.multiple = 2**n_down

        model: list[nn.Module] = [
            nn.ReflectionPad2d(3),
            nn.Conv2d(input_nc, ngf, kernel_size=7, padding=0, bias=bias),
            norm_layer(ngf),
            nn.ReLU(True),
        ]
        for i in range(n_down):
            c = ngf * 2**i
            model += [nn.Conv2d(c, c * 2, kernel_size=3, stride=2, padding=1, bias=bias), norm_layer(c * 2), nn.ReLU(True)]
        c = ngf * 2**n_down
        model += [ResnetBlock(c, padding_type, norm_layer, use_dropout, bias) for _ in range(n_blocks)]
        for i in range(n_down):
            c = ngf * 2 ** (n_down - i)
            model += [_upsample(c, c // 2, upsample, padding_type, bias), norm_layer(c // 2), nn.ReLU(True)]
        model += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, output_nc, kernel_size=7, padding=0), nn.Tanh()]
        self.model = nn.Sequential(*model)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


def _upsample(cin: int, cout: int, mode: str, padding_type: str, bias: bool) -> nn.Module:
    if mode == "transpose":
        return nn.ConvTranspose2d(cin, cout, kernel_size=3, stride=2, padding=1, output_padding=1, bias=bias)
    pad_mode = {"reflect": "reflect", "replicate": "replicate", "zero": "zeros"}[padding_type]
    return nn.Sequential(
        nn.Upsample(scale_factor=2, mode="nearest"),
        nn.Conv2d(cin, cout, kernel_size=3, padding=1, padding_mode=pad_mode, bias=bias),
    )


class UnetGenerator(nn.Module):
    """U-Net of `num_downs` levels (a 2**num_downs px input reaches 1x1 at the bottom), skips by concatenation.

    Dropout 0.5 sits in the `num_downs - 5` middle levels of ngf*8 channels, as the reference.
    """

    uses_gan_init = True

    def __init__(
        self,
        input_nc: int = 3,
        output_nc: int = 3,
        num_downs: int = 8,
        ngf: int = 64,
        norm: str = "batch",
        use_dropout: bool = True,
    ):
        super().__init__()
        if num_downs < 5:
            raise ValueError(f"num_downs must be >= 5, got {num_downs}")
        norm_layer, bias = norm_factory(norm), conv_bias(norm)
        self.multiple = 2**num_downs
        common = dict(norm_layer=norm_layer, use_bias=bias)
        block = UnetSkipConnectionBlock(ngf * 8, ngf * 8, innermost=True, **common)
        for _ in range(num_downs - 5):
            block = UnetSkipConnectionBlock(ngf * 8, ngf * 8, submodule=block, use_dropout=use_dropout, **common)
        block = UnetSkipConnectionBlock(ngf * 4, ngf * 8, submodule=block, **common)
        block = UnetSkipConnectionBlock(ngf * 2, ngf * 4, submodule=block, **common)
        block = UnetSkipConnectionBlock(ngf, ngf * 2, submodule=block, **common)
        self.model = UnetSkipConnectionBlock(output_nc, ngf, input_nc=input_nc, submodule=block, outermost=True, **common)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


# --- registry constructors: each signature is the spec that `_translate_spec` records ---


def resnet(input_nc: int = 3, output_nc: int = 3, ngf: int = 64, norm: str = "instance", use_dropout: bool = False,
           n_blocks: int = 9, padding_type: str = "reflect", upsample: str = "transpose") -> ResnetGenerator:
    return ResnetGenerator(input_nc, output_nc, ngf, norm, use_dropout, n_blocks, padding_type, upsample)


def _fixed_resnet(n_blocks: int) -> Callable[..., ResnetGenerator]:
    def make(input_nc: int = 3, output_nc: int = 3, ngf: int = 64, norm: str = "instance",
             use_dropout: bool = False, padding_type: str = "reflect", upsample: str = "transpose") -> ResnetGenerator:
        return ResnetGenerator(input_nc, output_nc, ngf, norm, use_dropout, n_blocks, padding_type, upsample)

    make.__doc__ = f"ResnetGenerator with {n_blocks} residual blocks."
    return make


def unet(input_nc: int = 3, output_nc: int = 3, num_downs: int = 8, ngf: int = 64, norm: str = "batch",
         use_dropout: bool = True) -> UnetGenerator:
    return UnetGenerator(input_nc, output_nc, num_downs, ngf, norm, use_dropout)


def _fixed_unet(size: int) -> Callable[..., UnetGenerator]:
    num_downs = size.bit_length() - 1  # log2(size): the bottom level is 1x1 at `size` px

    def make(input_nc: int = 3, output_nc: int = 3, ngf: int = 64, norm: str = "batch",
             use_dropout: bool = True) -> UnetGenerator:
        return UnetGenerator(input_nc, output_nc, num_downs, ngf, norm, use_dropout)

    make.__doc__ = f"UnetGenerator with {num_downs} levels (input a multiple of {size} px)."
    return make


GENERATORS: dict[str, Callable[..., nn.Module]] = {
    "resnet": resnet,
    "resnet_9blocks": _fixed_resnet(9),
    "resnet_6blocks": _fixed_resnet(6),
    "unet": unet,
    "unet_256": _fixed_unet(256),
    "unet_128": _fixed_unet(128),
    "unet_64": _fixed_unet(64),
    "unet_32": _fixed_unet(32),
}
