"""`translate eval fid`'s library: FID and KID of a model's translations of one folder against a target folder.

Each image of ``data`` is translated by the model (fp32), then the translated set and the ``target`` set
go through the FID Inception (translate.eval.fid); FID and KID compare their features. With fewer than
2048 images on a side, FID is biased upwards (and, below 2048, its covariance is rank-deficient): the
result says so, and KID (unbiased) is the figure to compare across small sets.
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from translate.data.images import list_images, load_rgb
from translate.errors import UserError
from translate.eval.fid import fid_from_features, inception_features, load_fid_inception
from translate.eval.kid import KID_SUBSET_SIZE, KID_SUBSETS, kernel_inception_distance
from translate.progress import progress_bar

FEATURE_DIM = 2048
PROTOCOL = "Inception-v3 (TF 2015-12-05) pool features, 2048-d, 299 px bilinear resize"


@dataclass
class FIDEval:
    model: str
    sha256: str
    direction: str
    data: str
    target: str
    images: int
    target_images: int
    fid: float
    kid: float
    kid_std: float
    kid_subsets: int
    kid_subset_size: int
    protocol: str = PROTOCOL

    @property
    def note(self) -> str:
        n = min(self.images, self.target_images)
        return (f"FID from {n} < {FEATURE_DIM} images per side is biased upwards; compare KID across small sets"
                if n < FEATURE_DIM else "")

    def table(self) -> str:
        lines = [f"{self.model} {self.direction}: {self.images} translated images of {self.data} vs "
                 f"{self.target_images} of {self.target}", f"  FID  {self.fid:10.3f}",
                 f"  KID  {self.kid:10.5f} ± {self.kid_std:.5f}  ({self.kid_subsets} subsets of {self.kid_subset_size})",
                 f"  {self.protocol}"]
        return "\n".join(lines + ([f"  note: {self.note}"] if self.note else []))

    def json_line(self) -> str:
        return json.dumps({**asdict(self), "fid": round(self.fid, 4), "kid": round(self.kid, 6),
                           "kid_std": round(self.kid_std, 6), "note": self.note})


def _images(paths: list[Path]) -> Iterator[np.ndarray]:
    for p in paths:
        yield load_rgb(p)


def _translated(translator, paths: list[Path]) -> Iterator[np.ndarray]:
    for img in _images(paths):
        yield translator(img)


def _progress(items: Iterable, total: int, desc: str, quiet: bool) -> Iterable:
    return progress_bar(total, desc=desc, unit="img", quiet=quiet, iterable=items)


def evaluate_fid(model, data: str | Path, target: str | Path, direction: str | None = None, device: str = "auto",
                 batch_size: int = 16, kid_subsets: int = KID_SUBSETS, kid_subset_size: int = KID_SUBSET_SIZE,
                 quiet: bool = True, inception=None) -> FIDEval:
    """FID/KID of ``model`` (a path, run folder, name or Translator) translating ``data`` against ``target``."""
    from translate.infer import Translator

    translator = model if isinstance(model, Translator) else Translator(
        model, direction=direction, device=device, precision="fp32", batch_size=1, tasks=("translate", "sr"))
    sources, targets = list_images(data, "--data"), list_images(target, "--target")
    if min(len(sources), len(targets)) < 2:
        raise UserError(f"FID/KID need at least 2 images on each side (--data has {len(sources)}, "
                        f"--target {len(targets)})")
    net = inception if inception is not None else load_fid_inception(translator.device)
    dev = next(net.parameters()).device
    fa = inception_features(_progress(_translated(translator, sources), len(sources), "translate + features", quiet),
                            net, batch_size, dev)
    fb = inception_features(_progress(_images(targets), len(targets), "target features", quiet), net, batch_size, dev)
    kid = kernel_inception_distance(fa, fb, kid_subsets, kid_subset_size)
    return FIDEval(model=translator.model_name, sha256=translator.model_sha256, direction=translator.direction,
                   data=str(data), target=str(target), images=len(fa), target_images=len(fb),
                   fid=fid_from_features(fa, fb), kid=kid.mean, kid_std=kid.std, kid_subsets=kid.subsets,
                   kid_subset_size=kid.subset_size)
