"""Train, measure and install the bundled generated-content detector, reproducibly and offline, on CPU.

    .venv/bin/python scripts/train_default_detector.py [--work runs/default-detector]
        [--backbone ensemble|efficientnet-lite0|clip|srm|all] [--leave-out FAMILY|all] [--install BACKBONE]

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
     ensemble  ENSEMBLE's members (Lite0 and the CLIP probe), their calibrated log-odds weighted and summed,
           then calibrated again (translate/detect/ensemble.py); one file holds both nets
   Calibration (temperature, `fake` at 2% and `uncertain` at 10% false positives) is set on the real
   validation crops (>= 500), clean, degraded and h264 crf 28, each rate holding within each of the three.
4. --leave-out FAMILY (or all): a detector trained without that family, reporting the family's AUC against the
   real validation crops, clean and after h264 crf 28.
5. --install BACKBONE: that backbone's model becomes translate/weights/detector.safetensors; the figures go to
   work/figures.json (and are printed) for the manifest and docs/README-detector.md.

Everything is cached in --work (generators, crops, embeddings, trunk maps, and each leave-one-out run's
validation log-odds with the settings that made them), so a second run (another --leave-out, another backbone,
the ensemble of backbones measured before) only trains what changed.
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
# calibrated on every condition, each threshold holding its false-positive rate within each (calibrate's groups):
# re-encoded video is where detect meets most real footage
CALIBRATION_SETS = VAL_SETS
# how `translate detect` cuts frames for these models; 16 frames x 4 tiles keeps a 10 s 720p clip well inside
# 30 s on 2 cores
CUT = {"tile": detector_crops.TILE, "max_side": detector_crops.TILE, "max_tiles": 4}
# the bundled ensemble: (member backbone, its net's name in the file, weight on its calibrated log-odds)
ENSEMBLE = (("efficientnet-lite0", "detector", 1.0), ("clip", "probe", 1.0))


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


class Runs:
    """Every run of this invocation, by (backbone, left-out family or None): (model, extra, raw validation
    logits). A leave-one-out run's calibrated log-odds (logit / its temperature) are also kept on disk
    (work/scores, with the settings that made them), so an ensemble of backbones measured earlier retrains
    nothing; a run with other settings is trained afresh."""

    def __init__(self, work: Path, train):
        self.folder, self.train, self.done = work / "scores", train, {}

    def _file(self, backbone: str, leave_out: str | None) -> Path:
        return self.folder / f"{backbone}-{'without-' + leave_out if leave_out else 'all'}.npz"

    def log_odds(self, backbone: str, leave_out: str | None, key: str) -> dict[str, np.ndarray]:
        """Calibrated log-odds per validation set; from disk for a left-out run made with the same ``key``."""
        path = self._file(backbone, leave_out)
        if (backbone, leave_out) not in self.done and leave_out and path.exists():
            with np.load(path) as z:
                if str(z["key"]) == key:
                    return {n: z[n] for n in VAL_SETS}
        _, extra, logits = self.get(backbone, leave_out)
        out = {n: z / extra["temperature"] for n, z in logits.items()}
        self.folder.mkdir(exist_ok=True)
        np.savez(path, key=np.array(key), **out)
        return out

    def get(self, backbone: str, leave_out: str | None):
        if (backbone, leave_out) not in self.done:
            self.done[backbone, leave_out] = self.train(backbone, leave_out)
        return self.done[backbone, leave_out]


def probabilities(extra: dict, logits: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    from translate.detect.calibrate import Calibration

    cal = Calibration.from_extra(extra)
    return {n: cal.probabilities(z) for n, z in logits.items()}


def calibration_facts(logits: dict[str, np.ndarray], index: dict, fpr: float = 0.02, uncertain_fpr: float = 0.10) -> dict:
    """Temperature and both thresholds on the real validation crops, clean, degraded and h264: each threshold
    keeps its rate within every one of the three."""
    from translate.methods.detector import validation_facts

    cal_logits = np.concatenate([logits[n] for n in CALIBRATION_SETS])
    cal_labels = np.concatenate([labels_of(index, n) for n in CALIBRATION_SETS])
    groups = np.concatenate([[n] * len(logits[n]) for n in CALIBRATION_SETS])
    return validation_facts(cal_logits, cal_labels, fpr, uncertain_fpr, groups)


def ensemble_model(runs: Runs, index: dict, leave_out: str | None, keys: dict[str, str]):
    """(nets, extra, raw logits) of ENSEMBLE: its members' calibrated log-odds, weighted and summed, then
    calibrated like any detector's logit (translate/detect/ensemble.py). Left-out runs need only the logits."""
    from translate.detect import ensemble

    parts = {bb: runs.log_odds(bb, leave_out, keys[bb]) for bb, _, _ in ENSEMBLE}
    logits = {n: sum(w * parts[bb][n] for bb, _, w in ENSEMBLE) for n in VAL_SETS}
    facts = calibration_facts(logits, index)
    if leave_out:
        return None, facts, logits
    members, nets = [], {}
    for bb, net, w in ENSEMBLE:
        model, extra, _ = runs.get(bb, None)
        members.append(ensemble.member(extra, net, w))
        nets[net] = model
    return nets, ensemble.ensemble_extra(members, facts, summary(index, None), CUT), logits


