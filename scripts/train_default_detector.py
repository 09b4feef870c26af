"""Train, measure and install the bundled generated-content detector, reproducibly and offline, on CPU.

    .venv/bin/python scripts/train_default_detector.py [--work runs/default-detector] [--backbone clip|srm|all]
        [--leave-out FAMILY|all] [--install]

1. Data (scripts/detector_data.py): real photos and video frames from ../shared/data and installed packages;
   generated images of six families (cyclegan, pix2pix, discogan, faceswap, sr, realesrgan) made from real
   images of the same side of a by-source split; then one up-scale of every real image from a degraded
   x1/4 input (random kernel, mostly h264 or JPEG compressed), as up-scalers meet them in the wild.
2. Crops (scripts/detector_crops.py): degraded training views and clean / degraded / h264-crf-28 validation
   crops, cut as `translate detect` cuts frames (224 px tiles, face boxes).
3. Backbones, each trained on the same training crops and measured on the same validation crops:
     clip  a linear probe on frozen CLIP ViT-B/16 INT8 embeddings (translate/detect/probe.py)
     efficientnet-lite0  ImageNet Lite0 with its last stages fine-tuned on cached trunk maps (detect/finetune.py)
     srm   the residual/spectrum CNN trained whole through the shared loop (translate train detector)
   Calibration (temperature, `fake` at 2% and `uncertain` at 10% false positives) is set on the real
   validation crops, clean and degraded (>= 500).
4. --leave-out FAMILY (or all): a detector trained without that family, reporting the family's AUC against the
   real validation crops, clean and after h264 crf 28.
5. --install BACKBONE: that backbone's model becomes translate/weights/detector.safetensors; the figures go to
   work/figures.json (and are printed) for the manifest and docs/README-detector.md.

Everything is cached in --work (generators, crops, embeddings), so a second run (another --leave-out, another
backbone) only trains heads.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import detector_crops  # noqa: E402
import detector_data  # noqa: E402
from detector_data import FAMILIES, log  # noqa: E402

VAL_SETS = ("val-clean", "val-degraded", "val-h264")
CALIBRATION_SETS = ("val-clean", "val-degraded")


# ------------------------------------------------------------------------------------------ figures
def family_figures(scores: dict[str, np.ndarray], index: dict, threshold: float | None = None) -> dict:
    """Per validation set: each family's AUC (and TPR at the threshold) against that set's real crops."""
    from translate.eval.metrics import roc_auc

    out = {}
    for name in VAL_SETS:
        recs, s = index["sets"][name], scores[name]
        fam = np.array([r["family"] for r in recs])
        real = s[fam == "real"]
        per = {"n_real": int(real.size)}
        if threshold is not None:
            per["fpr"] = round(float(np.mean(real > threshold)), 4)
        for f in FAMILIES + ("all",):
            fake = s[fam != "real"] if f == "all" else s[fam == f]
            if fake.size == 0:
                continue
            y = np.r_[np.zeros(real.size), np.ones(fake.size)]
            per[f] = {"auc": round(roc_auc(y, np.r_[real, fake]), 4), "n": int(fake.size)}
            if threshold is not None:
                per[f]["tpr"] = round(float(np.mean(fake > threshold)), 4)
        out[name] = per
    return out


def labels_of(index: dict, name: str, keep=None) -> np.ndarray:
    return np.array([r["label"] for r in index["sets"][name] if keep is None or keep(r)], np.int64)


# ------------------------------------------------------------------------------------------ clip
class ClipFeatures:
    """CLIP embeddings of every crop set, computed once and cached (saved every few hundred crops)."""

    def __init__(self, work: Path, index: dict):
        from translate.detect.backbones.clip import EmbeddingCache
        from translate.weights.onnx_models import ClipImageEncoder

        self.cache = EmbeddingCache(ClipImageEncoder(threads=0), path=work / "embeddings-clip.npz")
        self.work, self.index = work, index
        self.sets: dict[str, np.ndarray] = {}

    def of(self, name: str) -> np.ndarray:
        if name not in self.sets:
            crops = detector_crops.load(self.work, name, self.index)
            out, t0 = [], time.time()
            for i in range(0, len(crops), 256):
                out.append(self.cache.embed(crops[i:i + 256]))
                self.cache.save()
                log(f"clip {name}: {min(i + 256, len(crops))}/{len(crops)} crops ({time.time() - t0:.0f} s)")
            self.sets[name] = np.concatenate(out) if out else np.zeros((0, 512), np.float32)
        return self.sets[name]


def clip_model(features: ClipFeatures, index: dict, leave_out: str | None, hidden: int, steps: int, seed: int = 0):
    """(head, extra, scores per validation set) of a probe trained without ``leave_out``."""
    from translate.detect.probe import ProbeConfig, fit_head, probe_extra
    from translate.methods.detector import validation_facts

    recs = index["sets"]["train"]
    keep = np.array([r["family"] != leave_out for r in recs])
    e, y = features.of("train")[keep], labels_of(index, "train")[keep]
    cfg = ProbeConfig(hidden=hidden, steps=steps, seed=seed, crop=detector_crops.TILE)
    head = fit_head(e, y, cfg)
    with torch.no_grad():
        logits = {n: head(torch.from_numpy(features.of(n))).numpy().astype(np.float64) for n in VAL_SETS}
    cal_logits = np.concatenate([logits[n] for n in CALIBRATION_SETS])
    cal_labels = np.concatenate([labels_of(index, n) for n in CALIBRATION_SETS])
    facts = validation_facts(cal_logits, cal_labels, cfg.fpr, cfg.uncertain_fpr)
    extra = probe_extra(cfg, summary(index, leave_out), facts)
    extra.update({"tile": detector_crops.TILE, "max_side": detector_crops.TILE, "max_tiles": 4})
    from translate.detect.calibrate import Calibration

    cal = Calibration.from_extra(extra)
    scores = {n: cal.probabilities(z) for n, z in logits.items()}
    return head, extra, scores


def summary(index: dict, leave_out: str | None) -> str:
    recs = index["sets"]["train"]
    n_real = sum(r["label"] == 0 for r in recs)
    fams = sorted({r["family"] for r in recs if r["label"] == 1 and r["family"] != leave_out})
    n_val_real = sum(r["label"] == 0 for n in CALIBRATION_SETS for r in index["sets"][n])
    return (f"{n_real} real + {sum(r['label'] == 1 and r['family'] != leave_out for r in recs)} generated training "
            f"crops ({', '.join(fams)}) from {len({r['source'] for r in recs})} sources; calibrated on "
            f"{n_val_real} real validation crops (clean and degraded) of other sources; scripts/train_default_detector.py")


# ------------------------------------------------------------------------------------------ srm
def srm_model(work: Path, index: dict, leave_out: str | None, steps: int):
    """The residual/spectrum net trained through the shared loop on the training crops (folders of links)."""
    import os

    from translate.cli.main import main
    from translate.detect.scorer import Scorer

    tag = f"srm-without-{leave_out}" if leave_out else "srm"
    run = work / "runs" / tag
    if not (run / "model.safetensors").exists():
        folder = work / "views" / tag
        for r in index["sets"]["train"]:
            if r["family"] == leave_out:
                continue
            dest = folder / ("real" if r["label"] == 0 else "fake") / f"{r['source']}__{Path(r['path']).stem}.png"
            if not dest.exists():
                dest.parent.mkdir(parents=True, exist_ok=True)
                os.link(work / "crops" / r["path"], dest)
        try:
            main(["train", "detector", "--real", str(folder / "real"), "--fake", str(folder / "fake"), "--size", "64",
                  "--batch-size", "32", "--steps", str(steps), "--width", "16", "--val-split", "0.1",
                  "--out", str(work / "runs"), "--name", tag, "--workers", "0", "--quiet", "--precision", "fp32",
                  "--sample-every", "100000", "--save-every", "100000", "--log-every", "100", "--seed", "0"])
        except SystemExit as e:
            if e.code:
                raise
    scorer = Scorer(run / "model.safetensors", device="cpu", precision="fp32")
    logits = {n: scorer.logits(detector_crops.load(work, n, index)) for n in VAL_SETS}
    from translate.methods.detector import validation_facts

    cal_logits = np.concatenate([logits[n] for n in CALIBRATION_SETS])
    cal_labels = np.concatenate([labels_of(index, n) for n in CALIBRATION_SETS])
    facts = validation_facts(cal_logits, cal_labels, 0.02, 0.10)
    from translate.detect.calibrate import Calibration

    cal = Calibration.from_extra(facts)
    return run / "model.safetensors", facts, {n: cal.probabilities(z) for n, z in logits.items()}


# ------------------------------------------------------------------------------------------ efficientnet
class EffnetMaps:
    """Trunk maps of every crop set (crops padded / centre-cropped to 224, as the fine-tuner takes them)."""

    def __init__(self, work: Path, index: dict, tune_stage: int = 5):
        from translate.detect.finetune import FinetuneConfig, map_cache, stage_start

        self.cfg = FinetuneConfig(crop=detector_crops.TILE, degrade=False, views=1, steps=300,
                                  tune_from=stage_start(tune_stage))
        self.cache = map_cache(work / "effnet-maps", self.cfg.tune_from)
        self.work, self.index = work, index
        self.sets: dict[str, np.ndarray] = {}

    def of(self, name: str) -> np.ndarray:
        from translate.detect.finetune import crops_of

        if name not in self.sets:
            items = [(c, r["label"]) for c, r in zip(detector_crops.load(self.work, name, self.index),
                                                      self.index["sets"][name])]
            crops, _ = crops_of(items, self.cfg, train=False)
            out, t0 = [], time.time()
            for i in range(0, len(crops), 256):
                out.append(self.cache.maps(crops[i:i + 256]))
                self.cache.save()
                log(f"efficientnet {name}: {min(i + 256, len(crops))}/{len(crops)} crops ({time.time() - t0:.0f} s)")
            self.sets[name] = np.concatenate(out)
        return self.sets[name]


def effnet_model(maps: EffnetMaps, index: dict, leave_out: str | None, steps: int | None = None, balance: bool = True):
    """(net, extra, scores per validation set) of Lite0's tail fine-tuned without ``leave_out``."""
    from translate.detect.backbones.efficientnet import pretrained_detector, weights_file
    from translate.detect.calibrate import Calibration
    from translate.detect.finetune import finetune_extra, fit_tail, round_to_half, tail_logits
    from translate.methods.detector import validation_facts

    from dataclasses import replace

    cfg = replace(maps.cfg, steps=steps or maps.cfg.steps)
    keep = np.array([r["family"] != leave_out for r in index["sets"]["train"]])
    x, y = maps.of("train")[keep], labels_of(index, "train")[keep]
    net = round_to_half(pretrained_detector(cfg.tune_from, cfg.dropout, weights_file()))
    families = [r["family"] for r, k in zip(index["sets"]["train"], keep) if k]
    fit_tail(net, x, y, cfg, log=None, groups=families if balance else None)
    round_to_half(net).eval()
    logits = {n: tail_logits(net, maps.of(n)) for n in VAL_SETS}
    cal_logits = np.concatenate([logits[n] for n in CALIBRATION_SETS])
    cal_labels = np.concatenate([labels_of(index, n) for n in CALIBRATION_SETS])
    facts = validation_facts(cal_logits, cal_labels, cfg.fpr, cfg.uncertain_fpr)
    extra = finetune_extra(cfg, summary(index, leave_out), facts)
    extra["max_tiles"] = 4  # 16 frames x 4 tiles keeps a 10 s 720p clip well inside 30 s on 2 cores
    cal = Calibration.from_extra(extra)
    return net, extra, {n: cal.probabilities(z) for n, z in logits.items()}


