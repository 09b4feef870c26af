"""Evaluate a super-resolution model against bicubic, as SR papers report it.

Each HR image is cropped to a multiple of the scale, downscaled with antialiased bicubic (PIL, as in
training), then up-scaled by the model and by bicubic; PSNR and SSIM are measured on the Y channel with
``scale`` pixels cropped from every border (translate.eval.metrics.sr_psnr_ssim).
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from translate.data.images import list_images, load_rgb
from translate.data.sr import bicubic_downscale, bicubic_upscale, crop_to_multiple
from translate.errors import UserError
from translate.eval.metrics import SSIM_WINDOW, sr_psnr_ssim


@dataclass
class ImageScore:
    image: str
    width: int
    height: int
    psnr: float
    ssim: float
    bicubic_psnr: float
    bicubic_ssim: float


@dataclass
class SREval:
    model: str
    sha256: str
    scale: int
    images: list[ImageScore] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def mean(self, key: str) -> float:
        return float(np.mean([getattr(s, key) for s in self.images]))

    def summary(self) -> dict:
        """The JSON line: means, the gain over bicubic and every image's scores."""
        return {"model": self.model, "sha256": self.sha256, "scale": self.scale, "images": len(self.images),
                "psnr": round(self.mean("psnr"), 4), "ssim": round(self.mean("ssim"), 5),
                "bicubic_psnr": round(self.mean("bicubic_psnr"), 4), "bicubic_ssim": round(self.mean("bicubic_ssim"), 5),
                "psnr_gain_db": round(self.mean("psnr") - self.mean("bicubic_psnr"), 4),
                "metric": f"Y channel, {self.scale} px border cropped",
                "per_image": [{k: (round(v, 5) if isinstance(v, float) else v) for k, v in asdict(s).items()} for s in self.images],
                "skipped": self.skipped}

    def table(self) -> str:
        name_w = max([len("image"), len("mean")] + [len(s.image) for s in self.images])
        head = f"{'image':<{name_w}}  {'size':>9}  {'PSNR':>7}  {'bicubic':>7}  {'gain':>6}  {'SSIM':>6}  {'bicubic':>7}"
        lines = [f"{self.model} x{self.scale}: PSNR (dB) / SSIM on Y, {self.scale} px border cropped", head, "-" * len(head)]
        for s in self.images:
            lines.append(f"{s.image:<{name_w}}  {f'{s.width}x{s.height}':>9}  {s.psnr:7.2f}  {s.bicubic_psnr:7.2f}  "
                         f"{s.psnr - s.bicubic_psnr:+6.2f}  {s.ssim:6.4f}  {s.bicubic_ssim:7.4f}")
        lines.append("-" * len(head))
        lines.append(f"{'mean':<{name_w}}  {'':>9}  {self.mean('psnr'):7.2f}  {self.mean('bicubic_psnr'):7.2f}  "
                     f"{self.mean('psnr') - self.mean('bicubic_psnr'):+6.2f}  {self.mean('ssim'):6.4f}  {self.mean('bicubic_ssim'):7.4f}")
        return "\n".join(lines)


def score_image(translator, hr: np.ndarray, scale: int) -> tuple[float, float, float, float]:
    """(psnr, ssim, bicubic psnr, bicubic ssim) of one HR uint8 image (already a multiple of scale)."""
    lr = bicubic_downscale(hr, scale)
    sr = translator(lr)
    bic = bicubic_upscale(lr, scale)
    p, s = sr_psnr_ssim(sr, hr, scale)
    bp, bs = sr_psnr_ssim(bic, hr, scale)
    return p, s, bp, bs


def evaluate_sr(model, paths: list[Path] | str | Path, scale: int | None = None, device: str = "auto",
                tile: int = 0, precision: str = "fp32", names: list[str] | None = None) -> SREval:
    """Scores of ``model`` (a path, run folder, name or Translator) on the HR images ``paths`` (or a folder)."""
    from translate.infer import Translator

    translator = model if isinstance(model, Translator) else Translator(model, device=device, precision=precision,
                                                                          batch_size=1, tile=tile, tasks=("sr",))
    if translator.info.task != "sr" or translator.scale < 2:
        raise UserError(f"{translator.model_name} is a {translator.info.task} model, not a super-resolution one")
    if scale is not None and scale != translator.scale:
        raise UserError(f"--scale {scale}: {translator.model_name} up-scales x{translator.scale}; drop --scale or pick another model")
    scale = translator.scale
    if isinstance(paths, (str, Path)):
        paths = list_images(paths, "HR")
    result = SREval(model=translator.model_name, sha256=translator.model_sha256, scale=scale)
    min_side = SSIM_WINDOW + 2 * scale
    for i, path in enumerate(paths):
        name = names[i] if names else Path(path).name
        try:
            hr = crop_to_multiple(load_rgb(path), scale)
        except UserError as e:
            result.skipped.append(f"{name}: {e}")
            continue
        if min(hr.shape[:2]) < min_side:
            result.skipped.append(f"{name}: smaller than {min_side} px")
            continue
        p, s, bp, bs = score_image(translator, hr, scale)
        result.images.append(ImageScore(name, hr.shape[1], hr.shape[0], p, s, bp, bs))
    if not result.images:
        raise UserError(f"no image could be evaluated ({'; '.join(result.skipped) or 'none given'})")
    return result


def json_line(result: SREval) -> str:
    return json.dumps(result.summary(), sort_keys=False)
