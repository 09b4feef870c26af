"""Procedural images with known mappings, so tests can check what a model learned."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image


def procedural_image(rng: np.random.Generator, size: int, colour_box: tuple) -> np.ndarray:
    """A smooth background gradient with a few rectangles and discs; colours drawn inside ``colour_box``
    ((lo_r, hi_r), (lo_g, hi_g), (lo_b, hi_b)) in [0, 1]."""
    lo = np.array([c[0] for c in colour_box])
    hi = np.array([c[1] for c in colour_box])

    def colour():
        return lo + rng.random(3) * (hi - lo)

    yy, xx = np.mgrid[0:size, 0:size] / max(1, size - 1)
    c0, c1 = colour(), colour()
    t = (xx * rng.random() + yy * rng.random())[..., None]
    t = t / max(t.max(), 1e-6)
    img = c0 * (1 - t) + c1 * t
    for _ in range(rng.integers(2, 4)):
        c = colour()
        cx, cy = rng.integers(0, size, 2)
        r = rng.integers(size // 8, size // 3)
        if rng.random() < 0.5:
            mask = (xx * size - cx) ** 2 + (yy * size - cy) ** 2 < r ** 2
        else:
            mask = (abs(xx * size - cx) < r) & (abs(yy * size - cy) < r * 0.7)
        img[mask] = c
    return (np.clip(img, 0, 1) * 255).round().astype(np.uint8)


REDDISH = ((0.55, 1.0), (0.0, 1.0), (0.0, 0.35))


def swap_red_blue(img: np.ndarray) -> np.ndarray:
    """The known ground-truth mapping A -> B used by the learning tests."""
    return img[..., ::-1].copy()


def write_images(folder: Path, images: list[np.ndarray], prefix: str = "img") -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, img in enumerate(images):
        p = folder / f"{prefix}_{i:04d}.png"
        Image.fromarray(img).save(p)
        paths.append(p)
    return paths


def images(n: int, size: int, seed: int, colour_box=REDDISH) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [procedural_image(rng, size, colour_box) for _ in range(n)]