def labels_of(index: dict, name: str, keep=None) -> np.ndarray:
    return np.array([r["label"] for r in index["sets"][name] if keep is None or keep(r)], np.int64)


# ------------------------------------------------------------------------------------------ clip
def fitted_crops(work: Path, name: str, index: dict) -> list[np.ndarray]:
    """A crop set as `translate detect` feeds every member: 224 px tiles as they are, smaller images
    reflect-padded and larger face boxes centre-cropped to the tile (Scorer.score_frames)."""
    from translate.detect.finetune import FinetuneConfig, crops_of

    cfg = FinetuneConfig(crop=detector_crops.TILE, degrade=False, views=1)
    items = [(c, r["label"]) for c, r in zip(detector_crops.load(work, name, index), index["sets"][name])]
    return crops_of(items, cfg, train=False)[0]


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
            crops = fitted_crops(self.work, name, self.index)
            out, t0 = [], time.time()
            for i in range(0, len(crops), 256):
                out.append(self.cache.embed(crops[i:i + 256]))
                self.cache.save()
                log(f"clip {name}: {min(i + 256, len(crops))}/{len(crops)} crops ({time.time() - t0:.0f} s)")
            self.sets[name] = np.concatenate(out) if out else np.zeros((0, 512), np.float32)
        return self.sets[name]


def clip_model(features: ClipFeatures, index: dict, leave_out: str | None, hidden: int, steps: int, seed: int = 0):
    """(head, extra, raw logits per validation set) of a probe trained without ``leave_out``."""
    from translate.detect.finetune import round_to_half
    from translate.detect.probe import ProbeConfig, fit_head, probe_extra
    recs = index["sets"]["train"]
    keep = np.array([r["family"] != leave_out for r in recs])
    e, y = features.of("train")[keep], labels_of(index, "train")[keep]
    cfg = ProbeConfig(hidden=hidden, steps=steps, seed=seed, crop=detector_crops.TILE)
    head = round_to_half(fit_head(e, y, cfg))  # as an ensemble file stores it
    with torch.no_grad():
        logits = {n: head(torch.from_numpy(features.of(n))).numpy().astype(np.float64) for n in VAL_SETS}
    facts = calibration_facts(logits, index, cfg.fpr, cfg.uncertain_fpr)
    extra = probe_extra(cfg, summary(index, leave_out), facts)
    extra.update(CUT)
    return head, extra, logits


def summary(index: dict, leave_out: str | None) -> str:
    recs = index["sets"]["train"]
    n_real = sum(r["label"] == 0 for r in recs)
    fams = sorted({r["family"] for r in recs if r["label"] == 1 and r["family"] != leave_out})
    n_val_real = sum(r["label"] == 0 for n in CALIBRATION_SETS for r in index["sets"][n])
    return (f"{n_real} real + {sum(r['label'] == 1 and r['family'] != leave_out for r in recs)} generated training "
            f"crops ({', '.join(fams)}) from {len({r['source'] for r in recs})} sources; calibrated on "
            f"{n_val_real} real validation crops (clean, degraded, h264 crf 28; each threshold holds in each) of other "
            f"sources; scripts/train_default_detector.py")


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
    facts = calibration_facts(logits, index)
    return run / "model.safetensors", facts, logits


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
        if name not in self.sets:
            crops = fitted_crops(self.work, name, self.index)
            out, t0 = [], time.time()
            for i in range(0, len(crops), 256):
                out.append(self.cache.maps(crops[i:i + 256]))
                self.cache.save()
                log(f"efficientnet {name}: {min(i + 256, len(crops))}/{len(crops)} crops ({time.time() - t0:.0f} s)")
            self.sets[name] = np.concatenate(out)
        return self.sets[name]


