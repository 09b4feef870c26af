"""Evaluate a super-resolution model against bicubic, as SR papers report it.

Each HR image is cropped to a multiple of the scale and its LR input is either given (``lr_dir``: the
benchmark's own HR/LR pairs, as Set5/Set14/BSD100 ship them) or made by antialiased bicubic (PIL, as in
training). The LR is up-scaled by the model and by bicubic; PSNR and SSIM are measured on the Y channel
with ``scale`` pixels cropped from every border (translate.eval.metrics.sr_psnr_ssim). With an ST-LPIPS net
(translate.eval.lpips), the ST-LPIPS distance of each output to its HR (RGB, same border cropped; lower is
better) is reported beside them, labelled so.

Pairs are matched by file name: the LR of ``x.png`` is ``lr_dir/x.png``, or the same name with its ``HR``
token swapped for ``LR`` (``img_001_SRF_4_HR.png`` -> ``img_001_SRF_4_LR.png``), so HR and LR may also share
one folder.
"""
from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from translate.data.images import list_images, load_rgb
from translate.data.sr import bicubic_downscale, bicubic_upscale, crop_to_multiple
from translate.errors import UserError
from translate.eval.lpips import LABEL as LPIPS_LABEL
from translate.eval.lpips import st_lpips
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
    st_lpips: float | None = None
    bicubic_st_lpips: float | None = None


@dataclass
class SREval:
    model: str
    sha256: str
    scale: int
    images: list[ImageScore] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    lr_source: str = ""  # the folder of given LR images; "" when the LR was made by bicubic downscaling
    lpips_note: str = ""  # why ST-LPIPS was not computed ("" when it was, or was turned off)

    @property
    def has_lpips(self) -> bool:
        return bool(self.images) and all(s.st_lpips is not None for s in self.images)

    def mean(self, key: str) -> float:
        return float(np.mean([getattr(s, key) for s in self.images]))

    def summary(self) -> dict:
        """The JSON line: means, the gain over bicubic and every image's scores."""
        return {"model": self.model, "sha256": self.sha256, "scale": self.scale, "images": len(self.images),
                "psnr": round(self.mean("psnr"), 4), "ssim": round(self.mean("ssim"), 5),
                "bicubic_psnr": round(self.mean("bicubic_psnr"), 4), "bicubic_ssim": round(self.mean("bicubic_ssim"), 5),
                "psnr_gain_db": round(self.mean("psnr") - self.mean("bicubic_psnr"), 4),
                "metric": f"Y channel, {self.scale} px border cropped",
                "lr": self.lr_source or "bicubic downscale of HR (PIL, antialiased)",
                **({"st_lpips": round(self.mean("st_lpips"), 5), "bicubic_st_lpips": round(self.mean("bicubic_st_lpips"), 5),
                    "st_lpips_metric": f"{LPIPS_LABEL}, RGB, {self.scale} px border cropped"} if self.has_lpips
                   else {"st_lpips_note": self.lpips_note} if self.lpips_note else {}),
                "per_image": [{k: (round(v, 5) if isinstance(v, float) else v) for k, v in asdict(s).items()} for s in self.images],
                "skipped": self.skipped}

    def table(self) -> str:
        name_w = max([len("image"), len("mean")] + [len(s.image) for s in self.images])
        lp = self.has_lpips
        head = (f"{'image':<{name_w}}  {'size':>9}  {'PSNR':>7}  {'bicubic':>7}  {'gain':>6}  {'SSIM':>6}  {'bicubic':>7}"
                + (f"  {'ST-LPIPS':>8}  {'bicubic':>7}" if lp else ""))
        title = f"{self.model} x{self.scale}: PSNR (dB) / SSIM on Y" + (" / ST-LPIPS on RGB (lower is better)" if lp else "")
        lines = [f"{title}, {self.scale} px border cropped", head, "-" * len(head)]
        for s in self.images:
            lines.append(f"{s.image:<{name_w}}  {f'{s.width}x{s.height}':>9}  {s.psnr:7.2f}  {s.bicubic_psnr:7.2f}  "
                         f"{s.psnr - s.bicubic_psnr:+6.2f}  {s.ssim:6.4f}  {s.bicubic_ssim:7.4f}"
                         + (f"  {s.st_lpips:8.4f}  {s.bicubic_st_lpips:7.4f}" if lp else ""))
        lines.append("-" * len(head))
        lines.append(f"{'mean':<{name_w}}  {'':>9}  {self.mean('psnr'):7.2f}  {self.mean('bicubic_psnr'):7.2f}  "
                     f"{self.mean('psnr') - self.mean('bicubic_psnr'):+6.2f}  {self.mean('ssim'):6.4f}  {self.mean('bicubic_ssim'):7.4f}"
                     + (f"  {self.mean('st_lpips'):8.4f}  {self.mean('bicubic_st_lpips'):7.4f}" if lp else ""))
        return "\n".join(lines + ([self.lpips_note] if self.lpips_note else []))


_HR_TOKEN = re.compile(r"(?<![A-Za-z])(HR|hr)(?![A-Za-z])")
_LR_TOKEN = re.compile(r"(?<![A-Za-z])(LR|lr)(?![A-Za-z])")


def lr_name(hr_name: str) -> str:
    """The LR partner's file name by the benchmarks' convention: the HR token swapped for LR ("" if none)."""
    if not _HR_TOKEN.search(hr_name):
        return ""
    return _HR_TOKEN.sub(lambda m: "LR" if m.group(1) == "HR" else "lr", hr_name)