# ------------------------------------------------------------------------------------------ main
def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", default="runs/default-detector", type=Path)
    ap.add_argument("--backbone", default="clip", choices=["clip", "efficientnet-lite0", "srm", "all"])
    ap.add_argument("--leave-out", default=None, choices=[*FAMILIES, "all"],
                    help="Train without this family (or each in turn) and report its AUC, clean and after h264 crf 28.")
    ap.add_argument("--gen-steps", type=int, default=30, help="Steps of the CycleGAN and Pix2Pix trained here (shared loop).")
    ap.add_argument("--ae-steps", type=int, default=300, help="Steps of the DiscoGAN and face-swap auto-encoders.")
    ap.add_argument("--probe-hidden", type=int, default=0, help="clip: hidden units of the probe (0: linear).")
    ap.add_argument("--probe-steps", type=int, default=500, help="clip: full-batch AdamW steps of the probe.")
    ap.add_argument("--tail-steps", type=int, default=300,
                    help="efficientnet-lite0: tail steps of the model trained on every family (the one installed).")
    ap.add_argument("--lofo-steps", type=int, default=100,
                    help="efficientnet-lite0: tail steps of each leave-one-family-out run (the short run).")
    ap.add_argument("--no-family-balance", dest="family_balance", action="store_false",
                    help="efficientnet-lite0: draw fakes uniformly over crops (the default draws each family equally often).")
    ap.add_argument("--tune-stage", type=int, default=5, choices=[4, 5, 6, 7],
                    help="efficientnet-lite0: the first of the stages fine-tuned (those below stay frozen, their maps cached).")
    ap.add_argument("--srm-steps", type=int, default=600, help="srm: training steps (batch 32).")
    ap.add_argument("--install", choices=["clip", "efficientnet-lite0"],
                    help="Write this backbone's model (trained on every family) as translate/weights/detector.safetensors.")
    args = ap.parse_args()
    torch.set_num_threads(2)
    t0 = time.time()
    work = args.work
    work.mkdir(parents=True, exist_ok=True)
    detector_data.build(work, args.gen_steps, ae_steps=args.ae_steps)
    detector_data.add_upscales(work)
    index = detector_crops.build(work)
    counts = {n: len(v) for n, v in index["sets"].items()}
    log(f"crops: {counts}")
    fig_path = work / "figures.json"
    figures = json.loads(fig_path.read_text()) if fig_path.exists() else {}
    figures["crops"] = counts
    backbones = ["clip", "efficientnet-lite0", "srm"] if args.backbone == "all" else [args.backbone]
    leave = list(FAMILIES) if args.leave_out == "all" else [args.leave_out] if args.leave_out else []
    features = ClipFeatures(work, index) if "clip" in backbones else None
    maps = EffnetMaps(work, index, args.tune_stage) if "efficientnet-lite0" in backbones else None
    for bb in backbones:
        entry = figures.setdefault(bb, {})
        if bb == "clip":
            model, extra, scores = clip_model(features, index, None, args.probe_hidden, args.probe_steps)
        elif bb == "efficientnet-lite0":
            model, extra, scores = effnet_model(maps, index, None, args.tail_steps, balance=args.family_balance)
        else:
            model, extra, scores = srm_model(work, index, None, args.srm_steps)
        entry["all_families"] = {"calibration": {k: extra[k] for k in ("temperature", "threshold", "uncertain_threshold")},
                                 "validation": extra["validation"],
                                 "per_family": family_figures(scores, index, extra["threshold"])}
        log(f"{bb}: {json.dumps(entry['all_families']['per_family']['val-clean'])}")
        if args.install == bb and leave:  # installed now, and again below with the leave-one-out figures
            install(bb, model, extra, figures)
        for fam in leave:
            if bb == "clip":
                _, _, s = clip_model(features, index, fam, args.probe_hidden, args.probe_steps)
            elif bb == "efficientnet-lite0":
                _, _, s = effnet_model(maps, index, fam, args.lofo_steps, balance=args.family_balance)
            else:
                _, _, s = srm_model(work, index, fam, args.srm_steps)
            per = family_figures(s, index)
            entry.setdefault("leave_one_family_out", {})[fam] = {
                "clean_auc": per["val-clean"][fam]["auc"], "h264_crf28_auc": per["val-h264"][fam]["auc"]}
            log(f"{bb} without {fam}: {entry['leave_one_family_out'][fam]}")
            fig_path.write_text(json.dumps(figures, indent=1))
        fig_path.write_text(json.dumps(figures, indent=1))
        if args.install == bb:
            install(bb, model, extra, figures)
    figures["wall_seconds"] = round(time.time() - t0, 1)
    fig_path.write_text(json.dumps(figures, indent=1))
    print(json.dumps(figures, indent=1))
    return 0


