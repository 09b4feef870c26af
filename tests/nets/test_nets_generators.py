"""Reference generators: exact parameter counts, reference state-dict keys, shapes."""
import pytest
import torch

from translate.nets import build_generator


def n_params(net: torch.nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


def meta_build(name: str, **kw) -> torch.nn.Module:
    # Meta tensors: counts and keys without allocating or initialising 50M parameters.
    with torch.device("meta"):
        return build_generator(name, **kw)


@pytest.mark.parametrize(
    "name, kw, expected",
    [
        ("resnet_9blocks", {}, 11_378_179),
        ("resnet_6blocks", {}, 7_837_699),
        ("resnet", {"n_blocks": 9}, 11_378_179),
        ("unet_256", {}, 54_413_955),
        ("unet_128", {}, 41_828_995),
        ("unet_256", {"norm": "instance"}, 54_409_603),
    ],
)
def test_reference_parameter_counts(name, kw, expected):
    assert n_params(meta_build(name, **kw)) == expected


def test_resize_upsample_keeps_count_and_other_keys():
    ref, resize = meta_build("resnet_9blocks"), meta_build("resnet_9blocks", upsample="resize")
    assert n_params(resize) == n_params(ref)
    differing = set(ref.state_dict()) ^ set(resize.state_dict())
    # Only the two up-sampling layers (indices 19, 22) change keys.
    assert {k.split(".")[1] for k in differing} == {"19", "22"}


def test_resnet_reference_keys():
    keys = meta_build("resnet_9blocks").state_dict().keys()
    for k in ["model.1.weight", "model.1.bias", "model.4.weight", "model.10.conv_block.1.weight",
              "model.18.conv_block.5.weight", "model.19.weight", "model.22.weight", "model.26.bias"]:
        assert k in keys
    # InstanceNorm without affine or running stats contributes no keys.
    assert not any("running_mean" in k for k in keys)
    bn_keys = meta_build("resnet_9blocks", norm="batch").state_dict().keys()
    assert "model.2.running_mean" in bn_keys and "model.1.bias" not in bn_keys


def test_unet_reference_keys():
    keys = meta_build("unet_256").state_dict().keys()
    innermost = "model.model.1" + ".model.3" * 6
    for k in ["model.model.0.weight", "model.model.1.model.1.weight",
              "model.model.1.model.2.running_var", "model.model.3.weight", "model.model.3.bias",
              innermost + ".model.1.weight", innermost + ".model.3.weight", innermost + ".model.4.weight"]:
        assert k in keys
    assert innermost + ".model.3.model.1.weight" not in keys  # 8 levels, no more
    assert "model.model.0.bias" not in keys  # batch norm: no conv bias, even on the outermost down conv


def test_multiples():
    assert meta_build("resnet_9blocks").multiple == 4
    for size in (32, 64, 128, 256):
        assert meta_build(f"unet_{size}").multiple == size


def test_resnet_forward_shape_and_range():
    torch.manual_seed(0)
    net = build_generator("resnet_6blocks", ngf=8).eval()
    with torch.no_grad():
        y = net(torch.randn(2, 3, 64, 64))
    assert y.shape == (2, 3, 64, 64)
    assert y.abs().max() <= 1


@pytest.mark.parametrize("upsample", ["transpose", "resize"])
@pytest.mark.parametrize("padding_type", ["reflect", "replicate", "zero"])
def test_resnet_variants_shapes(upsample, padding_type):
    net = build_generator("resnet", ngf=4, n_blocks=1, upsample=upsample, padding_type=padding_type,
                          norm="batch", use_dropout=True, output_nc=1)
    assert net(torch.randn(1, 3, 20, 28)).shape == (1, 1, 20, 28)


def test_unet_64_shape():
    net = build_generator("unet_64", ngf=8)
    assert net(torch.randn(2, 3, 64, 64)).shape == (2, 3, 64, 64)


def test_unet_256_forward_once():
    net = build_generator("unet_256").eval()
    with torch.no_grad():
        assert net(torch.randn(1, 3, 256, 256)).shape == (1, 3, 256, 256)


def test_bad_choices_raise():
    with pytest.raises(ValueError, match="instance"):
        build_generator("resnet_9blocks", norm="group", init=False)
    with pytest.raises(ValueError, match="resize"):
        build_generator("resnet_9blocks", upsample="bilinear", init=False)
    with pytest.raises(ValueError, match="num_downs"):
        build_generator("unet", num_downs=4, init=False)


def test_dropout_placement_as_reference():
    unet = meta_build("unet_256")
    assert sum(isinstance(m, torch.nn.Dropout) for m in unet.modules()) == 3  # the middle 512-channel levels
    assert not any(isinstance(m, torch.nn.Dropout) for m in meta_build("unet_256", use_dropout=False).modules())
    res = meta_build("resnet_9blocks", use_dropout=True)
    assert isinstance(res.model[10].conv_block[4], torch.nn.Dropout)
    assert "model.10.conv_block.6.weight" in res.state_dict()
