"""DiscoGAN nets: counts by hand, shapes, logits and features."""
import torch

from translate.nets import build_discriminator, build_generator


def n_params(net: torch.nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


def conv4(cin: int, cout: int) -> int:
    return cin * cout * 16  # no biases in DiscoGAN


def test_counts_by_hand():
    c = [64, 128, 256, 512]
    g = conv4(3, 64) + sum(conv4(a, b) + 2 * b for a, b in zip(c[:-1], c[1:]))
    g += sum(conv4(a, b) + 2 * b for a, b in zip(c[:0:-1], c[-2::-1])) + conv4(64, 3)
    assert n_params(build_generator("discogan", init=False)) == g == 5_513_856
    d = conv4(3, 64) + sum(conv4(a, b) + 2 * b for a, b in zip(c[:-1], c[1:])) + conv4(512, 1)
    assert n_params(build_discriminator("discogan_d", init=False)) == d == 2_765_568


def test_generator_shape_and_range():
    g = build_generator("discogan", ngf=8)
    assert g.multiple == 16
    y = g(torch.randn(2, 3, 64, 64))
    assert y.shape == (2, 3, 64, 64) and y.abs().max() <= 1


def test_discriminator_logits_and_features():
    d = build_discriminator("discogan_d", ndf=8)
    x = torch.randn(2, 3, 64, 64)
    logits, feats = d.forward_features(x)
    assert logits.shape == (2, 1, 1, 1)
    assert [f.shape[1:] for f in feats] == [(16, 16, 16), (32, 8, 8), (64, 4, 4)]
    assert torch.equal(d(x), logits)
    # Logits, not probabilities: not confined to (0, 1) in general.
    assert d(torch.randn(8, 3, 64, 64) * 5).min() < 0
