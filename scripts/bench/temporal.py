"""Benchmark: does `--temporal` (the stabilize stage) cut flicker, at what cost in fidelity and time?

Workload (the issue's, the default): the first --seconds (3) of each face clip
../shared/data/video/liveportrait_*.mp4, scaled to 256 px wide, through two per-frame models:
  cyclegan - a CycleGAN resnet_6blocks ngf 16 trained here for --steps (200) on those clips' frames
             (every third frame; domain A: the first half of the clips, B: the second half; random
             --train-size (128) crops at the frames' own scale; `translate train cyclegan --steps`);
  sr       - the bundled tiny x4 upscaler (manifest name srgan-tiny, formerly srgan).
--work (runs/bench-temporal) keeps the trained CycleGAN (keyed by the workload) and each model's frame-wise
outputs with the seconds they took, so a rerun (another --strength, a changed stabilize stage) runs neither
training nor the models again; its overhead figure then divides by the recorded model seconds.
Each clip's frame-wise outputs go through the stabilize stage batch by batch, with each frame's input in
meta["source"], exactly as `translate video --temporal` chains them. Measured (translate.eval.warp, DIS flow,
"medium"): E_warp of frame-wise and stabilised output (target: >= 40% lower), E_warp(frame-wise) / E_warp(IN)
(how much the model flickers beyond its input), mean PSNR of stabilised against frame-wise output
(target >= 30 dB), stabilize seconds / model seconds (target <= 30%); and on a synthetic pan over a photo
with ground truth, the SR Y-PSNR drop against it (target <= 0.2 dB).
Prints JSON lines (one per clip and model, one for the pan, one summary) and draws --figure (E_warp per frame
of one clip with and without --temporal).

    python scripts/bench/temporal.py --threads 2 --figure docs/temporal-ewarp.png   # the issue's workload, CPU
    python scripts/bench/temporal.py --models cyclegan --clips 2 --seconds 2 --steps 0   # quick: untrained, no SR
"""
from __future__ import annotations

import argparse
import json
import os
import hashlib
import platform
import shutil
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from translate.eval.metrics import psnr, sr_psnr_ssim  # noqa: E402
from translate.eval.warp import flicker_of_frames  # noqa: E402
from translate.video.frames import FrameBatch, StreamInfo  # noqa: E402
from translate.video.stages import TranslateStage  # noqa: E402
from translate.video.temporal import TemporalConfig, TemporalStage  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
VIDEO_DIR = ROOT.parent / "shared" / "data" / "video"


def emit(**row) -> None:
    print(json.dumps(row), flush=True)


def load_clip(path: Path, seconds: float, width: int) -> np.ndarray:
    """The first ``seconds`` of a clip, resized to ``width`` px wide (even height)."""
    from translate.video.reader import FrameReader

    reader = FrameReader(path, batch_size=16, end=seconds)
    frames = np.concatenate([b.frames for b in reader])
    h, w = frames.shape[1:3]
    height = int(round(h * width / w / 2) * 2)
    return np.stack([cv2.resize(f, (width, height), interpolation=cv2.INTER_AREA) for f in frames])


def untrained_generator(folder: Path) -> Path:
    """--steps 0: the same generator, randomly initialised (where training does not fit the time at hand)."""
    import torch

    from translate.nets import build_generator
    from translate.weights.modelfile import ModelInfo, save_model

    torch.manual_seed(0)
    return save_model(folder / "g.safetensors", {"G": build_generator("resnet_6blocks", ngf=16)},
                      ModelInfo("translate", "cyclegan", {}, {"AtoB": ["G"]}, name="resnet_6blocks-ngf16-random", multiple=4))


def finished(run_dir: Path, steps: int) -> bool:
    """A run of ``steps`` that ended (also when this script was stopped while `translate train` went on)."""
    from translate.weights.modelfile import read_info

    model = run_dir / "model.safetensors"
    return model.is_file() and read_info(model).extra.get("trained_steps") == steps


