"""Datasets indexed by *sample position* in the whole run (not by file index).

Position p belongs to epoch p // len(ds); inside an epoch the files are visited in a permutation drawn
from (seed, epoch). With the position also seeding augmentation, a run is a pure function of its seed,
which makes resume exact without saving worker RNG states.
"""
from __future__ import annotations

import sys
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset, Sampler

from translate.data.images import load_rgb
from translate.data.transforms import apply_seeded, sample_seed, to_tensor


@lru_cache(maxsize=4)
def _epoch_permutation(seed: int, epoch: int, n: int) -> np.ndarray:
    return np.random.default_rng([seed, epoch, 7]).permutation(n)


def _load_or_neighbour(paths: list[Path], index: int) -> np.ndarray:
    """Decode paths[index]; a file that fails to decode is replaced by the next readable one (and named once)."""
    for offset in range(len(paths)):
        path = paths[(index + offset) % len(paths)]
        try:
            return load_rgb(path)
        except Exception as e:  # a truncated file passes the header check but not the decode
            if path not in _reported:
                _reported.add(path)
                print(f"warning: skipping unreadable image {path}: {e}", file=sys.stderr)
    raise RuntimeError("no readable image left")


_reported: set[Path] = set()


class PositionDataset(Dataset):
    """Base: maps a run-wide sample position to (epoch, file index)."""

    seed: int = 0

    def __len__(self) -> int:  # the epoch length
        raise NotImplementedError

    def file_index(self, position: int) -> int:
        n = len(self)
        return int(_epoch_permutation(self.seed, position // n, n)[position % n])


class UnpairedDataset(PositionDataset):
    """CycleGAN data: A visited in shuffled order, B drawn at random; epoch length max(|A|, |B|)."""

    def __init__(self, a_paths: list[Path], b_paths: list[Path], transform, seed: int):
        self.a_paths, self.b_paths, self.transform, self.seed = a_paths, b_paths, transform, seed

    def __len__(self) -> int:
        return max(len(self.a_paths), len(self.b_paths))

    def __getitem__(self, position: int) -> dict[str, torch.Tensor]:
        i = self.file_index(position)
        a = _load_or_neighbour(self.a_paths, i % len(self.a_paths))
        j = int(np.random.default_rng([self.seed, position, 11]).integers(len(self.b_paths)))
        b = _load_or_neighbour(self.b_paths, j)
        a = apply_seeded(self.transform, sample_seed(self.seed, position, 1), image=a)["image"]
        b = apply_seeded(self.transform, sample_seed(self.seed, position, 2), image=b)["image"]
        return {"A": to_tensor(a), "B": to_tensor(b), "position": position}


class PairedDataset(PositionDataset):
    """Pix2Pix data: either A|B side-by-side files (split at w/2) or (A, B) file pairs; one transform for both."""

    def __init__(self, items: list[Path] | list[tuple[Path, Path]], transform, seed: int, direction: str = "AtoB"):
        self.items, self.transform, self.seed, self.direction = items, transform, seed, direction

    def __len__(self) -> int:
        return len(self.items)

    def load_pair(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        item = self.items[index]
        if isinstance(item, tuple):
            a, b = load_rgb(item[0]), load_rgb(item[1])
            if a.shape != b.shape:  # paired folders may differ in size: bring B onto A's grid
                import cv2
                b = cv2.resize(b, (a.shape[1], a.shape[0]), interpolation=cv2.INTER_CUBIC)
            return a, b
        ab = _load_or_neighbour(self.items, index)  # type: ignore[arg-type]
        half = ab.shape[1] // 2
        return ab[:, :half], ab[:, half:2 * half]

    def __getitem__(self, position: int) -> dict[str, torch.Tensor]:
        a, b = self.load_pair(self.file_index(position))
        out = apply_seeded(self.transform, sample_seed(self.seed, position, 1), image=np.ascontiguousarray(a),
                           image_b=np.ascontiguousarray(b))
        a, b = out["image"], out["image_b"]
        if self.direction == "BtoA":
            a, b = b, a
        return {"A": to_tensor(a), "B": to_tensor(b), "position": position}


class PositionSampler(Sampler[int]):
    """Yields run-wide sample positions [start, end) for one rank: global batch ``batch`` split across ranks."""

    def __init__(self, start: int, end: int, batch: int, rank: int = 0, world: int = 1):
        self.start, self.end, self.batch, self.rank, self.world = start, end, batch, rank, world
        self.local = batch // world

    def __iter__(self):
        first_step, last_step = self.start // self.batch, self.end // self.batch
        for step in range(first_step, last_step):
            base = step * self.batch + self.rank * self.local
            yield from range(base, base + self.local)

    def __len__(self) -> int:
        return (self.end // self.batch - self.start // self.batch) * self.local
