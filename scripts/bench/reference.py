"""The reference tool, pytorch-CycleGAN-and-pix2pix (junyanz), timed on this machine at the settings of train.py / infer.py.

    python scripts/bench/reference.py --repo /path/to/pytorch-CycleGAN-and-pix2pix
    python scripts/bench/reference.py --repo REPO --configs cyclegan128 pix2pix256 --iters 12 --skip 3 --repeats 2
    python scripts/bench/reference.py --repo REPO --pythonpath /tmp/deps      # where the reference's own deps (dominate) live

Runs the reference's own train.py / test.py as subprocesses (under /usr/bin/time -v for peak RSS) on synthetic
data written to a temp dir; it never imports the reference's code itself. The generator-only timing and the
random checkpoint for test.py come from a small child process that builds the net with the reference's
models.networks.define_G. Batch 1, the reference's defaults otherwise (its own dataloader workers, torch's default
thread count), display and HTML output turned off where the checkout has the flags.

Configs (one JSON line each):
    cyclegan128  train.py --model cycle_gan (resnet_9blocks), --load_size 143 --crop_size 128
    cyclegan256  train.py --model cycle_gan, --load_size 286 --crop_size 256
    pix2pix256   train.py --model pix2pix --direction AtoB (unet_256), 286 -> 256
    test256      test.py --model test --no_dropout, resnet_9blocks at 256 px, random weights: images/s
    forward256   netG(x) alone under torch.no_grad(), resnet_9blocks, 1x3x256x256

s_per_iter is the reference's own printed per-image compute time (t_comp: set_input + optimize_parameters) with
--print_freq 1, after skipping the first --skip iterations of each run; wall_s_per_iter is the time between
consecutive loss lines on stdout (adds data waiting and printing). min and median are over the kept iterations of
all --repeats runs; peak_rss_gib is the largest "Maximum resident set size" of the runs (the main process).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from PIL import Image

TRAIN_CONFIGS = {
    # name: (extra train.py args, load_size, crop_size, dataset kind)
    "cyclegan128": (["--model", "cycle_gan"], 143, 128, "unaligned"),
    "cyclegan256": (["--model", "cycle_gan"], 286, 256, "unaligned"),
    "pix2pix256": (["--model", "pix2pix", "--direction", "AtoB"], 286, 256, "aligned"),
}
OTHER_CONFIGS = ["test256", "forward256"]
LOSS_LINE = re.compile(r"\(epoch: *(\d+), iters: *(\d+), time: *([0-9.]+), data: *([0-9.]+)\)")
NEVER = str(10**9)

# Child-process snippets: they run inside the reference checkout and call its API; nothing of it is copied here.
BUILD_G = """
import json, sys, time, statistics, torch
from models import networks
net = networks.define_G(3, 3, 64, "resnet_9blocks", "instance", False, "normal", 0.02)
if hasattr(net, "module"):
    net = net.module
if hasattr(networks, "init_weights"):
    networks.init_weights(net, "normal", 0.02)
net = net.cpu()
"""
SAVE_G = BUILD_G + """
torch.save(net.state_dict(), sys.argv[1])
"""
FORWARD_G = BUILD_G + """
net.eval()
x = torch.randn(1, 3, 256, 256)
runs, warm = int(sys.argv[1]), int(sys.argv[2])
ts = []
with torch.no_grad():
    for i in range(warm + runs):
        t0 = time.perf_counter()
        net(x)
        if i >= warm:
            ts.append(time.perf_counter() - t0)
print(json.dumps({"times": ts, "threads": torch.get_num_threads()}))
"""


def cpu_busy(window: float = 2.0) -> float:
    """Fraction of all cores busy over `window` seconds (from /proc/stat); 0.0 where unavailable."""
    def sample() -> tuple[int, int]:
        vals = [int(v) for v in open("/proc/stat").readline().split()[1:]]
        return sum(vals), vals[3] + (vals[4] if len(vals) > 4 else 0)  # total, idle + iowait
    try:
        t0, i0 = sample()
        time.sleep(window)
        t1, i1 = sample()
        return 1.0 - (i1 - i0) / max(1, t1 - t0)
    except OSError:
        return 0.0


def repo_version(repo: Path) -> str | None:
    r = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True)
    return r.stdout.strip() or None if r.returncode == 0 else None


def photo_sources() -> list[np.ndarray]:
    """RGB photos to crop from: skimage's sample images when installed, else smooth random textures."""
    try:
        from skimage import data as skd

        imgs = [skd.astronaut(), skd.coffee(), skd.chelsea(), skd.rocket(), skd.immunohistochemistry(), skd.hubble_deep_field()]
        return [np.ascontiguousarray(i[..., :3]) for i in imgs]
    except Exception:
        return []


