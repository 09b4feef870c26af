"""The 2017 deepfakes autoencoder: counts of the original size, shapes of a tiny one."""
import pytest
import torch

from translate.nets import build_generator


def n_params(net: torch.nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


def conv(cin: int, cout: int, k: int) -> int:
    return cin * cout * k * k + cout


def test_original_counts_by_hand():
    with torch.device("meta"):
        enc = build_generator("faceswap_encoder")
        dec = build_generator("faceswap_decoder")
    convs = conv(3, 128, 5) + conv(128, 256, 5) + conv(256, 512, 5) + conv(512, 1024, 5)
    dense = (4 * 4 * 1024 * 1024 + 1024) + (1024 * 4 * 4 * 1024 + 4 * 4 * 1024)
    assert n_params(enc) == convs + dense + conv(1024, 512 * 4, 3)
    assert n_params(dec) == conv(512, 1024, 3) + conv(256, 512, 3) + conv(128, 256, 3) + conv(64, 3, 5)


@pytest.mark.parametrize("size", [64, 128])
def test_tiny_roundtrip(size):
    enc = build_generator("faceswap_encoder", input_size=size, width=4)
    dec = build_generator("faceswap_decoder", input_size=size, width=4)
    z = enc(torch.rand(2, 3, size, size))
    assert z.shape == (2, 8 * 4, size // 8, size // 8)  # 8w x s/8: 512 x 8 x 8 at the original w=64, 64 px
    y = dec(z)
    assert y.shape == (2, 3, size, size)
    assert 0 <= y.min() and y.max() <= 1
    assert enc.multiple == 16


def test_encoder_rejects_other_sizes():
    enc = build_generator("faceswap_encoder", width=4)
    with pytest.raises(ValueError, match="64x64"):
        enc(torch.rand(1, 3, 32, 32))
    with pytest.raises(ValueError, match="multiple of 16"):
        build_generator("faceswap_encoder", input_size=40)
