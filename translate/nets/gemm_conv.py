"""A Conv2d computed as one im2col matmul on CPU fp32, forward and backward.

Why: oneDNN's direct convolution is slow on small maps with many channels, where the weight is most of the
data: the face-swap encoder's last 5x5 conv (512 -> 1024 channels, 8x8 -> 4x4) and its 3x3 up-scale conv
(1024 -> 2048 at 4x4) hold 32M of its 40M conv weights, and as one (batch x positions) x (Cin k k) x Cout
matmul they take about half of oneDNN's time, backward included (scripts/bench/train.py --configs faceswap64).
Same products as the direct convolution, summed in another order: results agree to float rounding (~1e-6).

`GemmConv2d` is an nn.Conv2d (same parameters, same state-dict keys) that takes this path for fp32 CPU calls
outside autocast and the plain convolution everywhere else (GPU, bf16, grouped or dilated convs).
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F


class _Im2colConv(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, weight, bias, stride, padding):  # type: ignore[override]
        n, _, h, w = x.shape
        co, _, kh, kw = weight.shape
        ho = (h + 2 * padding[0] - kh) // stride[0] + 1
        wo = (w + 2 * padding[1] - kw) // stride[1] + 1
        xp = F.pad(x, (padding[1], padding[1], padding[0], padding[0])).contiguous()
        c, hp, wp = xp.shape[1:]
        # one row (Cin, kh, kw) per output position, gathered in one copy (4x faster than F.unfold + transpose)
        cols = xp.as_strided((n, ho, wo, c, kh, kw), (c * hp * wp, stride[0] * wp, stride[1], hp * wp, wp, 1)
                             ).reshape(n * ho * wo, c * kh * kw)
        wm = weight.reshape(co, -1)
        y = cols @ wm.t() if bias is None else torch.addmm(bias, cols, wm.t())  # [N*L, Cout]
        ctx.save_for_backward(cols, weight)
        ctx.geometry = (n, h, w, ho, wo, stride, padding, bias is not None)
        out = y.new_empty((n, co, ho, wo))  # NCHW, and not a view (the next LeakyReLU works in place)
        out.view(n, co, ho * wo).copy_(y.view(n, ho * wo, co).transpose(1, 2))
        return out

    @staticmethod
    def backward(ctx, grad):  # type: ignore[override]
        cols, weight = ctx.saved_tensors
        n, h, w, ho, wo, stride, padding, has_bias = ctx.geometry
        co, _, kh, kw = weight.shape
        g = grad.reshape(n, co, ho * wo).transpose(1, 2).reshape(n * ho * wo, co)
        gx = gw = gb = None
        if ctx.needs_input_grad[0]:
            gcols = (g @ weight.reshape(co, -1)).view(n, ho * wo, -1).transpose(1, 2)
            gx = F.fold(gcols, (h, w), (kh, kw), padding=padding, stride=stride)
        if ctx.needs_input_grad[1]:
            gw = (g.t() @ cols).view_as(weight)
        if has_bias and ctx.needs_input_grad[2]:
            gb = g.sum(0)
        return gx, gw, gb, None, None


class GemmConv2d(nn.Conv2d):
    """nn.Conv2d whose fp32 CPU calls run as one im2col matmul (see the module doc)."""

    def _conv_forward(self, input: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
        if (input.device.type == "cpu" and input.dtype == torch.float32 and weight.dtype == torch.float32
                and input.dim() == 4 and self.groups == 1 and self.dilation == (1, 1)
                and self.padding_mode == "zeros" and not isinstance(self.padding, str)
                and not torch.is_autocast_enabled("cpu")):
            return _Im2colConv.apply(input, weight, bias, self.stride, self.padding)
        return super()._conv_forward(input, weight, bias)
