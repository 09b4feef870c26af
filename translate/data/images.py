"""Find images in folders and decode any of them (grayscale, RGBA, 16-bit, CMYK, EXIF-rotated) as 8-bit RGB."""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from translate.errors import UserError

IMAGE_EXTS = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm"}
# Decoding a hostile or huge file must fail cleanly, not exhaust memory.
Image.MAX_IMAGE_PIXELS = 400_000_000


def is_image_path(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_EXTS and not path.name.startswith(".")


def list_images(folder: str | Path, what: str = "images") -> list[Path]:
    """All image files under ``folder`` (recursive, sorted). Missing or image-less folders are user errors."""
    folder = Path(folder)
    if not folder.exists():
        raise UserError(f"{what} folder {folder} does not exist")
    if not folder.is_dir():
        raise UserError(f"{what}: {folder} is not a folder")
    paths = sorted(p for p in folder.rglob("*") if p.is_file() and is_image_path(p))
    if not paths:
        raise UserError(f"{what} folder {folder} holds no images ({', '.join(sorted(IMAGE_EXTS))})")
    return paths


def _to_rgb(img: Image.Image) -> Image.Image:
    """Any PIL mode to RGB: alpha is composited over white, 16-bit and float are rescaled to 8 bits."""
    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        arr = np.asarray(img, dtype=np.float64)
        hi = 65535.0 if img.mode.startswith("I;16") or arr.max() > 255 else 255.0
        if img.mode == "F" and arr.max() <= 1.0:
            hi = 1.0
        arr = np.clip(arr / hi * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return Image.fromarray(arr, "L").convert("RGB")
    if img.mode == "P":
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
    if img.mode in ("RGBA", "LA", "PA"):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    if img.mode != "RGB":
        return img.convert("RGB")  # L, 1, CMYK, YCbCr, LAB
    return img


def load_rgb(path: str | Path) -> np.ndarray:
    """Decode ``path`` as an (H, W, 3) uint8 RGB array, EXIF orientation applied. Raises UserError if unreadable."""
    try:
        with Image.open(path) as img:
            img = ImageOps.exif_transpose(img)
            return np.asarray(_to_rgb(img), dtype=np.uint8).copy()
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError) as e:
        raise UserError(f"cannot read image {path}: {e}") from None


def image_size(path: Path) -> tuple[int, int] | None:
    """(width, height) after EXIF rotation, from the header only; None when the file is not a readable image."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(path) as img:
                w, h = img.size
                orientation = img.getexif().get(0x0112, 1)
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return None
    return (h, w) if orientation in (5, 6, 7, 8) else (w, h)


@dataclass
class ImageCheck:
    usable: list[Path]
    unreadable: list[Path] = field(default_factory=list)
    too_small: list[Path] = field(default_factory=list)

    def summary(self) -> str:
        return f"{len(self.usable)} usable, {len(self.unreadable)} unreadable, {len(self.too_small)} too small"


def check_images(paths: list[Path], min_width: int, min_height: int) -> ImageCheck:
    """Split ``paths`` into usable, unreadable and too-small images by reading headers only (fast)."""
    check = ImageCheck(usable=[])
    for p in paths:
        size = image_size(p)
        if size is None:
            check.unreadable.append(p)
        elif size[0] < min_width or size[1] < min_height:
            check.too_small.append(p)
        else:
            check.usable.append(p)
    return check


def usable_images(folder: str | Path, min_width: int, min_height: int, what: str) -> tuple[list[Path], ImageCheck]:
    """List and check a folder; an error line when nothing is usable."""
    check = check_images(list_images(folder, what), min_width, min_height)
    if not check.usable:
        raise UserError(
            f"no usable images in {what} folder {folder} ({check.summary()}; images need at least "
            f"{min_width}x{min_height} px): add readable images or lower --size"
        )
    return check.usable, check