def texture(rng: np.random.Generator, size: int) -> np.ndarray:
    yy, xx = np.mgrid[0:size, 0:size] / size
    img = np.zeros((size, size, 3))
    for c in range(3):
        for _ in range(4):
            fx, fy, ph = rng.uniform(1, 12, 2).tolist() + [rng.uniform(0, 6.3)]
            img[..., c] += np.sin(2 * np.pi * (fx * xx + fy * yy) + ph)
    img = (img - img.min()) / (np.ptp(img) + 1e-6) * 200 + rng.normal(0, 12, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def crop(rng: np.random.Generator, sources: list[np.ndarray], size: int) -> np.ndarray:
    if not sources:
        return texture(rng, size)
    src = sources[int(rng.integers(len(sources)))]
    h, w = src.shape[:2]
    side = int(rng.integers(min(h, w) // 2, min(h, w) + 1))
    y, x = int(rng.integers(0, h - side + 1)), int(rng.integers(0, w - side + 1))
    return np.asarray(Image.fromarray(src[y:y + side, x:x + side]).resize((size, size), Image.BICUBIC))


def make_datasets(root: Path, n: int) -> None:
    """unaligned/{trainA,trainB} (300 px photo crops / textures), aligned/train (512x256 A|B), single/ (test inputs)."""
    rng = np.random.default_rng(0)
    sources = photo_sources()
    for d in ["unaligned/trainA", "unaligned/trainB", "aligned/train", "single"]:
        (root / d).mkdir(parents=True, exist_ok=True)
    for i in range(n):
        a = crop(rng, sources, 300)
        Image.fromarray(a).save(root / f"unaligned/trainA/{i:03d}.jpg", quality=95)
        Image.fromarray(a).save(root / f"single/{i:03d}.jpg", quality=95)
        Image.fromarray(texture(rng, 300)).save(root / f"unaligned/trainB/{i:03d}.jpg", quality=95)
        src = crop(rng, sources, 256)
        ab = np.concatenate([src, 255 - src[:, ::-1]], axis=1)  # A | B, 512x256
        Image.fromarray(ab).save(root / f"aligned/train/{i:03d}.jpg", quality=95)


def help_text(py: str, script: Path, env: dict) -> str:
    r = subprocess.run([py, script.name, "-h"], cwd=script.parent, capture_output=True, text=True, env=env)
    return r.stdout + r.stderr


def pick(helptext: str, *names: str) -> str | None:
    return next((n for n in names if re.search(rf"{re.escape(n)}\b", helptext)), None)


def timed_run(cmd: list[str], cwd: Path, env: dict) -> tuple[list[tuple[float, str]], float, int, str]:
    """Run under /usr/bin/time -v; return (timestamped stdout lines, peak RSS GiB, returncode, stderr tail)."""
    stats = tempfile.NamedTemporaryFile(suffix=".time", delete=False)
    stats.close()
    gnu_time = Path("/usr/bin/time").exists()
    full = (["/usr/bin/time", "-v", "-o", stats.name] if gnu_time else []) + cmd
    proc = subprocess.Popen(full, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1)
    err: list[str] = []

    t = threading.Thread(target=lambda: err.extend(proc.stderr), daemon=True)
    t.start()
    lines = [(time.perf_counter(), line.rstrip("\n")) for line in proc.stdout]
    rc = proc.wait()
    t.join()
    rss = 0.0
    for line in Path(stats.name).read_text().splitlines():
        if "Maximum resident set size" in line:
            rss = int(line.split(":")[1]) / 2**20  # KiB -> GiB
    os.unlink(stats.name)
    if not gnu_time:  # the largest child so far (runs are sequential, so a later run can only report >= an earlier one)
        rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20
    return lines, rss, rc, "".join(err[-20:])


def summary(values: list[float]) -> dict:
    return {"min": round(min(values), 4), "median": round(statistics.median(values), 4)} if values else {}


def bench_train(name: str, args, repo: Path, data: Path, work: Path, env: dict) -> dict:
    extra, load, crop_size, kind = TRAIN_CONFIGS[name]
    h = help_text(args.python, repo / "train.py", env)
    epochs = pick(h, "--n_epochs", "--niter")
    decay = "--n_epochs_decay" if epochs == "--n_epochs" else "--niter_decay"
    cmd = [args.python, "-u", "train.py", "--dataroot", str(data / kind), "--name", name, "--checkpoints_dir", str(work / "ck"),
           pick(h, "--load_size", "--loadSize") or "--load_size", str(load), pick(h, "--crop_size", "--fineSize") or "--crop_size", str(crop_size),
           "--max_dataset_size", str(args.iters), epochs or "--n_epochs", "1", decay, "0", "--print_freq", "1",
           "--display_freq", NEVER, "--save_latest_freq", NEVER, "--save_epoch_freq", NEVER] + extra
    for flag, val in [("--display_id", "0"), ("--update_html_freq", NEVER), ("--gpu_ids", "-1")]:
        if pick(h, flag):
            cmd += [flag, val]
    if pick(h, "--no_html"):
        cmd.append("--no_html")
    comp, wall, rss, runs = [], [], [], []
    for _ in range(args.repeats):
        shutil.rmtree(work / "ck", ignore_errors=True)
        lines, peak, rc, err = timed_run(cmd, repo, env)
        if rc != 0:
            return {"bench": "reference", "config": name, "error": err.strip().splitlines()[-3:], "cmd": cmd}
        hits = [(ts, LOSS_LINE.search(text)) for ts, text in lines]
        hits = [(ts, m) for ts, m in hits if m]
        t_comp = [float(m.group(3)) for _, m in hits][args.skip:]
        stamps = [ts for ts, _ in hits]
        t_wall = [b - a for a, b in zip(stamps, stamps[1:])][max(0, args.skip - 1):]
        comp += t_comp
        wall += t_wall
        rss.append(peak)
        runs.append(round(statistics.median(t_comp), 4) if t_comp else None)
    return {"bench": "reference", "config": name, "s_per_iter": summary(comp).get("median"), "s_per_iter_min": summary(comp).get("min"),
            "s_per_iter_median": summary(comp).get("median"), "run_medians": runs, "wall_s_per_iter_min": summary(wall).get("min"),
            "wall_s_per_iter_median": summary(wall).get("median"), "t_comp_kept": [round(t, 3) for t in comp], "iters_kept": len(comp), "repeats": args.repeats,
            "peak_rss_gib": round(max(rss), 3), "peak_rss_runs_gib": [round(r, 3) for r in rss], "batch": 1, "size": crop_size,
            "cmd": " ".join(cmd[1:])}


def bench_test(args, repo: Path, data: Path, work: Path, env: dict) -> dict:
    ck = work / "ck" / "test256"
    ck.mkdir(parents=True, exist_ok=True)
    r = subprocess.run([args.python, "-c", SAVE_G, str(ck / "latest_net_G.pth")], cwd=repo, env=env, capture_output=True, text=True)
    if r.returncode != 0:
        return {"bench": "reference", "config": "test256", "error": r.stderr.strip().splitlines()[-3:]}
    n = len(list((data / "single").iterdir()))
    h = help_text(args.python, repo / "test.py", env)
    cmd = [args.python, "-u", "test.py", "--dataroot", str(data / "single"), "--name", "test256", "--model", "test", "--no_dropout",
           "--checkpoints_dir", str(work / "ck"), "--results_dir", str(work / "results"), "--num_test", str(n)]
    if pick(h, "--gpu_ids"):
        cmd += ["--gpu_ids", "-1"]
    rates, rss = [], []
    for _ in range(args.repeats):
        shutil.rmtree(work / "results", ignore_errors=True)
        lines, peak, rc, err = timed_run(cmd, repo, env)
        if rc != 0:
            return {"bench": "reference", "config": "test256", "error": err.strip().splitlines()[-3:], "cmd": cmd}
        marks = [(ts, int(m.group(1))) for ts, text in lines if (m := re.search(r"processing \((\d+)\)-th image", text))]
        marks = [(ts, i) for ts, i in marks if i >= 5]  # the line for image i comes right after its forward; skip the first five
        if len(marks) >= 2:
            (t0, i0), (t1, i1) = marks[0], marks[-1]
            rates.append((i1 - i0) / (t1 - t0))
        rss.append(peak)
    return {"bench": "reference", "config": "test256", "images_per_s": round(statistics.median(rates), 3) if rates else None,
            "images_per_s_max": round(max(rates), 3) if rates else None, "s_per_image_min": round(1 / max(rates), 4) if rates else None,
            "s_per_image_median": round(1 / statistics.median(rates), 4) if rates else None, "images": n, "repeats": args.repeats,
            "peak_rss_gib": round(max(rss), 3), "size": 256, "cmd": " ".join(cmd[1:]),
            "note": "rate between the 'processing (0005)' and last progress lines: forward + tensor2im + PNG save + HTML rows, no startup"}


def bench_forward(args, repo: Path, env: dict) -> dict:
    times = []
    for _ in range(args.repeats):
        r = subprocess.run([args.python, "-c", FORWARD_G, str(args.forward_runs), "3"], cwd=repo, env=env, capture_output=True, text=True)
        if r.returncode != 0:
            return {"bench": "reference", "config": "forward256", "error": r.stderr.strip().splitlines()[-3:]}
        out = json.loads(r.stdout.strip().splitlines()[-1])
        times += out["times"]
    return {"bench": "reference", "config": "forward256", "forward_s_min": round(min(times), 4), "forward_s_median": round(statistics.median(times), 4),
            "runs": len(times), "repeats": args.repeats, "threads": out["threads"], "size": 256, "model": "resnet_9blocks",
            "mode": "torch.no_grad, eval(), fp32, batch 1"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repo", required=True, type=Path, help="a checkout of junyanz/pytorch-CycleGAN-and-pix2pix")
    ap.add_argument("--configs", nargs="*", default=list(TRAIN_CONFIGS) + OTHER_CONFIGS)
    ap.add_argument("--iters", type=int, default=12, help="training iterations per run (--max_dataset_size, one epoch)")
    ap.add_argument("--skip", type=int, default=3, help="first iterations of each run left out")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--forward-runs", type=int, default=10)
    ap.add_argument("--images", type=int, default=21, help="synthetic images per folder (at least --iters); test256 runs on all of them")
    ap.add_argument("--python", default=sys.executable, help="interpreter that runs the reference (must have its deps)")
    ap.add_argument("--pythonpath", default="", help="extra PYTHONPATH for the reference (e.g. a --target folder holding dominate)")
    args = ap.parse_args()
    repo = args.repo.resolve()
    if not (repo / "train.py").exists():
        ap.error(f"{repo} has no train.py")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in [args.pythonpath, env.get("PYTHONPATH", "")] if p)
    env.setdefault("PYTHONUNBUFFERED", "1")
    import torch

    from translate.device import cpu_name

    common = {"cpu": cpu_name(), "cores": os.cpu_count(), "torch": torch.__version__, "threads": torch.get_num_threads(),
              "reference": {"repo": str(repo), "commit": repo_version(repo)}}
    busy = cpu_busy()
    if busy > 0.3:
        print(f"warning: the CPU is {busy:.0%} busy before starting -- something else is running; timings will be off", file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="refbench-") as tmp:
        tmp = Path(tmp)
        make_datasets(tmp / "data", max(args.images, args.iters))
        for name in args.configs:
            if name in TRAIN_CONFIGS:
                res = bench_train(name, args, repo, tmp / "data", tmp / "work", env)
            elif name == "test256":
                res = bench_test(args, repo, tmp / "data", tmp / "work", env)
            elif name == "forward256":
                res = bench_forward(args, repo, env)
            else:
                ap.error(f"unknown config {name}")
            print(json.dumps({**res, **common}), flush=True)


if __name__ == "__main__":
    main()