def pair_hr_lr(hr_dir: str | Path, lr_dir: str | Path) -> tuple[list[tuple[Path, Path]], list[str]]:
    """(HR, LR) pairs by file name (same name, or HR swapped for LR), and notes on HR images left unpaired."""
    hr_dir, lr_dir = Path(hr_dir), Path(lr_dir)
    lr_paths = list_images(lr_dir, "LR")
    by_rel = {p.relative_to(lr_dir).as_posix(): p for p in lr_paths}
    same_folder = hr_dir.resolve() == lr_dir.resolve()
    pairs, unpaired = [], []
    for hr in list_images(hr_dir, "HR"):
        rel = hr.relative_to(hr_dir).as_posix()
        if same_folder and _LR_TOKEN.search(hr.name) and not _HR_TOKEN.search(hr.name):
            continue  # an LR image beside its HR
        swapped = str(Path(rel).with_name(lr_name(hr.name))) if lr_name(hr.name) else ""
        lr = (None if same_folder else by_rel.get(rel)) or by_rel.get(swapped)
        if lr is None:
            unpaired.append(f"{rel}: no LR partner ({' or '.join(n for n in (rel if not same_folder else '', swapped) if n) or 'no HR token in its name'}) in {lr_dir}")
        else:
            pairs.append((hr, lr))
    if not pairs:
        raise UserError(f"no HR image in {hr_dir} has an LR partner in {lr_dir} (same file name, or HR swapped for LR "
                        "as in img_001_HR.png / img_001_LR.png)")
    return pairs, unpaired


def score_image(translator, hr: np.ndarray, scale: int, lr: np.ndarray | None = None,
                lpips=None) -> tuple[float, float, float, float, float | None, float | None]:
    """(psnr, ssim, bicubic psnr, bicubic ssim, ST-LPIPS, bicubic ST-LPIPS) of one HR uint8 image (already a
    multiple of scale); the LR input is ``lr`` when given, else the bicubic downscale of ``hr``; the ST-LPIPS
    pair is None without an ``lpips`` net."""
    lr = bicubic_downscale(hr, scale) if lr is None else lr
    sr = translator(lr)
    bic = bicubic_upscale(lr, scale)
    p, s = sr_psnr_ssim(sr, hr, scale)
    bp, bs = sr_psnr_ssim(bic, hr, scale)
    if lpips is None:
        return p, s, bp, bs, None, None
    inner = (slice(scale, -scale), slice(scale, -scale))
    return p, s, bp, bs, st_lpips(lpips, sr[inner], hr[inner]), st_lpips(lpips, bic[inner], hr[inner])


def evaluate_sr(model, paths: list[Path] | str | Path, scale: int | None = None, device: str = "auto",
                tile: int = 0, precision: str = "fp32", names: list[str] | None = None,
                lr_dir: str | Path | None = None, lpips=None, lpips_note: str = "") -> SREval:
    """Scores of ``model`` (a path, run folder, name or Translator) on the HR images ``paths`` (or a folder);
    with ``lr_dir`` (``paths`` then a folder) on the HR/LR pairs matched by pair_hr_lr; with ``lpips`` (an
    ST-LPIPS net) its distances too, else ``lpips_note`` says why not."""
    from translate.infer import Translator

    translator = model if isinstance(model, Translator) else Translator(model, device=device, precision=precision,
                                                                          batch_size=1, tile=tile, tasks=("sr",))
    if translator.info.task != "sr" or translator.scale < 2:
        raise UserError(f"{translator.model_name} is a {translator.info.task} model, not a super-resolution one")
    if scale is not None and scale != translator.scale:
        raise UserError(f"--scale {scale}: {translator.model_name} up-scales x{translator.scale}; drop --scale or pick another model")
    scale = translator.scale
    result = SREval(model=translator.model_name, sha256=translator.model_sha256, scale=scale, lpips_note=lpips_note)
    if lr_dir is not None:
        if not isinstance(paths, (str, Path)):
            raise ValueError("lr_dir needs the HR folder, not a list of paths")
        pairs, result.skipped = pair_hr_lr(paths, lr_dir)
        result.lr_source = str(lr_dir)
        paths, lrs = [hr for hr, _ in pairs], [lr for _, lr in pairs]
    elif isinstance(paths, (str, Path)):
        paths, lrs = list_images(paths, "HR"), []
    else:
        lrs = []
    min_side = SSIM_WINDOW + 2 * scale
    for i, path in enumerate(paths):
        name = names[i] if names else Path(path).name
        try:
            hr = crop_to_multiple(load_rgb(path), scale)
            lr = load_rgb(lrs[i]) if lrs else None
        except UserError as e:
            result.skipped.append(f"{name}: {e}")
            continue
        if min(hr.shape[:2]) < min_side:
            result.skipped.append(f"{name}: smaller than {min_side} px")
            continue
        if lr is not None:
            hr = hr[: lr.shape[0] * scale, : lr.shape[1] * scale]
            if hr.shape[:2] != (lr.shape[0] * scale, lr.shape[1] * scale):
                result.skipped.append(f"{name}: its LR {Path(lrs[i]).name} is {lr.shape[1]}x{lr.shape[0]}, not 1/{scale} "
                                      f"of {hr.shape[1]}x{hr.shape[0]}")
                continue
        result.images.append(ImageScore(name, hr.shape[1], hr.shape[0], *score_image(translator, hr, scale, lr, lpips)))
    if not result.images:
        raise UserError(f"no image could be evaluated ({'; '.join(result.skipped) or 'none given'})")
    return result


def json_line(result: SREval) -> str:
    return json.dumps(result.summary(), sort_keys=False)