def install(backbone: str, model, extra: dict, figures: dict) -> None:
    """The chosen model becomes translate/weights/detector.safetensors, its figures in its header; prints the
    manifest lines that change (sha256, size, figures)."""
    from translate.weights.digest import file_sha256
    from translate.weights.modelfile import ModelInfo, save_model

    entry = figures[backbone]
    extra = {**extra, "leave_one_family_out": entry.get("leave_one_family_out", {}),
             "per_family": entry["all_families"]["per_family"]}
    dest = ROOT / "translate" / "weights" / "detector.safetensors"
    if backbone == "efficientnet-lite0":
        from translate.detect.finetune import save_finetuned

        save_finetuned(dest, model, extra, "detector")
    else:
        info = ModelInfo(task="detect", method="detector", nets={}, directions={}, name="detector", extra=extra)
        save_model(dest, {"detector": model}, info)
    sha = file_sha256(dest)
    log(f"installed {dest} ({dest.stat().st_size / 1e6:.2f} MB, sha256 {sha})")
    v = extra["validation"]
    lofo = entry.get("leave_one_family_out", {})
    figs = {"threshold": round(extra["threshold"], 4), "threshold_fpr": extra["threshold_fpr"],
            "uncertain_threshold": round(extra["uncertain_threshold"], 4), "uncertain_fpr": extra["uncertain_fpr"],
            "temperature": round(extra["temperature"], 4), "val_auc": round(v["auc"], 4), "val_fpr": round(v["fpr"], 4),
            "val_tpr": round(v["tpr"], 4), "val_n_real": v["n_real"],
            **{f"lofo_{k}_auc": d["clean_auc"] for k, d in lofo.items()},
            **{f"lofo_{k}_h264_auc": d["h264_crf28_auc"] for k, d in lofo.items()}}
    print(f'sha256 = "{sha}"\nsize = "{dest.stat().st_size / 1e6:.1f} MB"\nfigures = {json.dumps(figs)}'
          .replace('": ', ' = ').replace('{"', '{').replace(', "', ', '))


if __name__ == "__main__":
    sys.exit(main())
