"""`translate train detector --backbone efficientnet-lite0`: the ImageNet EfficientNet-Lite0, its last stages
fine-tuned on crops to tell real from generated (the DFDC winner's recipe, cut to what a 2-core CPU can do).

The trunk (stem and the blocks below ``tune_from``) stays as released: each degraded crop goes through it
once and its map is cached on disk (backbones/efficientnet.MapCache). The tail (blocks from ``tune_from``,
conv_head, its BN, a new 1-logit fc) trains on those maps with AdamW on balanced batches (half real, half
generated). BN of the tail either keeps ImageNet's statistics (``bn="frozen"``, affine parameters still
train) or uses batch statistics and re-estimates running ones on the training maps at the end
(``bn="train"``). Data and calibration as the CLIP probe (probe.py): split by source photo, ``views``
differently degraded crops per training image with the same degradations for both classes, one fixed
degradation per validation image, then temperature and the two thresholds (validation_facts).

Why stages 5-7 with BN in train mode (the defaults): on BSD100 photos against SRGAN x4 outputs of their
LR versions (70 + 70 training images x 2 views, 100 steps of 32, 30 + 30 validation images at 224 px), the
validation AUC was 0.81 tuning only conv_head + fc (tune_from 16), 0.87 from stage 7 (15; 0.87 with BN
train), 0.91 from stage 6 with frozen BN, 0.95 from stage 6 with BN train (TPR 0.80 at 2% FPR). On the
bundled detector's six-family data (scripts/train_default_detector.py, 1,676 training and 936 validation
crops, family-balanced batches, 300 steps) starting at stage 5 instead of 6 raised the all-family AUC from
0.927 to 0.946 clean and from 0.881 to 0.903 after h264, and the share of fakes over the 2%-FPR threshold
from 45% to 64%; starting at stage 4 was worse again at that threshold (0.940 AUC). The tail from stage 5
trains 300 steps of 32 in ~5 min on 2 cores.

The model file holds the whole net ("efficientnet-lite0-detector", fp16), pixels in [-1, 1] -> one logit, so
`translate detect` scores it with no fetch and no flags; ``extra["tile"]`` and ``extra["max_side"]`` (the
crop) say frames should be cut into crop-sized tiles.
"""
from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from translate.data.images import load_rgb
from translate.detect.backbones.efficientnet import BACKBONE_WEIGHTS, MapCache, pretrained_detector, weights_file
from translate.detect.calibrate import DEFAULT_FPR, DEFAULT_UNCERTAIN_FPR
from translate.detect.data import NONE, DetectorDataset
from translate.detect.probe import degraded_crops
from translate.methods.detector import split_items, validation_facts
from translate.nets.efficientnet import N_BLOCKS, STAGE_STARTS
from translate.weights.digest import file_sha256
from translate.weights.modelfile import ModelInfo, save_model

BN_MODES = ("frozen", "train")


@dataclass
class FinetuneConfig:
    crop: int = 224  # ImageNet's size; crops are never resized (frames are tiled into crop-sized tiles)
    views: int = 2  # degraded crops per training image
    tune_from: int = STAGE_STARTS[4]  # first fine-tuned block: 8 = stages 5, 6 and 7 (+ conv_head, bn, fc)
    bn: str = "train"  # tail BatchNorm: "train" (batch statistics, re-estimated at the end) or "frozen" (ImageNet's)
    steps: int = 300
    batch_size: int = 32
    lr: float = 1e-3  # the tail's pretrained layers
    fc_lr: float = 1e-2  # the new fc
    weight_decay: float = 1e-2
    dropout: float = 0.2
    val_split: float = 0.2
    fpr: float = DEFAULT_FPR
    uncertain_fpr: float = DEFAULT_UNCERTAIN_FPR
    seed: int = 0
    preprocess: str = "crop"
    degrade: bool = True  # False: items are already degraded crops, each used once (reflect-padded or centre-cropped)
    cache: str | None = None  # folder of cached trunk maps; None: <out_dir>/maps

    def check(self) -> None:
        if self.bn not in BN_MODES:
            raise ValueError(f"bn must be one of {', '.join(BN_MODES)}, got {self.bn!r}")
        if not 0 <= self.tune_from <= N_BLOCKS:
            raise ValueError(f"tune_from must be in [0, {N_BLOCKS}], got {self.tune_from}")
        if self.steps < 1 or self.batch_size < 2 or self.views < 1 or self.crop < 8:
            raise ValueError("steps >= 1, batch_size >= 2, views >= 1 and crop >= 8 are needed")


