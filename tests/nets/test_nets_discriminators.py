"""Reference discriminators: exact parameter counts, keys, patch shapes."""
import pytest
import torch

from translate.nets import build_discriminator


def n_params(net: torch.nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


@pytest.mark.parametrize(
    "name, kw, expected",
    [
        ("basic", {}, 2_764_737),
        ("basic", {"input_nc": 6, "norm": "batch"}, 2_768_705),
        ("n_layers", {"n_layers": 3}, 2_764_737),
        # The reference's 8,705 is the pixel D with its default (instance) norm: conv biases, no affine norm.
        ("pixel", {}, 8_705),
        # With batch norm: 3*64+64 + 64*128 (no bias) + 2*128 (BN) + 128 (no bias) = 8,832.
        ("pixel", {"norm": "batch"}, 8_832),
    ],
)
def test_reference_parameter_counts(name, kw, expected):
    assert n_params(build_discriminator(name, init=False, **kw)) == expected


def test_reference_keys():
    basic = build_discriminator("basic", norm="batch", init=False).state_dict().keys()
    for k in ["model.0.weight", "model.0.bias", "model.2.weight", "model.3.running_mean", "model.8.weight",
              "model.11.weight", "model.11.bias"]:
        assert k in basic
    pixel = build_discriminator("pixel", init=False).state_dict().keys()
    assert set(pixel) == {"net.0.weight", "net.0.bias", "net.2.weight", "net.2.bias", "net.5.weight", "net.5.bias"}


def test_patch_shapes():
    x = torch.randn(2, 3, 64, 64)
    # 70x70 PatchGAN: 64 -> 32 -> 16 -> 8 -> 7 -> 6.
    assert build_discriminator("basic", ndf=8)(x).shape == (2, 1, 6, 6)
    assert build_discriminator("n_layers", ndf=8, n_layers=1)(x).shape == (2, 1, 30, 30)
    assert build_discriminator("pixel", ndf=8)(x).shape == (2, 1, 64, 64)
