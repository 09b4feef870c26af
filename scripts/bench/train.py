"""Training speed: seconds per iteration and peak memory of one method's train_step at reference settings.

    python scripts/bench/train.py                       # every config, fp32 and auto precision
    python scripts/bench/train.py --configs cyclegan128 --precision bf16 --steps 5
    python scripts/bench/train.py --faceswap-ab --steps 2 --rounds 5   # face-swap: before/after the speed-ups

Each (config, precision) runs in its own process so peak RSS is its own. Prints one JSON line each.
--faceswap-ab builds the face-swap method twice in one process, as it is and as it was before its speed-ups
(plain nn.Conv2d everywhere, the unfused Adam; `train`'s speed_up on both), and alternates --steps steps of
each for --rounds rounds, so a busy machine slows both alike; it prints each round and the medians, and the roofline: the step's GFLOP
(torch's FlopCounterMode), this machine's fp32 matmul rate, and so the fastest the same arithmetic could run.
"""
from __future__ import annotations

import argparse
import itertools
import json
import os
import resource
import statistics
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


def faceswap_as_before(m):
    """The face-swap method as it was before its speed-ups: plain convs, the unfused (for-loop) Adam."""
    import torch
    from torch import nn

    from translate.nets.gemm_conv import GemmConv2d

    for net in m.nets.values():
        for mod in net.modules():
            if type(mod) is GemmConv2d:
                mod.__class__ = nn.Conv2d
            mod.__dict__.pop("winograd", None)
    n, cfg = m.nets, m.cfg
    kw = dict(lr=cfg.lr, betas=(cfg.beta1, cfg.beta2), foreach=False)
    m.optimizers = {s: torch.optim.Adam(itertools.chain(n["encoder"].parameters(), n[f"decoder_{s}"].parameters()), **kw)
                    for s in "AB"}
    return m


def augment_time(size: int, n: int) -> float:
    """Seconds for one batch of face-swap augmentation (n items of both sides: affine, warp, to tensors)."""
    import numpy as np

    from translate.data.faces import Augment, _tensor, augment_face, ellipse_mask

    rng = np.random.default_rng(0)
    crops = rng.integers(0, 256, (2 * n, 2 * size, 2 * size, 3), dtype=np.uint8)  # 128 px crops, as extracted
    mask, aug = ellipse_mask(size, "face"), Augment()
    t0 = time.perf_counter()
    for crop in crops:
        warped, target, m = augment_face(crop, mask, size, rng, aug)
        _tensor(warped), _tensor(target)
    return time.perf_counter() - t0


def step_gflop(m, batch) -> float:
    """GFLOP in one train_step, forward and backward, counted by torch's FlopCounterMode (convs and matmuls)."""
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        m.train_step(batch)
    return counter.get_total_flops() / 1e9


def gemm_peak_gflops(n: int = 2048, repeats: int = 5) -> float:
    """This machine's fp32 matmul rate (best of ``repeats`` n x n products at the set threads): the ceiling a
    conv-and-dense network's step can approach on CPU."""
    import torch

    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t0)
    return 2 * n**3 / best / 1e9


def faceswap_ab(precision: str, steps: int, rounds: int, threads: int) -> dict:
    import torch

    from translate.device import cpu_name, resolve_device, resolve_precision, speed_up
    from translate.methods.faceswap import FaceSwap, FaceSwapConfig

    if threads:
        torch.set_num_threads(threads)
    device = resolve_device("auto")
    dtype = resolve_precision(precision, device)
    methods = {}
    for variant in ("before", "after"):
        torch.manual_seed(0)
        m = FaceSwap(FaceSwapConfig(size=64), device, dtype, 0)
        if variant == "before":
            faceswap_as_before(m)
        compute = sorted({speed_up(net, device, precision, dtype) for net in m.nets.values()})
        methods[variant] = (m, compute)
    g = torch.Generator().manual_seed(0)
    batch = {k: torch.rand(16, 1 if k.endswith("mask") else 3, 64, 64, generator=g)
             for k in ("A", "A_target", "A_mask", "B", "B_target", "B_mask")}
    for m, _ in methods.values():
        m.train_step(batch)  # warm-up
    load0 = os.getloadavg()[0]
    times: dict[str, list[float]] = {k: [] for k in methods}
    for r in range(rounds):
        for variant, (m, _) in methods.items():
            t0 = time.perf_counter()
            for _ in range(steps):
                m.train_step(batch)
            times[variant].append((time.perf_counter() - t0) / steps)
        print(json.dumps({"round": r, "load": round(os.getloadavg()[0], 1),
                          **{k: round(v[-1], 3) for k, v in times.items()}}), flush=True)
    med = {k: statistics.median(v) for k, v in times.items()}
    # the roofline: the step's arithmetic over the machine's best matmul rate is the fastest any schedule of
    # the same arithmetic (same precision) can be; fraction_of_peak says how much of it is left
    gflop = step_gflop(methods["after"][0], batch)
    peak = gemm_peak_gflops()
    return {"bench": "train_ab", "config": "faceswap64", "precision": precision, "batch": 16, "size": 64,
            "steps_per_round": steps, "rounds": rounds, "threads": torch.get_num_threads(),
            "before_s_per_step": round(med["before"], 3), "after_s_per_step": round(med["after"], 3),
            "speedup": round(med["before"] / med["after"], 2),
            "gflop_per_step": round(gflop, 1), "gemm_peak_gflops": round(peak, 1),
            "fraction_of_peak": {k: round(gflop / v / peak, 3) for k, v in med.items()},
            "roofline_s_per_step": round(gflop / peak, 3), "max_speedup_at_roofline": round(med["before"] * peak / gflop, 2),
            "compute": {k: c for k, (_, c) in methods.items()},
            "augment_s_per_batch": round(augment_time(64, 16), 3),
            "thp_mem_alloc": os.environ.get("THP_MEM_ALLOC_ENABLE"), "load_start": round(load0, 1), "load_end": round(os.getloadavg()[0], 1),
            "cpu": cpu_name(), "torch": torch.__version__}


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
    ap.add_argument("--faceswap-ab", action="store_true", help="before/after the face-swap speed-ups, alternated in one process")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--one", nargs=2, help=argparse.SUPPRESS)  # internal: run one config in this process
    args = ap.parse_args()
    if args.faceswap_ab:
        for precision in args.precision:
            print(json.dumps(faceswap_ab(precision, args.steps, args.rounds, args.threads)), flush=True)
        return
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
