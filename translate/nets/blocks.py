"""Building blocks shared by the reference (pytorch-CycleGAN-and-pix2pix) generators and discriminators.

Attribute names and layer order follow the reference so its checkpoints load by plain `load_state_dict`.
"""
from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

NORMS = ("instance", "batch", "none")
PADDINGS = ("reflect", "replicate", "zero")

NormFactory = Callable[[int], nn.Module]


def norm_factory(norm: str) -> NormFactory:
    """Norm layer constructor by name, configured as the reference does.

    InstanceNorm has no affine parameters and no running statistics; BatchNorm is affine and tracks stats;
    "none" puts an Identity in the slot so layer indices (and state-dict keys) stay the same.
    """
    if norm == "instance":
        return lambda c: nn.InstanceNorm2d(c, affine=False, track_running_stats=False)
    if norm == "batch":
        return lambda c: nn.BatchNorm2d(c, affine=True, track_running_stats=True)
    if norm == "none":
        return lambda c: nn.Identity()
    raise ValueError(f"unknown norm {norm!r}; valid: {', '.join(NORMS)}")


def conv_bias(norm: str) -> bool:
    """The reference gives convs a bias only before InstanceNorm (BatchNorm's shift makes it redundant).

    With norm "none" the reference also drops the bias (its check is `norm_layer == InstanceNorm2d`); kept
    so checkpoints of the reference tool load.
    """
    return norm == "instance"


def check_choice(name: str, value: str, valid: tuple[str, ...]) -> None:
    if value not in valid:
        raise ValueError(f"unknown {name} {value!r}; valid: {', '.join(valid)}")


class ResnetBlock(nn.Module):
    """x + [pad, conv3, norm, ReLU, (dropout 0.5), pad, conv3, norm](x); the sequence is `conv_block`."""

    def __init__(self, dim: int, padding_type: str, norm_layer: NormFactory, use_dropout: bool, use_bias: bool):
        super().__init__()
        check_choice("padding_type", padding_type, PADDINGS)
        layers: list[nn.Module] = []
        for second in (False, True):
            pad, p = _padding(padding_type)
            layers += pad
            layers += [nn.Conv2d(dim, dim, kernel_size=3, padding=p, bias=use_bias), norm_layer(dim)]
            if not second:
                layers.append(nn.ReLU(True))
                if use_dropout:
                    layers.append(nn.Dropout(0.5))
        self.conv_block = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv_block(x)


def _padding(padding_type: str) -> tuple[list[nn.Module], int]:
    """Explicit pad layer (reflect/replicate) or the conv's own zero padding."""
    if padding_type == "reflect":
        return [nn.ReflectionPad2d(1)], 0
    if padding_type == "replicate":
        return [nn.ReplicationPad2d(1)], 0
    return [], 1


class UnetSkipConnectionBlock(nn.Module):
    """One U-Net level: down (conv4 s2) -> `submodule` -> up (convT4 s2), output concatenated with the input.

    The outermost level returns the up path alone (ending in tanh). Layers live in `self.model` as the
    reference, so nested keys read `model.1.model.3. ...`.
    """

    def __init__(
        self,
        outer_nc: int,
        inner_nc: int,
        input_nc: int | None = None,
        submodule: nn.Module | None = None,
        outermost: bool = False,
        innermost: bool = False,
        norm_layer: NormFactory = nn.BatchNorm2d,
        use_dropout: bool = False,
        use_bias: bool = False,
    ):
        super().__init__()
        self.outermost = outermost
        if input_nc is None:
            input_nc = outer_nc
        downconv = nn.Conv2d(input_nc, inner_nc, kernel_size=4, stride=2, padding=1, bias=use_bias)
        downrelu = nn.LeakyReLU(0.2, True)
        uprelu = nn.ReLU(True)
        if outermost:
            assert submodule is not None
            upconv = nn.ConvTranspose2d(inner_nc * 2, outer_nc, kernel_size=4, stride=2, padding=1)
            model = [downconv, submodule, uprelu, upconv, nn.Tanh()]
        elif innermost:
            upconv = nn.ConvTranspose2d(inner_nc, outer_nc, kernel_size=4, stride=2, padding=1, bias=use_bias)
            model = [downrelu, downconv, uprelu, upconv, norm_layer(outer_nc)]
        else:
            assert submodule is not None
            upconv = nn.ConvTranspose2d(inner_nc * 2, outer_nc, kernel_size=4, stride=2, padding=1, bias=use_bias)
            model = [downrelu, downconv, norm_layer(inner_nc), submodule, uprelu, upconv, norm_layer(outer_nc)]
            if use_dropout:
                model.append(nn.Dropout(0.5))
        self.model = nn.Sequential(*model)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.outermost:
            return self.model(x)
        return torch.cat([x, self.model(x)], 1)
