"""Inference speed of the generators: images/s through Translator (uint8 in, uint8 out) and forward-only.

    python scripts/bench/infer.py                       # resnet_9blocks / unet_256 at 256 px, srgan x4 at 128 px
    python scripts/bench/infer.py --precision fp32 bf16 --batch 1 4

Prints one JSON line per (model, precision, batch).
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from translate.device import cpu_name, cpu_supports_bf16
from translate.infer import Translator
from translate.nets import build_generator
from translate.weights.modelfile import ModelInfo, save_model

MODELS = {
    "resnet_9blocks": (dict(name="resnet_9blocks"), 256, ModelInfo("translate", "cyclegan", {}, {"AtoB": ["G"]}, multiple=4)),
    "unet_256": (dict(name="unet_256"), 256, ModelInfo("translate", "pix2pix", {}, {"AtoB": ["G"]}, multiple=256)),
    "srgan_x4": (dict(name="srgan", scale=4), 128, ModelInfo("sr", "srgan", {}, {"AtoB": ["G"]}, value_range=[0.0, 1.0], scale=4)),
}


def bench(model: str, precision: str, batch: int, n: int, folder: Path, threads: int) -> dict:
    if threads:
        torch.set_num_threads(threads)
    kw, size, info = MODELS[model]
    kw = dict(kw)
    path = folder / f"{model}.safetensors"
    if not path.exists():
        torch.manual_seed(0)
        save_model(path, {"G": build_generator(kw.pop("name"), **kw)}, info)
    t = Translator(path, device="auto", precision=precision, batch_size=batch)
    frames = np.random.default_rng(0).integers(0, 255, (max(n, batch), size, size, 3), dtype=np.uint8)
    t(frames[:batch])  # warm-up
    t0 = time.perf_counter()
    t(frames)
    dt = time.perf_counter() - t0
    x = t._to_input(frames[:batch])
    with torch.inference_mode():
        t.run_tensor(x)
        t0 = time.perf_counter()
        for _ in range(max(1, len(frames) // batch)):
            t.run_tensor(x)
        fwd = (time.perf_counter() - t0) / max(1, len(frames) // batch) / batch
    return {"bench": "infer", "model": model, "size": size, "precision": precision, "amp_dtype": str(t.amp_dtype), "compute": t.compute,
            "batch": batch, "images_per_s": round(len(frames) / dt, 3), "forward_s_per_image": round(fwd, 4),
            "device": str(t.device), "threads": torch.get_num_threads(), "cpu": cpu_name(),
            "cpu_bf16_for_auto": cpu_supports_bf16(), "torch": torch.__version__}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", nargs="*", default=list(MODELS))
    ap.add_argument("--precision", nargs="*", default=["fp32", "auto"])
    ap.add_argument("--batch", nargs="*", type=int, default=[1, 4])
    ap.add_argument("--n", type=int, default=8, help="images per measurement")
    ap.add_argument("--threads", type=int, default=0)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for model in args.models:
            for precision in args.precision:
                for batch in args.batch:
                    print(json.dumps(bench(model, precision, batch, args.n, Path(tmp), args.threads)), flush=True)


if __name__ == "__main__":
    main()
