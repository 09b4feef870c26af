"""Training-time augmentation (albumentations) and array <-> tensor conversion.

Randomness is a pure function of (run seed, sample position): every sample re-seeds the pipeline, so
any DataLoader worker layout and any resume point give the same crops and flips.
"""
from __future__ import annotations

import albumentations as A
import cv2
import numpy as np
import torch

PREPROCESS = ("resize_and_crop", "crop", "scale_width_and_crop", "resize", "none")


def sample_seed(seed: int, position: int, salt: int = 0) -> int:
    """A well-mixed 32-bit seed for one sample of one run."""
    return int(np.random.SeedSequence([seed, position, salt]).generate_state(1)[0])


def train_transform(size: int, load_size: int, preprocess: str = "resize_and_crop", flip: bool = True,
                    paired: bool = False) -> A.Compose:
    """The reference's transforms: resize to load_size (bicubic), random crop to size, random h-flip."""
    if preprocess not in PREPROCESS:
        raise ValueError(f"preprocess must be one of {PREPROCESS}")
    steps: list[A.BasicTransform] = []
    if preprocess == "resize_and_crop":
        steps += [A.Resize(load_size, load_size, interpolation=cv2.INTER_CUBIC), A.RandomCrop(size, size)]
    elif preprocess == "crop":
        steps += [A.PadIfNeeded(size, size, border_mode=cv2.BORDER_REFLECT_101), A.RandomCrop(size, size)]
    elif preprocess == "scale_width_and_crop":
        steps += [A.LongestMaxSize(load_size, interpolation=cv2.INTER_CUBIC),
                  A.PadIfNeeded(size, size, border_mode=cv2.BORDER_REFLECT_101), A.RandomCrop(size, size)]
    elif preprocess == "resize":
        steps += [A.Resize(size, size, interpolation=cv2.INTER_CUBIC)]
    if flip:
        steps.append(A.HorizontalFlip(p=0.5))
    return A.Compose(steps, additional_targets={"image_b": "image"} if paired else None)


def apply_seeded(transform: A.Compose, seed: int, **images: np.ndarray) -> dict[str, np.ndarray]:
    transform.set_random_seed(seed)
    return transform(**images)


def to_tensor(img: np.ndarray, value_range: tuple[float, float] = (-1.0, 1.0)) -> torch.Tensor:
    """(H, W, 3) uint8 -> (3, H, W) float in value_range."""
    lo, hi = value_range
    t = torch.from_numpy(np.ascontiguousarray(img)).permute(2, 0, 1).float()
    return t * ((hi - lo) / 255.0) + lo


def to_uint8(t: torch.Tensor, value_range: tuple[float, float] = (-1.0, 1.0)) -> np.ndarray:
    """(N, 3, H, W) or (3, H, W) float in value_range -> uint8 (N, H, W, 3) / (H, W, 3)."""
    lo, hi = value_range
    t = ((t.detach().float() - lo) * (255.0 / (hi - lo))).round_().clamp_(0, 255).to(torch.uint8)
    return (t.permute(0, 2, 3, 1) if t.dim() == 4 else t.permute(1, 2, 0)).cpu().numpy()
