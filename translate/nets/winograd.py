"""Winograd F(4x4, 3x3) convolution for 3x3 stride-1 convs on CPU, forward and backward.

Why: on CPUs without native bf16 (AVX2 only) fp32 is the only fast precision, and the 256-channel 3x3
convs of the ResNet generators' blocks are almost all of their work (narrower convs gain nothing: see MIN_CHANNELS). Winograd F(4,3) needs 36
multiplies per 16 outputs instead of 144, so the products become 36 batched matmuls of (Cout x Cin) @
(Cin x tiles); the transforms are small fixed matmuls. Relative error vs direct convolution is ~1e-5 in
fp32 (the classic F(4,3) points 0, +-1, +-2), far below what an 8-bit image can show.

`use_winograd(module)` switches every eligible nn.Conv2d inside a module to this path by changing its
class to WinogradConv2d (same parameters, same state-dict keys); anything not eligible at run time
(GPU, autocast, half precision, tiny maps, large batches) falls back to the direct convolution.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

# Lavin & Gray (2016), F(4x4, 3x3): Y = A^T [(G g G^T) * (B^T d B)] A, as 2-D Kronecker products so each
# transform is one matmul over a flattened 6x6 (or 3x3, 4x4) tile.
_BT = [[4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0],
       [0, -2, -1, 2, 1, 0], [0, 2, -1, -2, 1, 0], [0, 4, 0, -5, 0, 1]]
_G = [[1 / 4, 0, 0], [-1 / 6, -1 / 6, -1 / 6], [-1 / 6, 1 / 6, -1 / 6],
      [1 / 24, 1 / 12, 1 / 6], [1 / 24, -1 / 12, 1 / 6], [0, 0, 1]]
_AT = [[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0], [0, 1, -1, 8, -8, 1]]


def _kron(m: list) -> torch.Tensor:
    t = torch.tensor(m, dtype=torch.float64)
    return torch.kron(t, t).float()


B2, G2, A2 = _kron(_BT), _kron(_G), _kron(_AT)  # [36, 36], [36, 9], [16, 36]
B2T, G2T, A2T = B2.T.contiguous(), G2.T.contiguous(), A2.T.contiguous()

MIN_CHANNELS = 128  # below this the transforms cost more than the saved multiplies (measured, AVX2)
MIN_SIDE = 8
MAX_TILES = 256  # batch x 4x4 output tiles; beyond this the transforms spill out of cache and direct wins (measured)
KEEP_TRANSFORM_BYTES = 4 << 20  # larger input transforms are recomputed in backward rather than kept


def _to_tiles(x: torch.Tensor) -> torch.Tensor:
    """[N, C, 4th+2, 4tw+2] -> [36, C, N*th*tw]: overlapping 6x6 input tiles, stride 4."""
    n, c = x.shape[:2]
    cols = F.unfold(x, kernel_size=6, stride=4)  # [N, C*36, L]
    return cols.view(n, c, 36, -1).permute(2, 1, 0, 3).reshape(36, c, -1)


def _from_tiles(t: torch.Tensor, n: int, c: int, size: tuple[int, int]) -> torch.Tensor:
    """Adjoint of _to_tiles: scatter-add tile gradients back onto the padded input."""
    cols = t.view(36, c, n, -1).permute(2, 1, 0, 3).reshape(n, c * 36, -1)
    return F.fold(cols, size, kernel_size=6, stride=4)


def transform_weight(weight: torch.Tensor) -> torch.Tensor:
    """[Cout, Cin, 3, 3] -> U = G g G^T as [36, Cout, Cin]. Recomputed every call (about 5% of the conv)
    rather than kept: U is 4x the weight."""
    co, c = weight.shape[:2]
    return (G2 @ weight.reshape(co * c, 9).T).view(36, co, c)


def _transform_input(x: torch.Tensor) -> torch.Tensor:
    """V = B^T d B for every tile: [36, C, tiles]."""
    c = x.shape[1]
    return (B2 @ _to_tiles(x).reshape(36, -1)).view(36, c, -1)


class _WinogradF43(torch.autograd.Function):
    """Valid 3x3 convolution of x (already padded: H-2 and W-2 multiples of 4) with weight, no bias.

    Keeps the input's transform for the backward pass when it is small; a large one (2.25x the input) is
    recomputed there instead, so training memory stays close to that of a direct convolution.
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        n, c, hp, wp = x.shape
        co = weight.shape[0]
        th, tw = (hp - 2) // 4, (wp - 2) // 4
        tiles = n * th * tw
        v = _transform_input(x)
        m = torch.bmm(transform_weight(weight), v)  # [36, Cout, tiles]: the only O(C^2) work
        y = (A2 @ m.view(36, co * tiles)).view(4, 4, co, n, th, tw)
        ctx.keep_v = v.numel() * v.element_size() <= KEEP_TRANSFORM_BYTES
        ctx.save_for_backward(v if ctx.keep_v else x, weight)
        ctx.dims = (n, c, hp, wp, co, th, tw)
        return y.permute(3, 2, 4, 0, 5, 1).reshape(n, co, 4 * th, 4 * tw)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):  # type: ignore[override]
        xv, weight = ctx.saved_tensors
        n, c, hp, wp, co, th, tw = ctx.dims
        tiles = n * th * tw
        gy = grad.reshape(n, co, th, 4, tw, 4).permute(3, 5, 1, 0, 2, 4).reshape(16, co * tiles)
        gm = (A2T @ gy).view(36, co, tiles)
        gx = gw = None
        if ctx.needs_input_grad[0]:
            gv = torch.bmm(transform_weight(weight).transpose(1, 2), gm)  # [36, C, tiles]
            gx = _from_tiles((B2T @ gv.view(36, c * tiles)), n, c, (hp, wp))
        if ctx.needs_input_grad[1]:
            v = xv if ctx.keep_v else _transform_input(xv)
            gu = torch.bmm(gm, v.transpose(1, 2))  # [36, Cout, C]
            gw = (G2T @ gu.view(36, co * c)).T.reshape(co, c, 3, 3)
        return gx, gw


