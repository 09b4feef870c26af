"""The generated-content detector as a method of the shared loop: BCE with logits on (image, label) crops.

Data (``translate train detector --real DIR --fake DIR``): DataConfig.a = real folder, .b = generated folder,
.size = crop, .val_split = fraction of *source photos* held out (``detect.data.split_by_source``: every crop,
down-scaled copy and generator output of one photo lands on one side), .preprocess = "crop" (whole images,
random crops, never resized) or "faces" (face crops, 1.3x box, found once with the landmark backend).
Both classes pass through the same degradations (detect.data.DetectorDataset: resize down, blur, JPEG,
h264), and every batch holds as many real as generated crops (even positions real, odd generated, each
class in its own shuffled order), so class imbalance never shifts the learned bias.

At every export the loop calls ``validate`` on the held-out split: temperature scaling and the threshold at
``fpr`` on the real validation crops (detect.calibrate), then AUC, AP and accuracy at that threshold. They
go into the model file's ``info.extra`` ({"temperature", "threshold", "threshold_fpr", "uncertain_threshold",
"uncertain_fpr", "backbone", "preprocessing", "validation": {...}}), which is what `translate detect` reads.

Why ``fpr = 0.02`` and ``uncertain_fpr = 0.10`` by default: the costly mistake for the people who run a
detector (moderation, newsrooms) is calling a real upload generated, so `fake` is set on real images at 1 in
50 and the `uncertain` band (worth a human look) at 1 in 10. They are only as good as the number of real
validation crops: with fewer than 50 the fake threshold is simply above every real validation score
(``validation.fpr_resolution`` = 1 / n_real says so); the issue asks for >= 500.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from translate.detect.calibrate import DEFAULT_FPR, DEFAULT_UNCERTAIN_FPR, calibrate
from translate.detect.data import (
    Degradations,
    DetectorDataset,
    folder_items,
    split_by_source,
)
from translate.errors import UserError
from translate.methods.base import DataConfig, Method
from translate.weights.modelfile import ModelInfo

# What uploads suffer, applied identically to both classes. h264 runs ffmpeg twice per crop (~50 ms), so
# it is applied to 15% of crops; JPEG to half of the rest.
TRAIN_DEGRADATIONS = Degradations(p_resize=0.3, p_blur=0.2, p_h264=0.15, p_jpeg=0.5)
PREPROCESS = ("crop", "faces")
VAL_BATCH = 32


@dataclass
class DetectorConfig:
    width: int = 32
    n_blocks: int = 4
    spectrum_bins: int = 64
    spectrum_hidden: int = 64
    residual_clamp: float = 0.0
    dropout: float = 0.2
    lr: float = 1e-3
    weight_decay: float = 1e-4
    fpr: float = DEFAULT_FPR
    uncertain_fpr: float = DEFAULT_UNCERTAIN_FPR


# ------------------------------------------------------------------------------------------------ data
def face_crop_items(items: list[tuple], backend: str = "auto") -> tuple[list[tuple[np.ndarray, int]], int]:
    """Every face of every image as its own (uint8 crop, label) item (1.3x box, as `detect --faces` scores
    them); images without a face are dropped. Returns (items, images without a face)."""
    from translate.data.images import load_rgb
    from translate.detect.crops import regions_for
    from translate.faces.landmarks import make_detector

    detector = make_detector(backend)
    out, faceless = [], 0
    for path, label in items:
        image = load_rgb(path)
        faces = detector.detect(image)
        if not faces:
            faceless += 1
            continue
        for region in regions_for(image.shape[:2], faces):
            out.append((np.ascontiguousarray(region.crop(image)), label))
    return out, faceless


@lru_cache(maxsize=2)
def split_items(real: str, fake: str, val_split: float, seed: int, preprocess: str) -> tuple[list, list, str]:
    """(train items, validation items, summary) for the folders; split by source photo, then (with
    preprocess "faces") turned into face crops. Cached: the loop asks for the train and validation sides apart."""
    if not real or not fake:
        raise UserError("the detector needs --real DIR (real images) and --fake DIR (generated images)")
    if preprocess not in PREPROCESS:
        raise UserError(f"the detector takes --preprocess crop (whole images) or faces, not {preprocess!r}: "
                        "resizing would erase the up-sampling traces it learns")
    items = folder_items(real, fake)
    train, val = split_by_source(items, val_split, seed)
    for side, name in ((train, "training"), (val, "validation")):
        if side and len({label for _, label in side}) < 2:
            raise UserError(f"the {name} split has only {'real' if side[0][1] == 0 else 'generated'} images: "
                            "give more source photos (files of one photo share the name before '__') or change --val-split")
    if not train:
        raise UserError("no images left for training: lower --val-split")
    note = ""
    if preprocess == "faces":
        train, lost_t = face_crop_items(train)
        val, lost_v = face_crop_items(val) if val else ([], 0)
        note = f", {lost_t + lost_v} images without a face skipped"
        if not train or len({label for _, label in train}) < 2:
            raise UserError("--faces: too few faces found in the training images of one class; "
                            "check the folders hold faces, or train on whole images without --faces")
    n_real = sum(label == 0 for _, label in train)
    summary = (f"{n_real} real + {len(train) - n_real} generated for training, {len(val)} for validation "
               f"({'face crops' if preprocess == 'faces' else 'images'}, split by source photo{note})")
    return train, val, summary


class BalancedDetectorData(Dataset):
    """Run-wide sample positions -> {"image", "label", "position"}: even positions real, odd generated;
    each class visits its items in a permutation drawn from (seed, class, class epoch), with fresh
    degradations each class epoch. A pure function of the position, so resume is exact."""

    def __init__(self, items: list[tuple], crop: int, seed: int, degradations: Degradations | None = None):
        self.seed = seed
        self.classes = []
        degradations = degradations or TRAIN_DEGRADATIONS
        for label in (0, 1):
            members = [it for it in items if it[1] == label]
            if not members:
                raise UserError(f"no {'real' if label == 0 else 'generated'} training images")
            self.classes.append(DetectorDataset(members, crop, degradations, train=True, seed=seed * 2 + label))

    def __len__(self) -> int:  # one epoch: the larger class once, the smaller one repeated alongside
        return 2 * max(len(c) for c in self.classes)

    def __getitem__(self, position: int) -> dict:
        label, k = position % 2, position // 2
        ds = self.classes[label]
        n = len(ds)
        epoch = k // n
        index = int(np.random.default_rng([self.seed, label, epoch, 13]).permutation(n)[k % n])
        ds.set_epoch(epoch)
        image, target = ds[index]
        return {"image": image, "label": target, "position": position}


class ValidationData(Dataset):
    """The held-out crops, one fixed degradation each (the same at every export)."""

    def __init__(self, items: list[tuple], crop: int, seed: int, degradations: Degradations | None = None):
        self.inner = DetectorDataset(items, crop, degradations or TRAIN_DEGRADATIONS, train=False, seed=seed + 7919)
        self._cache: tuple[torch.Tensor, torch.Tensor] | None = None

    def __len__(self) -> int:
        return len(self.inner)

    def __getitem__(self, index: int):
        return self.inner[index]

    def tensors(self) -> tuple[torch.Tensor, torch.Tensor]:
        """All crops (N, 3, H, W) and labels (N,), decoded and degraded once."""
        if self._cache is None:
            pairs = [self.inner[i] for i in range(len(self.inner))]
            self._cache = torch.stack([p[0] for p in pairs]), torch.stack([p[1] for p in pairs])
        return self._cache


# ---------------------------------------------------------------------------------------------- method
def validation_facts(logits: np.ndarray, labels: np.ndarray, fpr: float,
                     uncertain_fpr: float = DEFAULT_UNCERTAIN_FPR, groups=None) -> dict:
    """Calibration (temperature, fake threshold at ``fpr`` and uncertain one at ``uncertain_fpr`` on the
    reals; within every group when ``groups`` are given, see calibrate) and the figures at those thresholds."""
    from translate.detect.calibrate import binary_nll
    from translate.eval.metrics import accuracy_at, average_precision, roc_auc

    cal = calibrate(logits, labels, fpr, max(uncertain_fpr, fpr), groups)
    probs = cal.probabilities(logits)
    real, fake = probs[labels == 0], probs[labels == 1]
    figures = {
        "auc": roc_auc(labels, probs),
        "ap": average_precision(labels, probs),
        "accuracy": accuracy_at(labels, probs, cal.threshold),
        "tpr": float(np.mean(fake > cal.threshold)),
        "fpr": float(np.mean(real > cal.threshold)),
        "tpr_uncertain_or_fake": float(np.mean(fake > cal.uncertain)),
        "fpr_uncertain_or_fake": float(np.mean(real > cal.uncertain)),
        "nll": binary_nll(logits, labels, cal.temperature),
        "n_real": int(real.size),
        "n_fake": int(fake.size),
        "fpr_resolution": 1.0 / real.size,
    }
    if groups is not None:
        g = np.asarray(groups)[labels == 0]
        figures["fpr_by_group"] = {str(k): float(np.mean(real[g == k] > cal.threshold)) for k in np.unique(g)}
    return {**cal.to_extra(), "validation": figures}


class DetectorMethod(Method):
    name = "detector"
    task = "detect"
    Config = DetectorConfig

    def __init__(self, cfg: DetectorConfig, device, amp_dtype=None, seed: int = 0):
        super().__init__(cfg, device, amp_dtype, seed)
        from translate.nets import build_discriminator

        if not 0.0 <= cfg.fpr < 1.0:
            raise UserError(f"--fpr must be in [0, 1), got {cfg.fpr}")
        net = build_discriminator("detector", width=cfg.width, n_blocks=cfg.n_blocks, spectrum_bins=cfg.spectrum_bins,
                                  spectrum_hidden=cfg.spectrum_hidden, residual_clamp=cfg.residual_clamp,
                                  dropout=cfg.dropout)
        self.nets = {"detector": net.to(device).train()}
        self.optimizers = {"detector": torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)}

    @staticmethod
    def build_dataset(data: DataConfig, seed: int):
        train, _, summary = split_items(data.a, data.b, data.val_split, seed, data.preprocess)
        return BalancedDetectorData(train, data.size, seed), summary

    @staticmethod
    def build_validation(data: DataConfig, seed: int):
        _, val, _ = split_items(data.a, data.b, data.val_split, seed, data.preprocess)
        if not val:
            print("warning: no validation split (--val-split 0): the model keeps the uncalibrated threshold 0.5",
                  file=sys.stderr)
            return None
        return ValidationData(val, data.size, seed)

    def train_step(self, batch: dict) -> dict[str, torch.Tensor]:
        x = batch["image"].to(self.device, non_blocking=True)
        y = batch["label"].to(self.device, non_blocking=True).float()
        with self.autocast():
            logits = self.nets["detector"](x)
        loss = F.binary_cross_entropy_with_logits(logits.float(), y)
        self.step("detector", loss)
        acc = ((logits.detach() > 0).float() == y).float().mean()
        return {"bce": loss.detach(), "acc": acc}

    @torch.no_grad()
    def logits(self, x: torch.Tensor, batch: int = VAL_BATCH) -> torch.Tensor:
        """Eval-mode logits of (N, 3, H, W) in batches; the net is put back in training mode after."""
        from translate.distributed import unwrap

        net = unwrap(self.nets["detector"])
        was_training = net.training
        net.eval()
        try:
            out = [net(x[i:i + batch].to(self.device)).float().cpu() for i in range(0, len(x), batch)]
        finally:
            net.train(was_training)
        return torch.cat(out) if out else torch.empty(0)

    def validate(self, dataset: ValidationData) -> dict:
        x, y = dataset.tensors()
        logits = self.logits(x).numpy().astype(np.float64)
        return validation_facts(logits, y.numpy().astype(np.int64), self.cfg.fpr, self.cfg.uncertain_fpr)

    @torch.no_grad()
    def sample_rows(self, batch: dict) -> list[torch.Tensor]:
        x, y = batch["image"], batch["label"]
        rows = [x[y == 0], x[y == 1]]  # real | generated
        return [r.to(self.device) for r in rows if len(r)]

    def export(self):
        info = ModelInfo(task="detect", method=self.name, nets={}, directions={},
                         extra={"temperature": 1.0, "threshold": 0.5, "threshold_fpr": None,
                                "backbone": "srm", "preprocessing": "native-resolution crops (never resized), "
                                "uint8 RGB scaled to the value range"})
        return {"detector": self.nets["detector"]}, info
