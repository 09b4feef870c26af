"""Builders: specs that rebuild exactly, unknown names, GAN init."""
import json

import pytest
import torch

from translate.nets import (
    DISCRIMINATORS,
    GENERATORS,
    build_discriminator,
    build_generator,
    build_net,
    init_weights,
)


def n_params(net: torch.nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


def test_registries_disjoint():
    assert not set(GENERATORS) & set(DISCRIMINATORS)


@pytest.mark.parametrize("arch", sorted({**GENERATORS, **DISCRIMINATORS}))
def test_spec_roundtrip(arch):
    with torch.device("meta"):
        net = build_net(arch, init=False)
        name, spec = net._translate_spec
        assert name == arch
        json.dumps(spec)  # serialisable as is
        rebuilt = build_net(name, init=False, **json.loads(json.dumps(spec)))
    assert rebuilt._translate_spec == (name, spec)
    assert n_params(rebuilt) == n_params(net)
    assert {k: v.shape for k, v in rebuilt.state_dict().items()} == {k: v.shape for k, v in net.state_dict().items()}
    assert isinstance(net.multiple, int) and net.multiple >= 1


def test_spec_has_defaults_filled_in():
    net = build_generator("resnet_9blocks", ngf=8, init=False)
    assert net._translate_spec == ("resnet_9blocks", {
        "input_nc": 3, "output_nc": 3, "ngf": 8, "norm": "instance", "use_dropout": False,
        "padding_type": "reflect", "upsample": "transpose"})


def test_unknown_names_list_valid_ones():
    with pytest.raises(ValueError, match="resnet_9blocks"):
        build_generator("resnet_99blocks")
    with pytest.raises(ValueError, match="basic"):
        build_discriminator("resnet_9blocks")
    with pytest.raises(ValueError, match="srgan_d"):
        build_net("nope")


def test_unknown_kwarg_names_valid_ones():
    with pytest.raises(TypeError, match="ngf"):
        build_generator("resnet_9blocks", n_blocks=3)


def test_gan_init_applied_by_default():
    torch.manual_seed(0)
    net = build_generator("unet_32", ngf=16)
    w = net.model.model[0].weight
    assert abs(w.std().item() - 0.02) < 0.003 and net.model.model[3].bias.abs().sum() == 0
    bn = net.model.model[1].model[2]
    assert abs(bn.weight.mean().item() - 1) < 0.01 and bn.bias.abs().sum() == 0
    default = build_generator("unet_32", ngf=16, init=False).model.model[0].weight
    assert default.std().item() > 0.03  # PyTorch's own init, untouched


def test_init_weights_types():
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.BatchNorm2d(8), torch.nn.Linear(4, 4))
    for t in ("normal", "xavier", "kaiming", "orthogonal"):
        init_weights(net, t)
    with pytest.raises(ValueError, match="orthogonal"):
        init_weights(net, "uniform")
