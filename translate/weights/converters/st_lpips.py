"""ST-LPIPS (stlpips-pytorch's vgg_shift_tolerant.pth, the whole network) into a safetensors model file.

The .pth is a plain state dict, read with torch.load(weights_only=True); its keys already follow
translate.nets.lpips.STLPIPS, which must take every one of them.
"""
from __future__ import annotations

import io
from pathlib import Path

import torch

from translate.errors import UserError
from translate.weights.converters import register
from translate.weights.feature_files import save_feature_net
from translate.weights.manifest import Entry

ARCH = "st_lpips_vgg"


def build_st_lpips(pth: bytes, what: str = "the file") -> torch.nn.Module:
    from translate.nets import build_net

    try:
        state = torch.load(io.BytesIO(pth), map_location="cpu", weights_only=True)
    except Exception as e:  # not a weights-only state dict
        raise UserError(f"{what} is not a plain state dict ({e}); nothing was converted") from None
    net = build_net(ARCH)
    mine = net.state_dict()
    missing = sorted(set(mine) - set(state))
    unexpected = sorted(set(state) - set(mine))
    wrong = [k for k in mine if k in state and state[k].shape != mine[k].shape]
    if missing or unexpected or wrong:
        raise UserError(f"{what} is not the ST-LPIPS VGG network (missing {missing[:3]}, unexpected {unexpected[:3]}, "
                        f"other shapes {wrong[:3]}); nothing was converted")
    net.load_state_dict({k: v.float() for k, v in state.items()})
    return net


@register("st-lpips")
def convert(members: dict[str, bytes], dest: Path, entry: Entry) -> None:
    net = build_st_lpips(members[entry.member], f"{entry.member} of {entry.wheel}")
    save_feature_net(dest, net, "st-lpips", {"source": f"{entry.wheel} {entry.member}",
                                             "input": "two RGB images in [-1, 1]; output one distance each"})
