"""Super-resolution data: HR random crops from a folder, LR inputs made on the fly.

LR = antialiased bicubic downscaling of the HR crop (PIL's BICUBIC, which widens the kernel by the
factor when shrinking, as MATLAB's imresize does), optionally degraded (blur before the downscale, noise
and JPEG after it). Values are in [0, 1]: SR nets are linear-output on [0, 1]. Like every dataset of
translate.data.datasets, items are indexed by run-wide sample position and all randomness is derived
from (seed, position), so a resumed run sees exactly the crops it would have seen.
"""
from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

import albumentations as A
import numpy as np
import torch
from PIL import Image

from translate.data.datasets import PositionDataset, _load_or_neighbour
from translate.data.images import usable_images
from translate.data.transforms import apply_seeded, sample_seed, to_tensor
from translate.errors import UserError

SR_RANGE = (0.0, 1.0)
SCALES = (2, 4, 8)


# --- resampling shared by training data, evaluation and the bundled model's script ---


def crop_to_multiple(img: np.ndarray, scale: int) -> np.ndarray:
    """Drop the last rows/columns so both sides are multiples of ``scale`` (the SR benchmarks' "modcrop")."""
    h, w = img.shape[:2]
    return img[: h - h % scale, : w - w % scale]


def bicubic_resize(img: np.ndarray, width: int, height: int) -> np.ndarray:
    """uint8 (H, W, 3) -> (height, width, 3) with PIL's bicubic (antialiased when shrinking)."""
    return np.array(Image.fromarray(img).resize((width, height), Image.Resampling.BICUBIC))


def bicubic_downscale(hr: np.ndarray, scale: int) -> np.ndarray:
    """The LR image of an HR image whose sides are multiples of ``scale``."""
    h, w = hr.shape[:2]
    return bicubic_resize(hr, w // scale, h // scale)


def bicubic_upscale(lr: np.ndarray, scale: int) -> np.ndarray:
    """The bicubic baseline every SR model is compared with."""
    h, w = lr.shape[:2]
    return bicubic_resize(lr, w * scale, h * scale)


# --- degradations (--degrade) ---


def degradations() -> tuple[A.Compose, A.Compose]:
    """(applied to the HR crop before downscaling, applied to the LR image): blur; Gaussian noise, JPEG."""
    before = A.Compose([A.GaussianBlur(blur_limit=(3, 7), sigma_limit=(0.2, 1.5), p=0.5)])
    after = A.Compose([
        A.GaussNoise(std_range=(0.0, 0.04), p=0.5),
        A.ImageCompression(quality_range=(40, 95), p=0.5),
    ])
    return before, after


# --- the dataset ---


class SRDataset(PositionDataset):
    """{"lr": (3, crop/scale, crop/scale), "hr": (3, crop, crop)} in [0, 1], from random HR crops.

    ``augment`` adds the 8 flips/90-degree rotations (BasicSR's SR augmentation). Decoded images are kept
    in memory (``cache`` images at most, per worker), so small folders are decoded once.
    """

    def __init__(self, paths: list[Path], crop: int, scale: int, seed: int, augment: bool = True,
                 degrade: bool = False, cache: int = 64):
        if scale not in SCALES:
            raise UserError(f"--scale {scale}: use one of {', '.join(map(str, SCALES))}")
        if crop % scale:
            raise UserError(f"--size {crop} must be a multiple of --scale {scale} (e.g. {crop // scale * scale or scale * 24})")
        self.paths, self.crop, self.scale, self.seed = paths, crop, scale, seed
        self.augment, self.degrade = augment, degrade
        self._degrade = degradations() if degrade else None
        self._cache: OrderedDict[int, np.ndarray] = OrderedDict()
        self._cache_size = cache

    def __len__(self) -> int:
        return len(self.paths)

    def _image(self, index: int) -> np.ndarray:
        img = self._cache.get(index)
        if img is None:
            img = _load_or_neighbour(self.paths, index)
            if self._cache_size > 0:
                self._cache[index] = img
                if len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
        return img

    def hr_crop(self, position: int) -> np.ndarray:
        img = self._image(self.file_index(position))
        rng = np.random.default_rng([self.seed, position, 21])
        h, w = img.shape[:2]
        c = self.crop
        if h < c or w < c:  # a file that shrank since listing: pad by reflection rather than fail
            img = np.pad(img, ((0, max(0, c - h)), (0, max(0, c - w)), (0, 0)), mode="reflect")
            h, w = img.shape[:2]
        y, x = int(rng.integers(0, h - c + 1)), int(rng.integers(0, w - c + 1))
        hr = img[y:y + c, x:x + c]
        if self.augment:
            k, flip = int(rng.integers(4)), bool(rng.integers(2))
            hr = np.rot90(hr[:, ::-1] if flip else hr, k)
        return np.ascontiguousarray(hr)

    def __getitem__(self, position: int) -> dict:
        hr = self.hr_crop(position)
        source = hr
        if self._degrade is not None:
            source = apply_seeded(self._degrade[0], sample_seed(self.seed, position, 3), image=hr)["image"]
        lr = bicubic_downscale(source, self.scale)
        if self._degrade is not None:
            lr = apply_seeded(self._degrade[1], sample_seed(self.seed, position, 4), image=lr)["image"]
        return {"lr": to_tensor(lr, SR_RANGE), "hr": to_tensor(hr, SR_RANGE), "position": position}


def sr_dataset(folder: str | None, crop: int, scale: int, seed: int, augment: bool = True,
               degrade: bool = False) -> tuple[SRDataset, str]:
    """The dataset of ``--data FOLDER`` (images smaller than the crop are skipped) and a summary line."""
    if not folder:
        raise UserError("give --data FOLDER of high-resolution images (LR inputs are made from them)")
    paths, check = usable_images(folder, crop, crop, "HR")
    ds = SRDataset(paths, crop, scale, seed, augment, degrade)
    return ds, f"HR: {check.summary()}; {crop} px crops, x{scale}" + (", degraded LR" if degrade else "")


def to_image(t: torch.Tensor) -> np.ndarray:
    """(3, H, W) in [0, 1] -> uint8 (H, W, 3)."""
    return (t.detach().float().clamp(0, 1) * 255).round().to(torch.uint8).permute(1, 2, 0).cpu().numpy()
