"""Shared by the converters of plain .pth state dicts: read with torch.load(weights_only=True), load exactly."""
from __future__ import annotations

import io

import torch

from translate.errors import UserError


def net_from_state_dict(pth: bytes, arch: str, what: str, kind: str, ignore: tuple[str, ...] = ()) -> torch.nn.Module:
    """nets.build_net(arch) holding the tensors of ``pth``, whose keys and shapes must be the net's exactly
    (``ignore``: suffixes of keys the file may carry and the net does not, e.g. num_batches_tracked)."""
    from translate.nets import build_net

    try:
        state = torch.load(io.BytesIO(pth), map_location="cpu", weights_only=True)
    except Exception as e:  # not a weights-only state dict
        raise UserError(f"{what} is not a plain state dict ({e}); nothing was converted") from None
    if not isinstance(state, dict):
        raise UserError(f"{what} holds a {type(state).__name__}, not a state dict; nothing was converted")
    net = build_net(arch)
    mine = net.state_dict()
    state = {k: v for k, v in state.items() if not (k not in mine and k.endswith(ignore))} if ignore else state
    missing = sorted(set(mine) - set(state))
    unexpected = sorted(set(state) - set(mine))
    wrong = [k for k in mine if k in state and state[k].shape != mine[k].shape]
    if missing or unexpected or wrong:
        raise UserError(f"{what} is not the {kind} network (missing {missing[:3]}, unexpected {unexpected[:3]}, "
                        f"other shapes {wrong[:3]}); nothing was converted")
    net.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()})
    return net
