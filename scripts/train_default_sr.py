"""Train the bundled x4 upscaler (manifest name `srgan-tiny`; it was `srgan` before the paper-grade SRGAN could be fetched) and measure it against bicubic.

Reproducible on a CPU in about ten minutes, offline: the photos ship inside installed packages.

  train     scikit-image's sample photos: astronaut, camera, coffee, rocket, motorcycle_left, hubble_deep_field,
            brick, grass, gravel, coins, moon, retina, ihc (grey ones are used as RGB)
  held out  scikit-image's chelsea and scikit-learn's china.jpg and flower.jpg (never seen in training);
            motorcycle_right is left out of both (it is the stereo twin of motorcycle_left)

It trains through the shared loop (`translate.training`) as `translate train srgan` would, with
`--netG srvgg` (Real-ESRGAN's compact net: every conv at LR resolution, so it trains fast on a CPU) and
only the SRResNet phase on pixel MSE: there is no VGG19 offline, so no content or adversarial loss
trained this model. The result is saved in fp16 as translate/weights/srgan-x4.safetensors, evaluated on
the held-out photos (PSNR/SSIM on Y, 4 px border, LR made by PIL's antialiased bicubic) and a manifest
block is printed.

    .venv/bin/python scripts/train_default_sr.py            # ~10 min on one CPU thread
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

TRAIN = ["astronaut.png", "camera.png", "coffee.png", "rocket.jpg", "motorcycle_left.png", "hubble_deep_field.jpg",
         "brick.png", "grass.png", "gravel.png", "coins.png", "moon.png", "retina.jpg", "ihc.png"]
HELD_OUT_SKIMAGE = ["chelsea.png"]
HELD_OUT_SKLEARN = ["china.jpg", "flower.jpg"]


def skimage_photo(name: str) -> Path:
    import skimage.data

    return Path(skimage.data.__file__).parent / name


def sklearn_photo(name: str) -> Path:
    import sklearn.datasets

    return Path(sklearn.datasets.__file__).parent / "images" / name


def held_out() -> tuple[list[Path], list[str]]:
    paths = [skimage_photo(n) for n in HELD_OUT_SKIMAGE] + [sklearn_photo(n) for n in HELD_OUT_SKLEARN]
    names = [f"skimage/{n}" for n in HELD_OUT_SKIMAGE] + [f"sklearn/{n}" for n in HELD_OUT_SKLEARN]
    return paths, names


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=2500)
    ap.add_argument("--nf", type=int, default=48)
    ap.add_argument("--convs", type=int, default=10)
    ap.add_argument("--lr", type=float, default=5e-4)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--crop", type=int, default=96)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=REPO / "translate" / "weights" / "srgan-x4.safetensors")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    from translate.methods.base import DataConfig
    from translate.methods.srgan import SRGANConfig
    from translate.eval.sr import evaluate_sr
    from translate.training import LoopConfig, RunSpec, start_run
    from translate.weights.digest import file_sha256
    from translate.weights.modelfile import load_model, save_model

    work = Path(tempfile.mkdtemp(prefix="train_default_sr-"))
    try:
        data = work / "train"
        data.mkdir()
        for name in TRAIN:
            shutil.copy(skimage_photo(name), data / name)
        spec = RunSpec(
            "srgan",
            LoopConfig(name="srgan-x4", out=str(work / "runs"), steps=args.steps, batch_size=args.batch_size,
                       seed=args.seed, device="cpu", workers=0, sample_every=10**9, save_every=10**9, log_every=50),
            DataConfig(data=str(data), size=args.crop, scale=4, flip=True),
            SRGANConfig(scale=4, netG="srvgg", nf=args.nf, n_blocks=args.convs, pretrain_steps=args.steps,
                        content_loss="pixel", lr=args.lr),
        )
        t0 = time.time()
        code = start_run(spec, resume=False)
        minutes = (time.time() - t0) / 60
        if code:
            sys.exit(code)
        loaded = load_model(work / "runs" / "srgan-x4" / "model.safetensors")
        info = loaded.info
        info.name = "srgan"
        info.extra = {**info.extra, "data": "scikit-image sample photos: " + ", ".join(TRAIN),
                      "losses": ["pixel MSE only (SRResNet phase; no VGG19 offline, no adversarial loss)"],
                      "trained_by": "scripts/train_default_sr.py", "train_minutes_cpu": round(minutes, 1)}
        save_model(args.out, {"G": loaded.nets["G"]}, info, half=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    paths, names = held_out()
    result = evaluate_sr(args.out, paths, device="cpu", names=names)
    summary = result.summary()
    sha = file_sha256(args.out)
    size_mb = args.out.stat().st_size / 1e6
    print(result.table())
    print(f"\ntrained {args.steps} steps in {minutes:.1f} min on {args.threads} CPU thread(s); {args.out} {size_mb:.2f} MB sha256 {sha}")
    figures = ", ".join(f'"{s["image"]}" = {{psnr = {s["psnr"]:.2f}, bicubic_psnr = {s["bicubic_psnr"]:.2f}, '
                        f'ssim = {s["ssim"]:.4f}, bicubic_ssim = {s["bicubic_ssim"]:.4f}}}' for s in summary["per_image"])
    print(f"""
[models.srgan-tiny]
aliases = ["srgan-bundled"]
file = "{args.out.name}"
sha256 = "{sha}"
task = "sr"
arch = "srvgg"
args = {{num_feat = {args.nf}, num_conv = {args.convs}, upscale = 4}}
source = "scripts/train_default_sr.py"
licence = "MIT (this project); trained on scikit-image sample photos"
size = "{size_mb:.2f} MB"
figures = {{psnr_gain_db = {summary['psnr_gain_db']:.2f}, psnr_y = {summary['psnr']:.2f}, bicubic_psnr_y = {summary['bicubic_psnr']:.2f}, ssim_y = {summary['ssim']:.4f}, bicubic_ssim_y = {summary['bicubic_ssim']:.4f}, steps = {args.steps}, held_out = {{{figures}}}}}
description = "x4 upscaler (SRVGG compact, {args.nf}x{args.convs}) trained {args.steps} steps on pixel MSE only (no VGG/GAN: offline); held out: chelsea, china, flower"
""")


if __name__ == "__main__":
    main()
