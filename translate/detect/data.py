"""Training data for the detector: (image, label) with the degradations real uploads suffer.

Both classes go through the same random pipeline, so compression, blur or size never predict the label
(the detector must learn the generator's trace, not "this file was re-encoded"):
    down-scale to 50-100% (area) -> random crop (reflect-padded if smaller) -> h-flip -> Gaussian blur
    -> one codec: h264 re-encode (crf 18-35, as a frame of an uploaded video) or JPEG quality 30-100.
Frames are never up-scaled: up-sampling is the very trace we look for.

Randomness is a pure function of (seed, epoch, index) like translate.data's datasets, so runs resume
exactly and validation (``train=False``: one fixed degradation per sample, no flip) is the same every time.
Label 1 = generated, 0 = real. ``split_by_source`` keeps all crops of one source photo on one side.
"""
from __future__ import annotations

import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import albumentations as A
import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from translate.data.images import list_images, load_rgb
from translate.data.transforms import apply_seeded, sample_seed, to_tensor


@dataclass(frozen=True)
class Degradations:
    """Probabilities and ranges of each degradation (set a probability to 0 to turn one off)."""

    p_resize: float = 0.3
    scale_range: tuple[float, float] = (0.5, 1.0)
    p_blur: float = 0.2
    blur_sigma: tuple[float, float] = (0.2, 2.0)
    p_h264: float = 0.0  # each re-encode runs ffmpeg twice (~50 ms): enable for training on video cues
    h264_crf: tuple[int, int] = (18, 35)
    p_jpeg: float = 0.5
    jpeg_quality: tuple[int, int] = (30, 100)


NONE = Degradations(p_resize=0.0, p_blur=0.0, p_h264=0.0, p_jpeg=0.0)


def spatial_transform(crop: int, deg: Degradations, train: bool) -> A.Compose:
    return A.Compose([
        A.RandomScale(scale_limit=(deg.scale_range[0] - 1.0, deg.scale_range[1] - 1.0),
                      interpolation=cv2.INTER_AREA, p=deg.p_resize),
        A.PadIfNeeded(crop, crop, border_mode=cv2.BORDER_REFLECT_101),
        A.RandomCrop(crop, crop) if train else A.CenterCrop(crop, crop),
        A.HorizontalFlip(p=0.5 if train else 0.0),
        A.GaussianBlur(blur_limit=0, sigma_limit=deg.blur_sigma, p=deg.p_blur),
    ])


def jpeg_transform(deg: Degradations) -> A.Compose:
    return A.Compose([A.ImageCompression(quality_range=deg.jpeg_quality, p=1.0)])


def h264_roundtrip(image: np.ndarray, crf: int = 23, ffmpeg: str | None = None) -> np.ndarray:
    """Encode one RGB uint8 frame with libx264 (yuv420p, as delivered video is) and decode it back.
    Odd sides are edge-padded for 4:2:0 and cropped back."""
    if ffmpeg is None:
        from translate.video.ffmpeg import (
            find_ffmpeg,  # lazy: only needed when h264 is on
        )

        ffmpeg = find_ffmpeg()
    h, w = image.shape[:2]
    padded = np.pad(image, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")
    ph, pw = padded.shape[:2]
    raw = ["-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{pw}x{ph}"]
    encode = [ffmpeg, "-v", "error", *raw, "-i", "-", "-c:v", "libx264", "-preset", "veryfast", "-crf", str(crf),
              "-pix_fmt", "yuv420p", "-f", "h264", "-"]
    decode = [ffmpeg, "-v", "error", "-f", "h264", "-i", "-", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"]
    stream = subprocess.run(encode, input=np.ascontiguousarray(padded).tobytes(), capture_output=True, check=True).stdout
    out = subprocess.run(decode, input=stream, capture_output=True, check=True).stdout
    frame = np.frombuffer(out, np.uint8)
    if frame.size != ph * pw * 3:
        raise RuntimeError(f"h264 round trip returned {frame.size} bytes for a {pw}x{ph} frame")
    return frame.reshape(ph, pw, 3)[:h, :w].copy()


class DetectorDataset(Dataset):
    """(image tensor (3, crop, crop) in ``value_range``, label float) from (path or uint8 array, label) items."""

    def __init__(self, items: Sequence[tuple[str | Path | np.ndarray, int]], crop: int = 128,
                 degradations: Degradations = Degradations(), train: bool = True, seed: int = 0,
                 value_range: tuple[float, float] = (-1.0, 1.0)):
        if not items:
            raise ValueError("the detector dataset is empty")
        self.items = list(items)
        self.crop = crop
        self.deg = degradations
        self.train = train
        self.seed = seed
        self.epoch = 0
        self.value_range = value_range
        self._spatial = spatial_transform(crop, degradations, train)
        self._jpeg = jpeg_transform(degradations)

    def set_epoch(self, epoch: int) -> None:
        """New random degradations each epoch (training); validation ignores the epoch."""
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.items)

    def degrade(self, image: np.ndarray, index: int) -> np.ndarray:
        epoch = self.epoch if self.train else 0
        seed = sample_seed(self.seed, epoch * len(self.items) + index)
        out = apply_seeded(self._spatial, seed, image=image)["image"]
        rng = np.random.default_rng(seed)
        u = rng.uniform()
        if u < self.deg.p_h264:
            out = h264_roundtrip(out, int(rng.integers(self.deg.h264_crf[0], self.deg.h264_crf[1] + 1)))
        elif u < self.deg.p_h264 + (1.0 - self.deg.p_h264) * self.deg.p_jpeg:
            out = apply_seeded(self._jpeg, seed + 1, image=out)["image"]
        return out

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        source, label = self.items[index]
        image = load_rgb(source) if isinstance(source, (str, Path)) else np.asarray(source, np.uint8)
        return to_tensor(self.degrade(image, index), self.value_range), torch.tensor(float(label))


def folder_items(real: str | Path, fake: str | Path) -> list[tuple[Path, int]]:
    """Every image under ``real`` (label 0) and ``fake`` (label 1); UserError if a folder has none."""
    return [(p, 0) for p in list_images(real, "real images")] + [(p, 1) for p in list_images(fake, "generated images")]


def source_of(path) -> str:
    """A file's source photo: the name up to the first "__" ("chelsea__srgan_x4__3.png" -> "chelsea"),
    so crops, down-scaled versions and generator outputs of one photo share it."""
    return Path(path).name.split("__")[0]


def split_by_source(items: Sequence[tuple], val_fraction: float, seed: int = 0,
                    source: Callable[[object], str] = source_of) -> tuple[list, list]:
    """Split items into (train, validation) by source, never by crop: about ``val_fraction`` of the sources
    go to validation, with everything made from them."""
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
    sources = sorted({source(item[0]) for item in items})
    order = np.random.default_rng(seed).permutation(len(sources))
    n_val = int(round(val_fraction * len(sources)))
    if val_fraction > 0 and len(sources) > 1:
        n_val = min(max(n_val, 1), len(sources) - 1)
    val_sources = {sources[i] for i in order[:n_val]}
    train = [it for it in items if source(it[0]) not in val_sources]
    val = [it for it in items if source(it[0]) in val_sources]
    return train, val
