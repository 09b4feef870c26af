"""ST-LPIPS distances between uint8 RGB images (the ``st-lpips-vgg`` feature network, lower = more alike)."""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

ST_LPIPS_WEIGHTS = "st-lpips-vgg"
ST_LPIPS_ARCH = "st_lpips_vgg"
LABEL = "ST-LPIPS (VGG, shift-tolerant; lower is better)"


def load_st_lpips(device: torch.device | str = "cpu") -> nn.Module:
    """The ST-LPIPS network, fetched on first use."""
    from translate.weights.feature_files import load_feature_net

    return load_feature_net(ST_LPIPS_WEIGHTS, ST_LPIPS_ARCH, device)


def st_lpips_is_local() -> bool:
    """True when the converted ST-LPIPS file is already on this machine (no fetch needed)."""
    from translate.weights.manifest import find, locate

    entry = find(ST_LPIPS_WEIGHTS)
    return entry is not None and locate(entry) is not None


def _to_input(img: np.ndarray, device) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(img)).to(device).permute(2, 0, 1)[None].float() / 127.5 - 1.0


@torch.inference_mode()
def st_lpips(net: nn.Module, a: np.ndarray, b: np.ndarray) -> float:
    """The distance between two uint8 RGB images of one size (H, W, 3), in fp32."""
    if a.shape != b.shape:
        raise ValueError(f"images differ in shape: {a.shape} vs {b.shape}")
    device = next(net.parameters()).device
    return float(net(_to_input(a, device), _to_input(b, device))[0])


LPIPS_MODES = ("auto", "on", "off")


def st_lpips_for(mode: str, device: torch.device | str = "cpu") -> tuple[nn.Module | None, str]:
    """(the ST-LPIPS net or None, a note when it is not used): ``on`` fetches it on first use, ``auto`` uses it
    only when it is already on this machine, ``off`` never."""
    if mode == "off":
        return None, ""
    if mode == "auto" and not st_lpips_is_local():
        return None, (f"ST-LPIPS not computed: {ST_LPIPS_WEIGHTS} is not on this machine; fetch it once with "
                      f"'translate weights fetch {ST_LPIPS_WEIGHTS}' (59 MB) or pass --lpips on")
    return load_st_lpips(device), ""
