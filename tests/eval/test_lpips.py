"""ST-LPIPS: the converter and net against a numpy forward pass (synthetic and the real weights), shift tolerance."""
from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from numpy.lib.stride_tricks import sliding_window_view

from translate.weights.converters.st_lpips import build_st_lpips

ST_LPIPS_WHEEL = ("stlpips-pytorch==0.0.2", "stlpips_pytorch/weights/vST0.0/vgg_shift_tolerant.pth",
                  "44597da68f49c1837c100ff52299050f274d102eb102e5837178c79be6f0e250")


def np_conv(x, w, b=None, stride=1, groups=1):
    """x (C, H, W), w (O, C/groups, k, k), no padding."""
    k = w.shape[-1]
    win = sliding_window_view(x, (k, k), axis=(1, 2))[:, ::stride, ::stride]  # C, H', W', k, k
    if groups == 1:
        y = np.tensordot(w, win, axes=([1, 2, 3], [0, 3, 4]))  # O, H', W' (BLAS)
    else:  # depthwise
        y = (win * w[:, 0][:, None, None]).sum((-1, -2))
    return y if b is None else y + b[:, None, None]


def np_st_lpips(sd: dict[str, np.ndarray], x0: np.ndarray, x1: np.ndarray) -> float:
    """The authors' forward, written out: scaling, shift-tolerant VGG16, unit-normalised diffs, linear heads."""
    def features(x):
        x = (x - sd["scaling_layer.shift"][0]) / sd["scaling_layer.scale"][0]
        feats = []
        convs = sorted({int(k.split(".")[2]) for k in sd if k.startswith("net.") and k.endswith(".weight")})
        for s in range(1, 6):
            for i in [c for c in convs if f"net.slice{s}.{c}.weight" in sd]:
                if f"net.slice{s}.{i - 1}.filt" in sd:  # max-pool 2 stride 1, reflect pad 2, blur stride 2
                    x = sliding_window_view(x, (2, 2), axis=(1, 2)).max((-1, -2))
                    x = np_conv(np.pad(x, ((0, 0), (2, 2), (2, 2)), mode="reflect"), sd[f"net.slice{s}.{i - 1}.filt"],
                                stride=2, groups=x.shape[0])
                x = np_conv(np.pad(x, ((0, 0), (1, 1), (1, 1))), sd[f"net.slice{s}.{i}.weight"], sd[f"net.slice{s}.{i}.bias"])
                x = np.maximum(x, 0)
            feats.append(x)
        return feats

    total = 0.0
    for k, (a, b) in enumerate(zip(features(x0), features(x1))):
        na = a / (np.sqrt((a ** 2).sum(0, keepdims=True)) + 1e-10)
        nb = b / (np.sqrt((b ** 2).sum(0, keepdims=True)) + 1e-10)
        total += float(np.einsum("chw,c->hw", (na - nb) ** 2, sd[f"lin{k}.model.1.weight"][0, :, 0, 0]).mean())
    return total


def _pair(rng, size=32):
    a = rng.uniform(-1, 1, (3, size, size))
    return a, np.clip(a + rng.normal(0, 0.3, a.shape), -1, 1)


def _torch_distance(net, a, b) -> float:
    with torch.no_grad():
        return float(net(torch.from_numpy(a)[None].float(), torch.from_numpy(b)[None].float())[0])


def test_converted_st_lpips_matches_a_numpy_forward_on_synthetic_weights(one_torch_thread):
    from translate.nets import build_net

    torch.manual_seed(0)
    src = build_net("st_lpips_vgg")
    for name, p in src.named_parameters():
        p.data = torch.randn_like(p) * (0.1 if "lin" in name else (2.0 / p[0].numel()) ** 0.5 if p.dim() == 4 else 0.05)
    buf = io.BytesIO()
    torch.save(src.state_dict(), buf)
    net = build_st_lpips(buf.getvalue()).eval()
    sd = {k: v.double().numpy() for k, v in src.state_dict().items()}
    a, b = _pair(np.random.default_rng(0))
    assert _torch_distance(net, a, b) == pytest.approx(np_st_lpips(sd, a, b), rel=1e-4)
    assert _torch_distance(net, a, a) == 0.0


def test_a_state_dict_of_another_network_is_refused():
    from translate.errors import UserError

    buf = io.BytesIO()
    torch.save({"features.0.weight": torch.zeros(64, 3, 3, 3)}, buf)
    with pytest.raises(UserError, match="not the ST-LPIPS"):
        build_st_lpips(buf.getvalue())


@pytest.mark.network
def test_real_st_lpips_matches_numpy_and_tolerates_a_one_pixel_shift(one_torch_thread):
    from real_wheels import real_member
    from skimage.data import chelsea

    from translate.eval.lpips import st_lpips

    net = build_st_lpips(real_member(*ST_LPIPS_WHEEL)).eval()
    sd = {k: v.double().numpy() for k, v in net.state_dict().items()}
    a, b = _pair(np.random.default_rng(1))
    assert _torch_distance(net, a, b) == pytest.approx(np_st_lpips(sd, a, b), rel=1e-4)
    img = chelsea()[100:228, 150:278]
    shifted = chelsea()[101:229, 151:279]
    noisy = np.clip(img + np.random.default_rng(2).normal(0, 12, img.shape), 0, 255).astype(np.uint8)
    d_shift, d_noise = st_lpips(net, img, shifted), st_lpips(net, img, noisy)
    assert st_lpips(net, img, img) == 0.0 and d_shift < d_noise, (d_shift, d_noise)
