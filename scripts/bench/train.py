"""Training speed: seconds per iteration and peak memory of one method's train_step at reference settings.

    python scripts/bench/train.py                       # every config, fp32 and auto precision
    python scripts/bench/train.py --configs cyclegan128 --precision bf16 --steps 5

Each (config, precision) runs in its own process so peak RSS is its own. Prints one JSON line each.
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

CONFIGS = {
    # name: (method, size, model kwargs) -- reference defaults, batch 1
    "cyclegan128": ("cyclegan", 128, {}),
    "cyclegan256": ("cyclegan", 256, {}),
    "pix2pix256": ("pix2pix", 256, {}),
    "srgan_x4": ("srgan", 96, {}),
    "discogan64": ("discogan", 64, {}),
    "faceswap64": ("faceswap", 64, {"size": 64}),  # the original 2017 autoencoder, batch 16 (its default)
}
BATCH = {"faceswap64": 16}


def run_one(name: str, precision: str, steps: int, channels_last: bool, threads: int) -> dict:
    import torch

    from translate.device import cpu_name, resolve_device, resolve_precision, speed_up
    from translate.methods import METHODS

    if threads:
        torch.set_num_threads(threads)
    method_name, size, kw = CONFIGS[name]
    cls = METHODS[method_name]
    device = resolve_device("auto")
    dtype = resolve_precision(precision, device)
    cfg = cls.Config(**kw)
    if method_name == "srgan" and hasattr(cfg, "content_loss"):
        cfg.content_loss = "pixel"  # VGG weights are not at hand offline; the adversarial phase still runs
    torch.manual_seed(0)
    m = cls(cfg, device, dtype, 0)
    compute = sorted({speed_up(net, device, precision, dtype) for net in m.nets.values()})  # as `train` does
    if channels_last is not None:  # force a memory format (A/B of the method's own choice)
        fmt = torch.channels_last if channels_last else torch.contiguous_format
        for net in m.nets.values():
            net.to(memory_format=fmt)
        if hasattr(m, "memory_format"):
            m.memory_format = fmt
    n = BATCH.get(name, 1)
    batch = {"A": torch.rand(n, 3, size, size) * 2 - 1, "B": torch.rand(n, 3, size, size) * 2 - 1}
    if method_name == "faceswap":  # warped input, target and mask per identity, in [0, 1]
        batch = {k: torch.rand(n, 1 if k.endswith("mask") else 3, size, size)
                 for k in ("A", "A_target", "A_mask", "B", "B_target", "B_mask")}
    if method_name == "srgan":
        batch = {"lr": torch.rand(1, 3, size // 4, size // 4), "hr": torch.rand(1, 3, size, size)}
        if hasattr(m, "set_phase"):
            m.set_phase("gan")
    for _ in range(2):  # warm-up
        m.train_step(batch)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    sync()
    t0 = time.perf_counter()
    for _ in range(steps):
        m.train_step(batch)
    sync()
    dt = (time.perf_counter() - t0) / steps
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB -> GiB
    return {"bench": "train", "config": name, "precision": precision, "amp_dtype": str(dtype), "compute": compute, "device": str(device),
            "channels_last": channels_last, "threads": torch.get_num_threads(), "s_per_iter": round(dt, 4),
            "peak_rss_gib": round(peak, 3), "batch": n, "size": size, "cpu": cpu_name(), "torch": torch.__version__}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--configs", nargs="*", default=list(CONFIGS))
    ap.add_argument("--precision", nargs="*", default=["fp32", "auto"])
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--channels-last", dest="channels_last", action="store_true", default=None,
                    help="force channels_last nets (default: the method's own choice)")
    ap.add_argument("--contiguous", dest="channels_last", action="store_false",
                    help="force NCHW (contiguous) nets, e.g. to A/B faceswap's channels_last")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--one", nargs=2, help=argparse.SUPPRESS)  # internal: run one config in this process
    args = ap.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one[0], args.one[1], args.steps, args.channels_last, args.threads)), flush=True)
        return
    for name in args.configs:
        for precision in args.precision:
            cmd = [sys.executable, __file__, "--one", name, precision, "--steps", str(args.steps),
                   "--threads", str(args.threads)] + {True: ["--channels-last"], False: ["--contiguous"]}.get(
                       args.channels_last, [])
            r = subprocess.run(cmd, capture_output=True, text=True)
            out = r.stdout.strip().splitlines()
            print(out[-1] if r.returncode == 0 and out else json.dumps(
                {"bench": "train", "config": name, "precision": precision, "error": r.stderr.strip().splitlines()[-1:]}), flush=True)


if __name__ == "__main__":
    main()
