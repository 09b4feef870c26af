"""Winograd F(4,3) convs: same values and gradients as direct convolution, switched in without changing a
net's parameters or state-dict keys, and falling back to direct convolution wherever it does not apply."""
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from translate.nets import build_generator
from translate.nets.winograd import (
    WinogradConv2d,
    use_direct,
    use_winograd,
    winograd_conv3x3,
)


def rel_err(a, ref):
    return ((a.double() - ref).abs().max() / ref.abs().max()).item()


@pytest.mark.parametrize("keep", [True, False], ids=["kept-transform", "recomputed-transform"])
@pytest.mark.parametrize("n,c,co,h,w,pad", [(1, 32, 48, 34, 34, 0), (2, 16, 16, 33, 47, 1), (1, 24, 8, 9, 13, 1)])
def test_values_and_gradients_match_direct_convolution(n, c, co, h, w, pad, keep, monkeypatch):
    if not keep:
        monkeypatch.setattr("translate.nets.winograd.KEEP_TRANSFORM_BYTES", 0)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, c, h, w, generator=g, dtype=torch.float64)
    wt = torch.randn(co, c, 3, 3, generator=g, dtype=torch.float64) * 0.1
    b = torch.randn(co, generator=g, dtype=torch.float64)
    xd, wd, bd = (t.clone().requires_grad_() for t in (x, wt, b))  # float64 direct: the truth
    ref = F.conv2d(xd, wd, bd, padding=pad)
    grad_out = torch.randn(ref.shape, generator=g, dtype=torch.float64)
    ref.backward(grad_out)
    xs, ws, bs = (t.float().requires_grad_() for t in (x, wt, b))
    y = winograd_conv3x3(xs, ws, bs, pad)
    y.backward(grad_out.float())
    assert y.shape == ref.shape
    assert rel_err(y, ref) < 3e-5
    assert rel_err(xs.grad, xd.grad) < 3e-5
    assert rel_err(ws.grad, wd.grad) < 3e-5
    assert rel_err(bs.grad, bd.grad) < 3e-5


def test_switching_keeps_parameters_and_outputs():
    torch.manual_seed(0)
    net = build_generator("resnet_6blocks", ngf=32).eval()  # 128-channel blocks: 12 eligible 3x3 convs
    keys = list(net.state_dict())
    x = torch.rand(1, 3, 64, 64) * 2 - 1
    with torch.no_grad():
        direct = net(x)
        assert use_winograd(net) == 12
        fast = net(x)
    assert list(net.state_dict()) == keys
    assert sum(isinstance(m, WinogradConv2d) for m in net.modules()) == 12
    assert (fast - direct).abs().max() < 1e-4
    use_direct(net)
    assert not any(isinstance(m, WinogradConv2d) for m in net.modules())
    with torch.no_grad():
        assert torch.equal(net(x), direct)


def test_follows_optimizer_steps():
    torch.manual_seed(0)
    conv = nn.Conv2d(128, 128, 3, padding=1)
    ref = nn.Conv2d(128, 128, 3, padding=1)
    ref.load_state_dict(conv.state_dict())
    assert use_winograd(conv) == 1
    opt, ref_opt = torch.optim.SGD(conv.parameters(), lr=0.1), torch.optim.SGD(ref.parameters(), lr=0.1)
    x = torch.randn(2, 128, 16, 16)
    for _ in range(3):  # each step changes the weights in place; the next forward must see them
        for m, o in ((conv, opt), (ref, ref_opt)):
            o.zero_grad()
            m(x).square().mean().backward()
            o.step()
    with torch.no_grad():
        assert (conv(x) - ref(x)).abs().max() < 1e-4


def test_falls_back_where_winograd_does_not_apply():
    torch.manual_seed(0)
    conv = nn.Conv2d(128, 128, 3, padding=1)
    use_winograd(conv)
    x = torch.randn(1, 128, 16, 16)
    with torch.no_grad():
        tiny = torch.randn(1, 128, 5, 5)
        assert torch.equal(conv(tiny), F.conv2d(tiny, conv.weight, conv.bias, padding=1))
        big = torch.randn(2, 128, 36, 36)  # 2 x 9 x 9 = 162 tiles: Winograd
        assert not torch.equal(conv(big), F.conv2d(big, conv.weight, conv.bias, padding=1))
        big = torch.randn(4, 128, 36, 36)  # 324 tiles: beyond MAX_TILES, direct
        assert torch.equal(conv(big), F.conv2d(big, conv.weight, conv.bias, padding=1))
        with torch.autocast("cpu", dtype=torch.bfloat16):
            y = conv(x)
        assert y.dtype == torch.bfloat16  # autocast's own conv, not the fp32 Winograd path
    for m in (nn.Conv2d(128, 128, 3, stride=2), nn.Conv2d(128, 128, 4), nn.Conv2d(3, 64, 3), nn.Conv2d(128, 128, 3, padding=1, padding_mode="reflect")):
        assert use_winograd(m) == 0
