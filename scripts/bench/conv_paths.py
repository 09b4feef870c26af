"""Direct vs Winograd 3x3 convs (what --precision fp32 and auto choose on a CPU without bf16), A/B in one process.

    python scripts/bench/conv_paths.py                     # CycleGAN 128 px train step + resnet_9blocks 256 px forward
    python scripts/bench/conv_paths.py --rounds 8 --jobs train

The two paths alternate step by step on the same nets and inputs, so slow periods of a shared machine hit both
alike; min and median per path and the median speed-up are printed as JSON lines.
"""
from __future__ import annotations

import argparse
import json
import statistics
import time

import torch

from translate.device import cpu_name
from translate.methods import METHODS
from translate.nets import build_generator
from translate.nets.winograd import use_direct, use_winograd


def ab(nets: list[torch.nn.Module], step, rounds: int) -> dict:
    times: dict[str, list[float]] = {"direct": [], "winograd": []}
    for i in range(rounds + 1):
        for path in times:
            for net in nets:
                (use_winograd if path == "winograd" else use_direct)(net)
            t0 = time.perf_counter()
            step()
            if i:  # round 0 warms both paths up
                times[path].append(time.perf_counter() - t0)
    med = {k: statistics.median(v) for k, v in times.items()}
    return {**{f"{k}_s_min": round(min(v), 4) for k, v in times.items()},
            **{f"{k}_s_median": round(med[k], 4) for k in times},
            "speedup_median": round(med["direct"] / med["winograd"], 3), "rounds": rounds}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--jobs", nargs="*", default=["train", "forward"])
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    torch.manual_seed(0)
    common = {"cpu": cpu_name(), "threads": torch.get_num_threads(), "torch": torch.__version__}
    if "train" in args.jobs:
        cls = METHODS["cyclegan"]
        m = cls(cls.Config(), torch.device("cpu"), None, 0)
        batch = {"A": torch.rand(1, 3, 128, 128) * 2 - 1, "B": torch.rand(1, 3, 128, 128) * 2 - 1}
        r = ab(list(m.nets.values()), lambda: m.train_step(batch), args.rounds)
        print(json.dumps({"bench": "conv_paths", "job": "cyclegan128_train_step", **r, **common}), flush=True)
    if "forward" in args.jobs:
        g = build_generator("resnet_9blocks").eval()
        x = torch.rand(1, 3, 256, 256) * 2 - 1

        def forward():
            with torch.inference_mode():
                g(x)
        r = ab([g], forward, args.rounds * 3)
        print(json.dumps({"bench": "conv_paths", "job": "resnet_9blocks_256_forward", **r, **common}), flush=True)


if __name__ == "__main__":
    main()
