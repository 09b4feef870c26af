"""Super-resolution nets: counts derived by hand, BasicSR key names, shapes."""
import pytest
import torch
import torch.nn.functional as F

from translate.nets import build_discriminator, build_generator


def n_params(net: torch.nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


def conv(cin: int, cout: int, k: int = 3, bias: bool = True) -> int:
    return cin * cout * k * k + (cout if bias else 0)


def test_srgan_count_by_hand():
    block = 2 * conv(64, 64) + 2 * 2 * 64 + 1  # two conv3, two BN, one PReLU
    up = conv(64, 256) + 1
    expected = conv(3, 64, 9) + 1 + 16 * block + conv(64, 64) + 2 * 64 + 2 * up + conv(64, 3, 9)
    assert expected == 1_549_462
    assert n_params(build_generator("srgan", init=False)) == expected


def test_srgan_d_count_by_hand():
    chans = [64, 64, 128, 128, 256, 256, 512, 512]
    convs = conv(3, 64) + sum(conv(a, b, bias=False) + 2 * b for a, b in zip(chans[:-1], chans[1:]))
    expected = convs + (512 * 36 * 1024 + 1024) + (1024 + 1)
    assert n_params(build_discriminator("srgan_d", init=False)) == expected == 23_563_649


def test_msrresnet_count_by_hand():
    expected = conv(3, 64) + 16 * 2 * conv(64, 64) + 2 * conv(64, 256) + conv(64, 64) + conv(64, 3)
    assert n_params(build_generator("msrresnet")) == expected == 1_517_571  # BasicSR's "1.52M"


def test_rrdbnet_count_by_hand():
    rdb = sum(conv(64 + i * 32, 32) for i in range(4)) + conv(64 + 4 * 32, 64)
    expected = conv(3, 64) + 23 * 3 * rdb + 4 * conv(64, 64) + conv(64, 3)
    with torch.device("meta"):
        net = build_generator("rrdbnet")
    assert n_params(net) == expected == 16_697_987


def test_srvgg_count_by_hand():
    def srvgg_count(num_conv: int) -> int:
        return conv(3, 64) + 64 + num_conv * (conv(64, 64) + 64) + conv(64, 3 * 16)

    assert n_params(build_generator("srvgg")) == srvgg_count(16) == 621_424  # realesr-animevideov3 layout
    # realesr-general-x4v3 layout (num_conv=32)
    assert n_params(build_generator("srvgg", num_conv=32)) == srvgg_count(32) == 1_213_296


def test_basicsr_keys():
    with torch.device("meta"):
        rrdb = build_generator("rrdbnet").state_dict().keys()
    for k in ["conv_first.weight", "body.0.rdb1.conv1.weight", "body.22.rdb3.conv5.bias", "conv_body.weight",
              "conv_up1.weight", "conv_up2.weight", "conv_hr.weight", "conv_last.bias"]:
        assert k in rrdb
    msr = build_generator("msrresnet").state_dict().keys()
    for k in ["conv_first.weight", "body.15.conv2.weight", "upconv1.weight", "upconv2.weight", "conv_hr.bias",
              "conv_last.weight"]:
        assert k in msr
    assert "upconv2.weight" not in build_generator("msrresnet", upscale=2).state_dict()
    vgg = build_generator("srvgg").state_dict()
    assert vgg["body.1.weight"].shape == (64,)  # PReLU with one slope per channel
    assert vgg["body.34.weight"].shape == (48, 64, 3, 3)
    assert len(vgg) == 18 * 2 + 17  # 18 convs (weight, bias) and 17 PReLUs


@pytest.mark.parametrize("scale", [2, 4, 8])
def test_srgan_shapes(scale):
    net = build_generator("srgan", nf=8, n_blocks=2, scale=scale)
    assert net.multiple == 1 and net.scale == scale
    assert net(torch.rand(2, 3, 12, 10)).shape == (2, 3, 12 * scale, 10 * scale)


def test_srgan_rejects_bad_scale():
    with pytest.raises(ValueError, match="scale"):
        build_generator("srgan", scale=3)


@pytest.mark.parametrize("size", [24, 40, 96])
def test_srgan_d_any_crop_size(size):
    d = build_discriminator("srgan_d", ndf=8)
    assert d(torch.rand(2, 3, size, size)).shape == (2, 1)


@pytest.mark.parametrize("scale", [1, 2, 4])
def test_rrdbnet_shapes(scale):
    net = build_generator("rrdbnet", scale=scale, num_feat=8, num_block=1, num_grow_ch=4)
    assert net.multiple == {1: 4, 2: 2, 4: 1}[scale]
    assert net(torch.rand(1, 3, 8, 12)).shape == (1, 3, 8 * scale, 12 * scale)


def test_pixel_unshuffle_matches_basicsr_order():
    # BasicSR's own pixel_unshuffle, restated: view + permute.
    x = torch.arange(2 * 3 * 4 * 6, dtype=torch.float32).view(2, 3, 4, 6)
    b, c, hh, hw = x.shape
    s = 2
    ref = x.view(b, c, hh // s, s, hw // s, s).permute(0, 1, 3, 5, 2, 4).reshape(b, c * s * s, hh // s, hw // s)
    assert torch.equal(F.pixel_unshuffle(x, 2), ref)


@pytest.mark.parametrize("upscale", [2, 3, 4])
def test_msrresnet_shapes(upscale):
    net = build_generator("msrresnet", num_feat=8, num_block=1, upscale=upscale)
    assert net(torch.rand(1, 3, 7, 9)).shape == (1, 3, 7 * upscale, 9 * upscale)


@pytest.mark.parametrize("act_type", ["relu", "prelu", "leakyrelu"])
def test_srvgg_shapes(act_type):
    net = build_generator("srvgg", num_feat=8, num_conv=2, upscale=2, act_type=act_type)
    assert net(torch.rand(1, 3, 7, 9)).shape == (1, 3, 14, 18)


def test_basicsr_nets_keep_their_own_init():
    # BasicSR's scaled Kaiming init (x0.1), not the GAN N(0, 0.02) one: conv_first std ~ 0.1 * sqrt(2 / 27).
    torch.manual_seed(0)
    net = build_generator("msrresnet")
    std = net.conv_first.weight.std().item()
    assert 0.015 < std < 0.04
    assert net.body[0].conv1.bias.abs().sum() == 0