def effnet_model(maps: EffnetMaps, index: dict, leave_out: str | None, steps: int | None = None, balance: bool = True,
                 saved: Path | None = None, key: str = ""):
    """(net, extra, raw logits per validation set) of Lite0's tail fine-tuned without ``leave_out``.
    ``saved``: where the tuned net is kept (the run on every family, ~15 minutes here), reused when it was
    made with ``key``'s settings; the calibration and figures are computed afresh either way."""
    from translate.detect.backbones.efficientnet import pretrained_detector, weights_file
    from translate.detect.finetune import finetune_extra, fit_tail, round_to_half, save_finetuned, tail_logits
    from translate.weights.modelfile import load_model, read_info
    from dataclasses import replace

    cfg = replace(maps.cfg, steps=steps or maps.cfg.steps)
    keep = np.array([r["family"] != leave_out for r in index["sets"]["train"]])
    if saved is not None and saved.exists() and read_info(saved).extra.get("run_key") == key:
        net = load_model(saved).nets["detector"].eval()
    else:
        x, y = maps.of("train")[keep], labels_of(index, "train")[keep]
        net = round_to_half(pretrained_detector(cfg.tune_from, cfg.dropout, weights_file()))
        families = [r["family"] for r, k in zip(index["sets"]["train"], keep) if k]
        fit_tail(net, x, y, cfg, log=None, groups=families if balance else None)
        round_to_half(net).eval()
        if saved is not None:
            save_finetuned(saved, net, {"run_key": key}, "lite0-tail")
    logits = {n: tail_logits(net, maps.of(n)) for n in VAL_SETS}
    facts = calibration_facts(logits, index, cfg.fpr, cfg.uncertain_fpr)
    extra = finetune_extra(cfg, summary(index, leave_out), facts)
    extra.update(CUT)
    return net, extra, logits


# ------------------------------------------------------------------------------------------ main
def run_key(backbone: str, args: argparse.Namespace, counts: dict, all_families: bool = False) -> str:
    """The settings a run of ``backbone`` depends on (what it cached is reused only for these)."""
    settings = {"clip": {"probe_hidden": args.probe_hidden, "probe_steps": args.probe_steps},
                "efficientnet-lite0": {"steps": args.tail_steps if all_families else args.lofo_steps,
                                       "tune_stage": args.tune_stage,
                                       "family_balance": args.family_balance},
                "srm": {"steps": args.srm_steps}}[backbone]
    return json.dumps({"backbone": backbone, **settings, "crops": counts}, sort_keys=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", default="runs/default-detector", type=Path)
    ap.add_argument("--backbone", default="ensemble", choices=["clip", "efficientnet-lite0", "srm", "ensemble", "all"],
                    help="ensemble: efficientnet-lite0 and clip, their calibrated log-odds summed (ENSEMBLE).")
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
    ap.add_argument("--install", choices=["clip", "efficientnet-lite0", "ensemble"],
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
    backbones = ["clip", "efficientnet-lite0", "srm", "ensemble"] if args.backbone == "all" else [args.backbone]
    leave = list(FAMILIES) if args.leave_out == "all" else [args.leave_out] if args.leave_out else []
    uses = set(backbones) | ({bb for bb, _, _ in ENSEMBLE} if "ensemble" in backbones else set())
    features = ClipFeatures(work, index) if "clip" in uses else None
    maps = EffnetMaps(work, index, args.tune_stage) if "efficientnet-lite0" in uses else None
    keys = {bb: run_key(bb, args, counts) for bb in uses - {"ensemble"}}

    def train(bb: str, fam: str | None):
        if bb == "clip":
            return clip_model(features, index, fam, args.probe_hidden, args.probe_steps)
        if bb == "efficientnet-lite0":
            if fam:
                return effnet_model(maps, index, fam, args.lofo_steps, balance=args.family_balance)
            return effnet_model(maps, index, None, args.tail_steps, balance=args.family_balance,
                                saved=work / "runs" / "efficientnet-lite0-all.safetensors",
                                key=run_key(bb, args, counts, all_families=True))
        if bb == "srm":
            return srm_model(work, index, fam, args.srm_steps)
        return ensemble_model(runs, index, fam, keys)

    runs = Runs(work, train)
    for bb in backbones:
        entry = figures.setdefault(bb, {})
        model, extra, logits = runs.get(bb, None)
        scores = probabilities(extra, logits)
        entry["all_families"] = {"calibration": {k: extra[k] for k in ("temperature", "threshold", "uncertain_threshold")},
                                 "validation": extra["validation"],
                                 "per_family": family_figures(scores, index, extra["threshold"])}
        log(f"{bb}: {json.dumps(entry['all_families']['per_family']['val-clean'])}")
        if args.install == bb and leave:  # installed now, and again below with the leave-one-out figures
            install(bb, model, extra, figures)
        for fam in leave:
            s = runs.get(bb, fam)[2] if bb == "ensemble" else runs.log_odds(bb, fam, keys[bb])
            per = family_figures(s, index)  # AUCs only: any monotone map of the logits gives the same
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
    elif backbone == "ensemble":
        from translate.detect.ensemble import save_ensemble

        save_ensemble(dest, model, extra, "detector")
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
