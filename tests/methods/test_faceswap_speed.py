"""The face-swap speed-ups keep the arithmetic: the im2col-matmul convs and the fused Adam give the losses,
gradients and weights of plain nn.Conv2d + the unfused Adam, to float rounding."""
from __future__ import annotations

import itertools

import pytest
import torch
from torch import nn

from translate.methods.faceswap import FaceSwap, FaceSwapConfig
from translate.nets.gemm_conv import GemmConv2d


@pytest.mark.parametrize("cin,cout,k,stride,bias,input_grad", [
    (6, 10, 5, 2, True, True),  # the encoder's 5x5 stride-2 convs
    (8, 12, 3, 1, True, True),  # the up-scale 3x3 convs
    (3, 5, 5, 2, False, False),  # a first layer: no input gradient, no bias
])
def test_gemm_conv_matches_conv2d(cin, cout, k, stride, bias, input_grad, one_torch_thread):
    torch.manual_seed(0)
    ref = nn.Conv2d(cin, cout, k, stride, k // 2, bias=bias)
    fast = GemmConv2d(cin, cout, k, stride, k // 2, bias=bias)
    fast.load_state_dict(ref.state_dict())
    x = torch.randn(3, cin, 9, 12)  # odd, non-square maps: the padding and the fold's edges count
    outs, grads = [], []
    for conv in (ref, fast):
        xi = x.clone().requires_grad_(input_grad)
        y = conv(xi)
        (y * torch.linspace(-1, 1, y.numel()).view_as(y)).sum().backward()
        outs.append(y.detach())
        grads.append([t.grad for t in (xi, conv.weight, conv.bias) if t is not None and t.grad is not None])
    assert outs[1].shape == outs[0].shape and outs[1].is_contiguous()
    torch.testing.assert_close(outs[1], outs[0], rtol=1e-5, atol=1e-5)
    assert len(grads[1]) == len(grads[0]) == 1 + input_grad + bias
    for g_fast, g_ref in zip(grads[1], grads[0]):
        torch.testing.assert_close(g_fast, g_ref, rtol=1e-5, atol=1e-5)


def test_gemm_conv_leaves_autocast_to_the_plain_conv():
    conv = GemmConv2d(4, 4, 3, padding=1)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert conv(torch.randn(1, 4, 8, 8)).dtype == torch.bfloat16


def _before(m: FaceSwap) -> FaceSwap:
    """The same method as it was before the speed-ups: plain convs, the unfused Adam."""
    for net in m.nets.values():
        for mod in net.modules():
            if type(mod) is GemmConv2d:
                mod.__class__ = nn.Conv2d
    n, cfg = m.nets, m.cfg
    kw = dict(lr=cfg.lr, betas=(cfg.beta1, cfg.beta2), foreach=False)
    m.optimizers = {side: torch.optim.Adam(itertools.chain(n["encoder"].parameters(), n[f"decoder_{side}"].parameters()), **kw)
                    for side in "AB"}
    return m


def test_train_steps_match_the_plain_path(one_torch_thread):
    cfg = FaceSwapConfig(size=32, width=4, lr=1e-3)
    methods = []
    for slow in (False, True):
        torch.manual_seed(0)
        m = FaceSwap(cfg, torch.device("cpu"))
        methods.append(_before(m) if slow else m)
    fast, slow = methods
    assert sum(type(mod) is GemmConv2d for mod in fast.nets["encoder"].modules()) == 2
    assert fast.optimizers["A"].defaults["fused"] and not slow.optimizers["A"].defaults["fused"]
    g = torch.Generator().manual_seed(1)
    for _ in range(3):
        batch = {k: torch.rand(4, 1 if k.endswith("mask") else 3, 32, 32, generator=g)
                 for k in ("A", "A_target", "A_mask", "B", "B_target", "B_mask")}
        lf, ls = fast.train_step(batch), slow.train_step(batch)
        for k in ls:
            torch.testing.assert_close(lf[k], ls[k], rtol=1e-5, atol=1e-6)
    for name in fast.nets:  # weights after 3 steps of both sides; the gradients of each net's last backward
        for (key, p), q in zip(fast.nets[name].named_parameters(), slow.nets[name].parameters()):
            torch.testing.assert_close(p, q, rtol=1e-4, atol=1e-6, msg=f"{name}.{key}")
            torch.testing.assert_close(p.grad, q.grad, rtol=1e-4, atol=1e-6, msg=f"{name}.{key} grad")