def crops_of(items: list, cfg: FinetuneConfig, train: bool) -> tuple[list, np.ndarray]:
    """uint8 crops of ``cfg.crop`` px and labels: ``views`` degraded ones per training item, one fixed
    degradation per validation item; with ``degrade`` False each item once, as it is."""
    if cfg.degrade:
        return degraded_crops(items, cfg.crop, cfg.views, cfg.seed if train else cfg.seed + 7919, train=train)
    ds = DetectorDataset(items, cfg.crop, NONE, train=False, seed=cfg.seed)
    crops = [ds.degrade(load_rgb(s) if isinstance(s, (str, Path)) else np.asarray(s, np.uint8), i)
             for i, (s, _) in enumerate(items)]
    return crops, np.asarray([label for _, label in items], np.int64)


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _set_tail_mode(net, bn: str) -> None:
    """Train mode for dropout (and BN when ``bn`` is "train"); the trunk never trains."""
    net.eval()
    for module in net.tail_modules():
        module.train()
    if bn == "frozen":
        for module in net.modules():
            if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
                module.eval()
    net.net._dropout.train()


@torch.no_grad()
def _reestimate_bn(net, maps: np.ndarray, batch_size: int) -> None:
    """Running BN statistics of the tail = the mean over training batches (cumulative average)."""
    bns = [m for mod in net.tail_modules() for m in mod.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None
        m.train()
    for j in range(0, len(maps), batch_size):
        net.tail(torch.from_numpy(maps[j:j + batch_size]).float())
    for m in bns:
        m.momentum = 0.01  # EfficientNet's (TF 0.99)


def stage_start(stage: int) -> int:
    """The first block of Lite0's ``stage`` (1-7): the ``tune_from`` that fine-tunes that stage and those above."""
    if not 1 <= stage <= len(STAGE_STARTS):
        raise ValueError(f"Lite0 has stages 1-{len(STAGE_STARTS)}, got {stage}")
    return STAGE_STARTS[stage - 1]


def sample_pools(y: np.ndarray, groups: Sequence[str] | None = None) -> tuple:
    """(real indices, generated indices, generated indices per group or None): what balanced_batch draws
    from, worked out once per run."""
    real, fake = np.flatnonzero(y == 0), np.flatnonzero(y == 1)
    if groups is None:
        return real, fake, None
    g = np.asarray(groups)[fake]
    return real, fake, [fake[g == name] for name in np.unique(g)]


def balanced_batch(rng: np.random.Generator, pools: tuple, half: int) -> np.ndarray:
    """Indices of ``half`` real then ``half`` generated items from ``pools`` (sample_pools); with groups, each
    generated item's group is drawn uniformly first, so every family weighs the same whatever its number of
    crops."""
    real, fake, by_group = pools
    reals = rng.choice(real, half, replace=len(real) < half)
    if by_group is None:
        return np.concatenate([reals, rng.choice(fake, half, replace=len(fake) < half)])
    return np.concatenate([reals, [rng.choice(by_group[k]) for k in rng.integers(len(by_group), size=half)]])


def fit_tail(net, maps: np.ndarray, y: np.ndarray, cfg: FinetuneConfig, log: Callable[[str], None] | None = _log,
             groups: Sequence[str] | None = None) -> list[float]:
    """AdamW on the tail over ``cfg.steps`` balanced batches of cached maps; returns the loss per step.

    ``groups`` (one name per item, e.g. the generator family of each fake): the fake half of every batch draws
    each group equally often, so the most numerous family does not set what "generated" looks like."""
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    for p in net.parameters():
        p.requires_grad_(False)
    fc = list(net.net._fc.parameters())
    body = [p for mod in net.tail_modules() if mod is not net.net._fc for p in mod.parameters()]
    for p in fc + body:
        p.requires_grad_(True)
    opt = torch.optim.AdamW([{"params": body, "lr": cfg.lr}, {"params": fc, "lr": cfg.fc_lr}],
                            weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=[cfg.lr, cfg.fc_lr], total_steps=cfg.steps, pct_start=0.1)
    half = cfg.batch_size // 2
    target = torch.tensor([0.0] * half + [1.0] * half)
    _set_tail_mode(net, cfg.bn)
    losses = []
    pools = sample_pools(y, groups)
    for step in range(cfg.steps):
        idx = balanced_batch(rng, pools, half)
        loss = F.binary_cross_entropy_with_logits(net.tail(torch.from_numpy(maps[idx]).float()), target)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        losses.append(loss.item())
        if log and (step + 1) % max(1, cfg.steps // 10) == 0:
            log(f"step {step + 1}/{cfg.steps}: loss {np.mean(losses[-max(1, cfg.steps // 10):]):.4f}")
    if cfg.bn == "train":
        _reestimate_bn(net, maps, cfg.batch_size)
    for p in net.parameters():
        p.requires_grad_(False)
    return losses


@torch.no_grad()
def tail_logits(net, maps: np.ndarray, batch_size: int = 64) -> np.ndarray:
    net.eval()
    return np.concatenate([net.tail(torch.from_numpy(maps[j:j + batch_size]).float()).numpy()
                           for j in range(0, len(maps), batch_size)]).astype(np.float64)


def _summary(train_items: Sequence[tuple], val_items: Sequence[tuple]) -> str:
    n_real = sum(label == 0 for _, label in train_items)
    return f"{n_real} real + {len(train_items) - n_real} generated for training, {len(val_items)} for validation"


def _tuned_parts(tune_from: int) -> str:
    blocks = f"blocks {tune_from}-{N_BLOCKS - 1}" if tune_from < N_BLOCKS else "no MBConv block"
    if tune_from in STAGE_STARTS:
        first = STAGE_STARTS.index(tune_from) + 1
        blocks += f" (stage {first})" if first == len(STAGE_STARTS) else f" (stages {first}-{len(STAGE_STARTS)})"
    return f"{blocks}, conv_head, its BN and a new 1-logit fc; the stem and blocks below {tune_from} frozen as released"


@torch.no_grad()
def round_to_half(net: torch.nn.Module) -> torch.nn.Module:
    """Weights rounded to fp16 in place: the model file stores fp16, so maps, validation and calibration are
    computed with exactly the weights `translate detect` will load."""
    for value in net.state_dict().values():
        if value.is_floating_point():
            value.copy_(value.half().float())
    return net


def map_cache(folder: str | Path | None, tune_from: int = FinetuneConfig.tune_from) -> MapCache:
    """A trunk-map cache to pass to several finetune_items runs (leave-one-family-out), kept in memory
    between them and on disk under ``folder``."""
    weights = weights_file()
    return MapCache.for_net(round_to_half(pretrained_detector(tune_from, weights=weights)), folder, weights)


def fit_finetune(train_items: Sequence[tuple], cfg: FinetuneConfig, cache: MapCache,
                 log: Callable[[str], None] | None = _log) -> tuple[torch.nn.Module, dict]:
    """The fine-tuned detector (eval mode, weights rounded to fp16 as saved) and the seconds spent, from
    (path or uint8 array, label) items; ``cache`` (map_cache) must hold maps of blocks below ``cfg.tune_from``."""
    cfg.check()
    if cache.net.tune_from != cfg.tune_from:
        raise ValueError(f"the map cache holds the maps of blocks below {cache.net.tune_from}, not {cfg.tune_from}")
    start = time.perf_counter()
    net = round_to_half(pretrained_detector(cfg.tune_from, cfg.dropout, weights_file()))
    crops, y = crops_of(list(train_items), cfg, train=True)
    if len(set(y.tolist())) < 2:
        raise ValueError("fine-tuning needs real (0) and generated (1) training items")
    t0, n0 = cache.seconds, cache.computed
    maps = cache.maps(crops)
    trunk = cache.seconds - t0
    if log:
        log(f"{len(crops)} training crops ({cache.computed - n0} through the trunk in {trunk:.0f} s, the rest "
            f"cached); fine-tuning {cfg.steps} steps of {cfg.batch_size}")
    t1 = time.perf_counter()
    fit_tail(net, maps, y, cfg, log)
    round_to_half(net).eval()
    seconds = {"trunk_maps": round(trunk, 1), "tail": round(time.perf_counter() - t1, 1),
               "total": round(time.perf_counter() - start, 1)}
    return net, seconds


def finetune_extra(cfg: FinetuneConfig, summary: str, facts: dict, seconds: dict | None = None) -> dict:
    """What the model file says: backbone, what was tuned, preprocessing, tiling, data and calibration
    (``facts`` from validation_facts; without them T = 1 and threshold 0.5, uncalibrated)."""
    extra = {"temperature": 1.0, "threshold": 0.5, "threshold_fpr": None, "backbone": BACKBONE_WEIGHTS,
             "backbone_weights": BACKBONE_WEIGHTS, "backbone_sha256": file_sha256(weights_file()),
             "fine_tuned": _tuned_parts(cfg.tune_from), "tune_from": cfg.tune_from, "bn": cfg.bn,
             "preprocessing": f"{cfg.crop}px crops at native resolution (frames cut into {cfg.crop}px tiles, never "
                              "resized); pixels in [-1, 1], mapped inside the net to Lite's (x - 127) / 128",
             "tile": cfg.crop, "max_side": cfg.crop, "training_data": summary,
             "train_views": cfg.views if cfg.degrade else 1, "train_config": asdict(cfg) | {"cache": None},
             **({"train_seconds": seconds} if seconds else {})}
    extra.update(facts)
    return extra


def save_finetuned(path: str | Path, net: torch.nn.Module, extra: dict, name: str) -> Path:
    """The whole net (fp16) and its header: `translate detect --model PATH` needs nothing else."""
    info = ModelInfo(task="detect", method="detector", nets={}, directions={}, name=name, extra=extra)
    return save_model(path, {"detector": net.eval()}, info, half=True)


def finetune_items(train_items: Sequence[tuple], val_items: Sequence[tuple], out_path: str | Path, cfg: FinetuneConfig,
                   summary: str | None = None, name: str | None = None, cache: MapCache | None = None,
                   log: Callable[[str], None] | None = _log) -> Path:
    """Fine-tune on prepared (path or uint8 array, label) items, calibrate on ``val_items`` (none: saved
    uncalibrated) and save the model file at ``out_path``. ``cache``: a map_cache to share across runs (saved
    after this one); None: one on ``cfg.cache`` or <out_path's folder>/maps."""
    out_path = Path(out_path)
    cache = cache or map_cache(cfg.cache or out_path.parent / "maps", cfg.tune_from)
    net, seconds = fit_finetune(train_items, cfg, cache, log)
    facts = {}
    if val_items:
        vcrops, vy = crops_of(list(val_items), cfg, train=False)
        facts = validation_facts(tail_logits(net, cache.maps(vcrops)), vy, cfg.fpr, cfg.uncertain_fpr)
        if log:
            v = facts["validation"]
            log(f"validation: AUC {v['auc']:.3f}, TPR {v['tpr']:.3f} at FPR {v['fpr']:.3f} "
                f"({v['n_real']} real, {v['n_fake']} generated crops)")
    cache.save()
    extra = finetune_extra(cfg, summary or _summary(train_items, val_items), facts, seconds)
    return save_finetuned(out_path, net, extra, name or out_path.parent.name)


def train_finetune(real_dir: str | Path, fake_dir: str | Path, out_dir: str | Path, cfg: FinetuneConfig,
                   name: str | None = None, cache: MapCache | None = None) -> Path:
    """Split the folders by source photo, fine-tune, calibrate and save ``out_dir/model.safetensors``."""
    train, val, summary = split_items(str(real_dir), str(fake_dir), cfg.val_split, cfg.seed, cfg.preprocess)
    out_dir = Path(out_dir)
    return finetune_items(train, val, out_dir / "model.safetensors", cfg, summary, name or out_dir.name, cache)