def winograd_conv3x3(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, padding: int) -> torch.Tensor:
    """F.conv2d(x, weight, bias, padding=padding) for a 3x3 stride-1 kernel, via Winograd F(4,3)."""
    if padding:
        x = F.pad(x, [padding] * 4)
    h, w = x.shape[-2] - 2, x.shape[-1] - 2
    ph, pw = (-h) % 4, (-w) % 4
    if ph or pw:  # round the output up to whole 4x4 tiles, crop after
        x = F.pad(x, [0, pw, 0, ph])
    y = _WinogradF43.apply(x.contiguous(), weight)
    if ph or pw:
        y = y[..., :h, :w]
    if bias is not None:
        y = y + bias.view(1, -1, 1, 1)
    return y


def eligible(conv: nn.Module) -> bool:
    """A conv whose every call can take this path (shape permitting): 3x3, stride 1, zero padding 0 or 1.
    A net opts a conv out with ``conv.winograd = False`` where direct measured faster (the face-swap decoder)."""
    return (type(conv) is nn.Conv2d and getattr(conv, "winograd", True) and conv.kernel_size == (3, 3) and conv.stride == (1, 1)
            and conv.dilation == (1, 1) and conv.groups == 1 and conv.padding in ((0, 0), (1, 1))
            and conv.padding_mode == "zeros" and conv.in_channels >= MIN_CHANNELS
            and conv.out_channels >= MIN_CHANNELS)


def _tile_count(x: torch.Tensor, padding: int) -> int:
    """Batch x 4x4 output tiles of a 3x3 conv with this padding."""
    h, w = x.shape[-2] + 2 * padding - 2, x.shape[-1] + 2 * padding - 2
    return x.shape[0] * -(-h // 4) * -(-w // 4)


class WinogradConv2d(nn.Conv2d):
    """nn.Conv2d that takes the Winograd path for fp32 CPU calls (class swapped in by use_winograd)."""

    def _conv_forward(self, input: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
        if (input.device.type == "cpu" and input.dtype == torch.float32 and weight.dtype == torch.float32
                and input.dim() == 4 and min(input.shape[-2:]) >= MIN_SIDE and _tile_count(input, self.padding[0]) <= MAX_TILES
                and not torch.is_autocast_enabled("cpu")):
            return winograd_conv3x3(input, weight, bias, self.padding[0])
        return super()._conv_forward(input, weight, bias)


def use_winograd(module: nn.Module) -> int:
    """Switch every eligible conv inside ``module`` to the Winograd path; returns how many were switched."""
    n = 0
    for m in module.modules():
        if eligible(m):
            m.__class__ = WinogradConv2d
            n += 1
    return n


def use_direct(module: nn.Module) -> None:
    """Undo use_winograd (A/B benchmarks and tests compare both paths on the same net)."""
    for m in module.modules():
        if type(m) is WinogradConv2d:
            m.__class__ = nn.Conv2d
