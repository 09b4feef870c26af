"""Super-resolution networks. All work on images in [0, 1] and end linearly (no tanh, no clamp).

- `SRResNet` / `SRGANDiscriminator`: the SRGAN paper's generator and discriminator.
- `MSRResNet`, `RRDBNet`, `SRVGGNetCompact`: BasicSR / Real-ESRGAN architectures with BasicSR's exact
  state-dict keys, so their released `params` / `params_ema` load by `load_state_dict`.
"""
from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from .init import scaled_kaiming_init


def _check_in(name: str, value: int | str, valid: tuple) -> None:
    if value not in valid:
        raise ValueError(f"{name} must be one of {', '.join(map(str, valid))}; got {value!r}")


# --- SRGAN (Ledig et al. 2017) ---


class SRResidualBlock(nn.Module):
    """x + [conv3, BN, PReLU, conv3, BN](x)."""

    def __init__(self, nf: int, prelu_params: int = 1, bn_eps: float = 1e-5):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(nf, nf, 3, padding=1), nn.BatchNorm2d(nf, eps=bn_eps), nn.PReLU(prelu_params),
            nn.Conv2d(nf, nf, 3, padding=1), nn.BatchNorm2d(nf, eps=bn_eps),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class SRResNet(nn.Module):
    """SRGAN's generator: conv9 + PReLU, `n_blocks` residual blocks, conv3 + BN + long skip,
    log2(scale) x (conv3 nf -> 4nf, PixelShuffle 2, PReLU), conv9 -> out_nc.

    Input and output are in [0, 1]. By default the output is linear (the paper's tanh is dropped: our SR data is
    [0, 1] and a linear head trains better on pixel losses); clamp when converting to images. Released
    weights need the paper's details, as constructor arguments: ``per_channel_prelu`` (one PReLU slope per
    channel, as Keras's PReLU(shared_axes=[1, 2])), ``bn_eps`` (Keras uses 1e-3) and ``tanh_output``
    (the output is (tanh + 1) / 2, still in [0, 1]).
    """

    uses_gan_init = True

    def __init__(self, in_nc: int = 3, out_nc: int = 3, nf: int = 64, n_blocks: int = 16, scale: int = 4,
                 per_channel_prelu: bool = False, bn_eps: float = 1e-5, tanh_output: bool = False):
        super().__init__()
        _check_in("scale", scale, (2, 4, 8))
        self.scale = scale
        self.multiple = 1
        self.tanh_output = tanh_output
        slopes = nf if per_channel_prelu else 1
        self.head = nn.Sequential(nn.Conv2d(in_nc, nf, 9, padding=4), nn.PReLU(slopes))
        self.body = nn.Sequential(*[SRResidualBlock(nf, slopes, bn_eps) for _ in range(n_blocks)])
        self.body_tail = nn.Sequential(nn.Conv2d(nf, nf, 3, padding=1), nn.BatchNorm2d(nf, eps=bn_eps))
        ups: list[nn.Module] = []
        for _ in range(scale.bit_length() - 1):
            ups += [nn.Conv2d(nf, nf * 4, 3, padding=1), nn.PixelShuffle(2), nn.PReLU(slopes)]
        self.upsample = nn.Sequential(*ups)
        self.tail = nn.Conv2d(nf, out_nc, 9, padding=4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feat = self.head(x)
        feat = feat + self.body_tail(self.body(feat))
        out = self.tail(self.upsample(feat))
        return (torch.tanh(out) + 1) * 0.5 if self.tanh_output else out


class TFSameConv2d(nn.Conv2d):
    """A Conv2d padded as TensorFlow's padding="same": total max((ceil(n / s) - 1) * s + k - n, 0) per side pair,
    the odd pixel after. Same keys as nn.Conv2d (its ``padding`` argument is ignored)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pads = []
        for n, k, s in ((x.shape[-1], self.kernel_size[1], self.stride[1]), (x.shape[-2], self.kernel_size[0], self.stride[0])):
            total = max((-(-n // s) - 1) * s + k - n, 0)
            pads += [total // 2, total - total // 2]
        return F.conv2d(F.pad(x, pads), self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


class SRGANDiscriminator(nn.Module):
    """SRGAN's discriminator: 8 conv3 layers (64, 64, 128, 128, 256, 256, 512, 512; strides 1, 2, ...),
    BN from the second, LeakyReLU 0.2, dense 1024, LeakyReLU, dense 1 -> one logit per image (N, 1).

    Deviation from the paper: an AdaptiveAvgPool2d(6) before the dense layers, so any crop size works;
    at the paper's 96 px crops the features are already 6x6 and the pool is the identity.
    Released (Keras) weights need: ``conv_bias`` (a bias before each BN), ``bn_eps`` = 1e-3,
    ``input_m11`` (the net sees 2x - 1 of its [0, 1] input) and ``tf_padding`` (TensorFlow's "same" padding:
    a stride-2 conv on an even size pads only after, where torch's padding=1 pads both sides).
    """

    uses_gan_init = True

    def __init__(self, in_nc: int = 3, ndf: int = 64, conv_bias: bool = False, bn_eps: float = 1e-5,
                 input_m11: bool = False, tf_padding: bool = False):
        super().__init__()
        self.multiple = 1
        self.input_m11 = input_m11
        conv = TFSameConv2d if tf_padding else nn.Conv2d
        layers: list[nn.Module] = [conv(in_nc, ndf, 3, padding=1), nn.LeakyReLU(0.2, True)]
        cin = ndf
        for i in range(1, 8):
            cout = ndf * 2 ** (i // 2)
            stride = 2 if i % 2 == 1 else 1
            # No conv bias before BN by default: BN's shift makes it redundant.
            layers += [conv(cin, cout, 3, stride=stride, padding=1, bias=conv_bias),
                       nn.BatchNorm2d(cout, eps=bn_eps), nn.LeakyReLU(0.2, True)]
            cin = cout
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(6)
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(cin * 36, 1024), nn.LeakyReLU(0.2, True), nn.Linear(1024, 1)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.input_m11:
            x = x * 2 - 1
        return self.classifier(self.pool(self.features(x)))


# --- BasicSR architectures (names of attributes are BasicSR's: do not rename) ---


class ResidualBlockNoBN(nn.Module):
    """BasicSR: x + conv2(ReLU(conv1(x))) * res_scale, convs Kaiming-init scaled by 0.1."""

    def __init__(self, num_feat: int = 64, res_scale: float = 1.0):
        super().__init__()
        self.res_scale = res_scale
        self.conv1 = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv2 = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.relu = nn.ReLU(inplace=True)
        scaled_kaiming_init([self.conv1, self.conv2], 0.1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(self.relu(self.conv1(x))) * self.res_scale


class MSRResNet(nn.Module):
    """BasicSR's modified SRResNet: no BN, LeakyReLU 0.1, pixel-shuffle up-sampling, bilinear skip of the input."""

    def __init__(self, num_in_ch: int = 3, num_out_ch: int = 3, num_feat: int = 64, num_block: int = 16,
                 upscale: int = 4):
        super().__init__()
        _check_in("upscale", upscale, (2, 3, 4))
        self.upscale = upscale
        self.scale = upscale
        self.multiple = 1
        self.conv_first = nn.Conv2d(num_in_ch, num_feat, 3, 1, 1)
        self.body = nn.Sequential(*[ResidualBlockNoBN(num_feat) for _ in range(num_block)])
        if upscale in (2, 3):
            self.upconv1 = nn.Conv2d(num_feat, num_feat * upscale * upscale, 3, 1, 1)
            self.pixel_shuffle = nn.PixelShuffle(upscale)
        else:
            self.upconv1 = nn.Conv2d(num_feat, num_feat * 4, 3, 1, 1)
            self.upconv2 = nn.Conv2d(num_feat, num_feat * 4, 3, 1, 1)
            self.pixel_shuffle = nn.PixelShuffle(2)
        self.conv_hr = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_last = nn.Conv2d(num_feat, num_out_ch, 3, 1, 1)
        self.lrelu = nn.LeakyReLU(negative_slope=0.1, inplace=True)
        scaled_kaiming_init([self.conv_first, self.upconv1, self.conv_hr, self.conv_last], 0.1)
        if upscale == 4:
            scaled_kaiming_init(self.upconv2, 0.1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feat = self.lrelu(self.conv_first(x))
        out = self.body(feat)
        out = self.lrelu(self.pixel_shuffle(self.upconv1(out)))
        if self.upscale == 4:
            out = self.lrelu(self.pixel_shuffle(self.upconv2(out)))
        out = self.conv_last(self.lrelu(self.conv_hr(out)))
        return out + F.interpolate(x, scale_factor=self.upscale, mode="bilinear", align_corners=False)


class ResidualDenseBlock(nn.Module):
    """BasicSR: five densely connected conv3 layers, output x + 0.2 * conv5(...)."""

    def __init__(self, num_feat: int = 64, num_grow_ch: int = 32):
        super().__init__()
        self.conv1 = nn.Conv2d(num_feat, num_grow_ch, 3, 1, 1)
        self.conv2 = nn.Conv2d(num_feat + num_grow_ch, num_grow_ch, 3, 1, 1)
        self.conv3 = nn.Conv2d(num_feat + 2 * num_grow_ch, num_grow_ch, 3, 1, 1)
        self.conv4 = nn.Conv2d(num_feat + 3 * num_grow_ch, num_grow_ch, 3, 1, 1)
        self.conv5 = nn.Conv2d(num_feat + 4 * num_grow_ch, num_feat, 3, 1, 1)
        self.lrelu = nn.LeakyReLU(negative_slope=0.2, inplace=True)
        scaled_kaiming_init([self.conv1, self.conv2, self.conv3, self.conv4, self.conv5], 0.1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x1 = self.lrelu(self.conv1(x))
        x2 = self.lrelu(self.conv2(torch.cat((x, x1), 1)))
        x3 = self.lrelu(self.conv3(torch.cat((x, x1, x2), 1)))
        x4 = self.lrelu(self.conv4(torch.cat((x, x1, x2, x3), 1)))
        x5 = self.conv5(torch.cat((x, x1, x2, x3, x4), 1))
        return x5 * 0.2 + x


class RRDB(nn.Module):
    """BasicSR: three residual dense blocks inside a residual scaled by 0.2."""

    def __init__(self, num_feat: int, num_grow_ch: int = 32):
        super().__init__()
        self.rdb1 = ResidualDenseBlock(num_feat, num_grow_ch)
        self.rdb2 = ResidualDenseBlock(num_feat, num_grow_ch)
        self.rdb3 = ResidualDenseBlock(num_feat, num_grow_ch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.rdb3(self.rdb2(self.rdb1(x))) * 0.2 + x


class RRDBNet(nn.Module):
    """ESRGAN / Real-ESRGAN generator (BasicSR's RRDBNet). Up-sampling is nearest x2 twice; for scale 2 / 1 the
    input is first pixel-unshuffled by 2 / 4 (as BasicSR), so H and W must then be multiples of 2 / 4.
    """

    def __init__(self, num_in_ch: int = 3, num_out_ch: int = 3, scale: int = 4, num_feat: int = 64,
                 num_block: int = 23, num_grow_ch: int = 32):
        super().__init__()
        _check_in("scale", scale, (1, 2, 4))
        self.scale = scale
        self.unshuffle = {4: 1, 2: 2, 1: 4}[scale]
        self.multiple = self.unshuffle
        self.conv_first = nn.Conv2d(num_in_ch * self.unshuffle**2, num_feat, 3, 1, 1)
        self.body = nn.Sequential(*[RRDB(num_feat, num_grow_ch) for _ in range(num_block)])
        self.conv_body = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_up1 = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_up2 = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_hr = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_last = nn.Conv2d(num_feat, num_out_ch, 3, 1, 1)
        self.lrelu = nn.LeakyReLU(negative_slope=0.2, inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # F.pixel_unshuffle orders channels as BasicSR's view/permute version (c * r * r + i * r + j).
        feat = F.pixel_unshuffle(x, self.unshuffle) if self.unshuffle > 1 else x
        feat = self.conv_first(feat)
        feat = feat + self.conv_body(self.body(feat))
        feat = self.lrelu(self.conv_up1(F.interpolate(feat, scale_factor=2, mode="nearest")))
        feat = self.lrelu(self.conv_up2(F.interpolate(feat, scale_factor=2, mode="nearest")))
        return self.conv_last(self.lrelu(self.conv_hr(feat)))


class SRVGGNetCompact(nn.Module):
    """Real-ESRGAN's compact VGG-style net: `num_conv` + 2 conv3 layers in `body` (ModuleList, activations
    interleaved), pixel shuffle to the output size, plus the nearest-upsampled input.
    """

    def __init__(self, num_in_ch: int = 3, num_out_ch: int = 3, num_feat: int = 64, num_conv: int = 16,
                 upscale: int = 4, act_type: str = "prelu"):
        super().__init__()
        _check_in("act_type", act_type, ("relu", "prelu", "leakyrelu"))
        self.upscale = upscale
        self.scale = upscale
        self.multiple = 1
        self.body = nn.ModuleList([nn.Conv2d(num_in_ch, num_feat, 3, 1, 1), _activation(act_type, num_feat)])
        for _ in range(num_conv):
            self.body.append(nn.Conv2d(num_feat, num_feat, 3, 1, 1))
            self.body.append(_activation(act_type, num_feat))
        self.body.append(nn.Conv2d(num_feat, num_out_ch * upscale * upscale, 3, 1, 1))
        self.upsampler = nn.PixelShuffle(upscale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = x
        for layer in self.body:
            out = layer(out)
        out = self.upsampler(out)
        return out + F.interpolate(x, scale_factor=self.upscale, mode="nearest")


def _activation(act_type: str, num_feat: int) -> nn.Module:
    if act_type == "relu":
        return nn.ReLU(inplace=True)
    if act_type == "prelu":
        return nn.PReLU(num_parameters=num_feat)
    return nn.LeakyReLU(negative_slope=0.1, inplace=True)


# --- registry constructors: each signature is the spec that `_translate_spec` records ---


def srgan(in_nc: int = 3, out_nc: int = 3, nf: int = 64, n_blocks: int = 16, scale: int = 4,
          per_channel_prelu: bool = False, bn_eps: float = 1e-5, tanh_output: bool = False) -> SRResNet:
    return SRResNet(in_nc, out_nc, nf, n_blocks, scale, per_channel_prelu, bn_eps, tanh_output)


def srgan_d(in_nc: int = 3, ndf: int = 64, conv_bias: bool = False, bn_eps: float = 1e-5,
            input_m11: bool = False, tf_padding: bool = False) -> SRGANDiscriminator:
    return SRGANDiscriminator(in_nc, ndf, conv_bias, bn_eps, input_m11, tf_padding)


def msrresnet(num_in_ch: int = 3, num_out_ch: int = 3, num_feat: int = 64, num_block: int = 16,
              upscale: int = 4) -> MSRResNet:
    return MSRResNet(num_in_ch, num_out_ch, num_feat, num_block, upscale)


def rrdbnet(num_in_ch: int = 3, num_out_ch: int = 3, scale: int = 4, num_feat: int = 64, num_block: int = 23,
            num_grow_ch: int = 32) -> RRDBNet:
    return RRDBNet(num_in_ch, num_out_ch, scale, num_feat, num_block, num_grow_ch)


def srvgg(num_in_ch: int = 3, num_out_ch: int = 3, num_feat: int = 64, num_conv: int = 16, upscale: int = 4,
          act_type: str = "prelu") -> SRVGGNetCompact:
    return SRVGGNetCompact(num_in_ch, num_out_ch, num_feat, num_conv, upscale, act_type)


GENERATORS: dict[str, Callable[..., nn.Module]] = {
    "srgan": srgan,
    "msrresnet": msrresnet,
    "rrdbnet": rrdbnet,
    "srvgg": srvgg,
}
DISCRIMINATORS: dict[str, Callable[..., nn.Module]] = {"srgan_d": srgan_d}