def train_cyclegan(clips: list[np.ndarray], names: list[str], work: Path, args) -> tuple[Path, float | None]:
    """The 200-step CycleGAN, trained once per workload and kept under --work: (run folder, seconds or None
    when it was there already)."""
    if args.steps == 0:
        return untrained_generator(work), None
    workload = [names, args.seconds, args.width, args.steps, args.seed, args.train_size]
    key = hashlib.sha256(json.dumps(workload).encode()).hexdigest()[:12]
    folder = work / f"cyclegan-{key}"
    run_dir = folder / "runs" / "cg"
    if (folder / "done.json").is_file() or finished(run_dir, args.steps):
        return run_dir, None
    shutil.rmtree(folder, ignore_errors=True)  # an interrupted run: start over
    half = max(1, len(clips) // 2)
    for name, group in (("A", clips[:half]), ("B", clips[half:] or clips[:half])):
        (folder / name).mkdir(parents=True)
        for c, clip in enumerate(group):
            for i, frame in enumerate(clip[::3]):
                cv2.imwrite(str(folder / name / f"c{c}_{i:03d}.png"), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "translate", "train", "cyclegan", "--a", str(folder / "A"), "--b",
                    str(folder / "B"), "--netG", "resnet_6blocks", "--ngf", "16", "--steps", str(args.steps),
                    "--size", str(args.train_size), "--preprocess", "crop", "--workers", "0", "--seed", str(args.seed),
                    "--out", str(folder / "runs"),
                    "--name", "cg", "--device", args.device, "-q"], check=True, stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - t0
    (folder / "done.json").write_text(json.dumps({"clips": names, "steps": args.steps, "seconds": round(seconds, 1)}))
    return run_dir, seconds


def sr_translator(device: str, precision: str):
    from translate.errors import UserError
    from translate.infer import Translator

    for name in ("srgan-tiny", "srgan"):
        try:
            t = Translator(name, device=device, precision=precision)
        except UserError:
            continue
        if t.scale > 1:
            return t
    raise SystemExit("no bundled SR model (srgan-tiny / srgan) found")


def framewise(translator, frames: np.ndarray, batch_size: int, cache: Path | None) -> tuple[np.ndarray, float, bool]:
    """The model's frame-by-frame outputs (the translate stage) and its seconds; kept in ``cache`` (.npy + .json)
    when given, so that a rerun (other --strength, a changed stabilize stage) does not run the model again."""
    if cache is not None and cache.with_suffix(".json").is_file():
        return np.load(cache.with_suffix(".npy")), json.loads(cache.with_suffix(".json").read_text())["model_s"], True
    stage = TranslateStage(translator)
    stage.open(StreamInfo(frames.shape[2], frames.shape[1], Fraction(25)))
    outs, seconds = [], 0.0
    for i in range(0, len(frames), batch_size):
        t0 = time.perf_counter()
        batch = FrameBatch(frames[i:i + batch_size], list(range(i, min(i + batch_size, len(frames)))))
        outs.append(stage.process(batch).frames)
        seconds += time.perf_counter() - t0
    outs = np.concatenate(outs)
    if cache is not None:
        np.save(cache.with_suffix(".npy"), outs)
        cache.with_suffix(".json").write_text(json.dumps({"model_s": seconds, "frames": len(outs)}))
    return outs, seconds, False


def run(translator, frames: np.ndarray, config: TemporalConfig, batch_size: int, cache: Path | None = None) -> dict:
    """Frame-wise outputs, the stabilize stage on them (batch by batch, each frame's input in meta["source"] as
    the translate stage leaves it), and the seconds each took."""
    outs, model_s, cached = framewise(translator, frames, batch_size, cache)
    temporal = TemporalStage(config)
    steady, t_stab = [], 0.0
    for i in range(0, len(frames), batch_size):
        batch = FrameBatch(outs[i:i + batch_size].copy(), list(range(i, min(i + batch_size, len(frames)))),
                           [{"source": f} for f in frames[i:i + batch_size]])
        t0 = time.perf_counter()
        steady.extend(temporal.process(batch).frames)
        t_stab += time.perf_counter() - t0
    return {"framewise": list(outs), "steady": steady, "model_s": model_s, "model_cached": cached,
            "stabilize_s": t_stab, "stats": temporal.close()}


def score(frames: np.ndarray, result: dict) -> dict:
    before = flicker_of_frames(frames, result["framewise"], "dis")
    after = flicker_of_frames(frames, result["steady"], "dis")
    fidelity = [psnr(a, b) for a, b in zip(result["steady"], result["framewise"])]
    return {"e_warp_framewise": before.e_warp_out, "e_warp_temporal": after.e_warp_out,
            "e_warp_input": before.e_warp_in,
            "framewise_over_input": before.ratio,
            "reduction": 1 - after.e_warp_out / before.e_warp_out,
            "psnr_vs_framewise": float(np.mean([p for p in fidelity if np.isfinite(p)] or [float("inf")])),
            "overhead": result["stabilize_s"] / result["model_s"], "model_s": round(result["model_s"], 3),
            "stabilize_s": round(result["stabilize_s"], 3), "model_cached": result["model_cached"], **result["stats"],
            "per_frame": ([f.e_warp_out for f in before.frames], [f.e_warp_out for f in after.frames])}


def synthetic_pan(n: int = 30, size: int = 256) -> np.ndarray:
    """HR ground truth: a sub-pixel pan (1.3, 0.45 px a frame) over a photo the upscaler never saw (coffee)."""
    from skimage import data

    img = cv2.resize(data.coffee(), (800, 600), interpolation=cv2.INTER_CUBIC)
    return np.stack([cv2.warpAffine(img, np.float32([[1, 0, -t * 1.3], [0, 1, -t * 0.45]]), (800, 600),
                                    flags=cv2.INTER_CUBIC)[150:150 + size, 200:200 + size] for t in range(n)])


def draw_figure(path: Path, before: list[float], after: list[float], clip: str, model: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3), dpi=110)
    x = np.arange(1, len(before) + 1)
    ax.plot(x, before, label=f"frame by frame (mean {np.mean(before):.4f})", color="tab:red")
    ax.plot(x, after, label=f"--temporal (mean {np.mean(after):.4f})", color="tab:blue")
    ax.set_xlabel("frame")
    ax.set_ylabel("E_warp")
    ax.set_title(f"Flicker of {model} on {clip} (lower is steadier)", fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--videos", type=Path, default=VIDEO_DIR)
    ap.add_argument("--clips", type=int, default=0, help="use the first N clips (0 = all)")
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--width", type=int, default=256)
    ap.add_argument("--steps", type=int, default=200, help="CycleGAN training steps (0: a randomly initialised generator)")
    ap.add_argument("--seed", type=int, default=0, help="CycleGAN training seed")
    ap.add_argument("--train-size", type=int, default=128,
                    help="CycleGAN training crops (random crops of the --width frames, at their scale)")
    ap.add_argument("--work", type=Path, default=ROOT / "runs" / "bench-temporal",
                    help="where the trained CycleGAN is kept (reruns of the same workload reuse it)")
    ap.add_argument("--strength", type=float, default=TemporalConfig.strength)
    ap.add_argument("--models", default="cyclegan,sr", help="which models to run: cyclegan, sr or both")
    ap.add_argument("--fidelity", type=float, default=TemporalConfig.fidelity,
                    help="the stage's fidelity floor in dB (0 = none)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--precision", default="fp32")
    ap.add_argument("--batch-size", type=int, default=4)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0 = torch's default)")
    ap.add_argument("--figure", type=Path, help="write the per-frame E_warp figure here (PNG)")
    args = ap.parse_args()
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    from translate.infer import Translator

    paths = sorted(args.videos.glob("liveportrait_*.mp4"))[: args.clips or None]
    if not paths:
        raise SystemExit(f"no liveportrait_*.mp4 in {args.videos}")
    clips = [load_clip(p, args.seconds, args.width) for p in paths]
    emit(setting={"clips": [p.name for p in paths], "frames": [len(c) for c in clips], "width": args.width,
                  "seconds": args.seconds, "steps": args.steps, "strength": args.strength, "fidelity": args.fidelity,
                  "device": args.device,
                  "precision": args.precision, "torch_threads": torch.get_num_threads(), "cpu_count": os.cpu_count(),
                  "machine": platform.processor() or platform.machine(), "flow_metric": "dis medium",
                  "flow_stage": TemporalConfig.flow_preset})
    kinds = [k for k in args.models.split(",") if k]
    if not kinds or set(kinds) - {"cyclegan", "sr"}:
        raise SystemExit(f"--models takes cyclegan and/or sr, got {args.models!r}")
    rows: dict[str, list[dict]] = {kind: [] for kind in kinds}
    args.work.mkdir(parents=True, exist_ok=True)
    models = {}
    if "cyclegan" in kinds:
        run_dir, seconds = train_cyclegan(clips, [p.name for p in paths], args.work, args)
        emit(trained={"run": "resnet_6blocks ngf 16", "steps": args.steps, "folder": str(run_dir),
                      "seconds": None if seconds is None else round(seconds, 1),
                      "cached": seconds is None and args.steps > 0})
        models["cyclegan"] = Translator(run_dir, device=args.device, precision=args.precision,
                                        batch_size=args.batch_size)
    if "sr" in kinds:
        models["sr"] = sr_translator(args.device, args.precision)
    config = TemporalConfig(strength=args.strength, fidelity=args.fidelity)
    (args.work / "framewise").mkdir(exist_ok=True)
    for path, frames in zip(paths, clips):
        for kind, translator in models.items():
            key = hashlib.sha256(json.dumps([translator.model_sha256, path.name, args.seconds, args.width, args.device,
                                             args.precision]).encode()).hexdigest()[:16]
            result = run(translator, frames, config, args.batch_size, args.work / "framewise" / f"{kind}-{key}")
            row = score(frames, result)
            per_frame = row.pop("per_frame")
            if kind == "cyclegan" and args.figure and not rows["cyclegan"]:
                name = f"a {args.steps}-step CycleGAN" if args.steps else "an untrained CycleGAN generator"
                draw_figure(args.figure, *per_frame, path.stem, name)
            rows[kind].append(row)
            emit(clip=path.name, model=kind if kind == "cyclegan" else translator.model_name,
                 **{k: (round(v, 6) if isinstance(v, float) else v) for k, v in row.items()})

    targets = {}
    if "sr" in models:
        targets["sr_pan_drop_0p2db"] = pan_check(models["sr"], config, args.batch_size)
    summary = {}
    for kind, kind_rows in rows.items():
        summary[kind] = {key: round(float(np.mean([r[key] for r in kind_rows])), 4)
                         for key in ("reduction", "psnr_vs_framewise", "overhead", "e_warp_framewise",
                                     "e_warp_temporal", "e_warp_input", "framewise_over_input")}
        summary[kind]["worst_reduction"] = round(float(min(r["reduction"] for r in kind_rows)), 4)
        summary[kind]["worst_psnr"] = round(float(min(r["psnr_vs_framewise"] for r in kind_rows)), 2)
    targets.update({"e_warp_40pct_lower": all(s["reduction"] >= 0.4 for s in summary.values()),
                    "psnr_vs_framewise_30db": all(s["psnr_vs_framewise"] >= 30 for s in summary.values()),
                    "overhead_30pct": all(s["overhead"] <= 0.3 for s in summary.values())})
    emit(summary=summary, targets=targets)


def pan_check(sr, config: TemporalConfig, batch_size: int) -> bool:
    """The synthetic pan with ground truth: the SR Y-PSNR with and without the stage; True if it drops <= 0.2 dB."""
    from translate.data.sr import bicubic_downscale

    hr = synthetic_pan()
    lr = np.stack([bicubic_downscale(f, sr.scale) for f in hr])
    result = run(sr, lr, config, batch_size)
    y_framewise = np.mean([sr_psnr_ssim(o, h, sr.scale)[0] for o, h in zip(result["framewise"], hr)])
    y_steady = np.mean([sr_psnr_ssim(o, h, sr.scale)[0] for o, h in zip(result["steady"], hr)])
    pan = score(lr, result)
    pan.pop("per_frame")
    emit(pan={"frames": len(hr), "y_psnr_framewise": round(float(y_framewise), 3),
              "y_psnr_temporal": round(float(y_steady), 3), "drop_db": round(float(y_framewise - y_steady), 3),
              "e_warp_framewise": round(pan["e_warp_framewise"], 6), "e_warp_temporal": round(pan["e_warp_temporal"], 6)})
    return float(y_framewise - y_steady) <= 0.2


if __name__ == "__main__":
    main()
