"""Scorer: a loaded detector that turns uint8 RGB images or frames into calibrated probabilities.

    frame -> regions (face crops when faces are given, else the whole image, tiled when large; crops.py)
          -> batched net (crops of one shape share a batch) -> logits -> sigmoid(logit / T) (calibrate.py)
          -> frame score (max over faces, mean over tiles; crops.py)

The temperature and the two thresholds (fake, uncertain) come from the model file (``info.extra``, written
by ``translate train detector``); a model without them scores with T = 1 and threshold 0.5, and says so in
``Scorer.calibrated``; one with a single threshold has no uncertain band (``calibration.single_threshold``).
An ensemble file (ensemble.py) runs each member on the same crops and sums their calibrated log-odds. Frames
are never resized: resampling erases the traces the detector reads.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from translate.detect import ensemble
from translate.detect.calibrate import Calibration
from translate.detect.crops import MAX_SIDE, MAX_TILES, TILE, Region, frame_score, regions_for
from translate.device import autocast, resolve_device, resolve_precision, speed_up
from translate.errors import UserError
from translate.weights.modelfile import LoadedModel, load_model

DEFAULT_MODEL = "detector"
FALLBACK_MODEL = "detector-tiny"  # the small srm net inside the wheel: needs nothing fetched
MIN_SIDE = 8  # the net's smallest input


def _net_of(loaded: LoadedModel) -> torch.nn.Module:
    if "detector" in loaded.nets:
        return loaded.nets["detector"]
    if len(loaded.nets) == 1:
        return next(iter(loaded.nets.values()))
    raise UserError(f"{loaded.path}: a detect model holds one net, this one has {', '.join(loaded.nets)}")


def _clip_facts(extra: dict, members: list[dict] | None = None) -> dict | None:
    """The part of a model header that reads CLIP embeddings (the model itself, or an ensemble member; of
    ``members`` when given, the ones that score here), or None."""
    if extra.get("backbone") == ensemble.BACKBONE:
        return next((m for m in (extra["members"] if members is None else members) if m["backbone"] == "clip"), None)
    return extra if extra.get("backbone") == "clip" else None


class Scorer:
    """``Scorer(model)`` where model is a file, a run folder, a manifest name (default: the bundled
    'detector') or a LoadedModel of task "detect".

    ``scorer.score_frames(frames, faces=None)`` -> per-frame probabilities; ``scorer.score_regions(crops)``
    -> per-crop probabilities; ``scorer.threshold``: flag when score > threshold.
    """

    def __init__(self, model: str | Path | LoadedModel = DEFAULT_MODEL, device: str = "auto",
                 precision: str = "fp32", batch_size: int = 16, tile: int | None = None,
                 max_side: int | None = None, tiles: str = "mean", max_tiles: int | None = None):
        self.device = resolve_device(device)
        self.fallback_note = None
        self._clip_path = None
        self._without_clip = False  # an ensemble whose CLIP backbone cannot be had: its other members score
        if not isinstance(model, LoadedModel):
            model = self._load(str(model))
        elif model.info.task != "detect":
            raise UserError(f"{model.path}: a {model.info.task} model cannot score images; give a detect model "
                            f"(e.g. --model {DEFAULT_MODEL})")
        self.loaded, self.info = model, model.info
        self.amp_dtype = resolve_precision(precision, self.device)
        # an ensemble's members that score here (each a dict of ensemble.py); None: a single-net model
        self.members = None
        calibration_facts = self.info.extra
        if self.info.extra.get("backbone") == ensemble.BACKBONE:
            self.members = [m for m in self.info.extra["members"] if not (self._without_clip and m["backbone"] == "clip")]
            if len(self.members) == 1:  # one member left: it scores alone, with its own calibration
                calibration_facts = self.members[0]
            self.member_nets = {m["net"]: self._ready(model.nets[m["net"]], precision) for m in self.members}
            pixels = [m for m in self.members if m["backbone"] != "clip"]
            self.net = self.member_nets[(pixels or self.members)[0]["net"]]
        else:
            self.net = self._ready(_net_of(model), precision)
        self.calibration = Calibration.from_extra(calibration_facts)
        self.calibrated = "temperature" in calibration_facts and calibration_facts.get("threshold_fpr") is not None
        self.batch_size = max(1, int(batch_size))
        # how frames are cut: what the model was trained on (its file says), unless the caller says otherwise
        extra = self.info.extra
        self.tile = int(tile or extra.get("tile") or TILE)
        self.max_side = int(max_side or extra.get("max_side") or MAX_SIDE)
        self.max_tiles = int(max_tiles or extra.get("max_tiles") or MAX_TILES)
        self.tiles = tiles
        # a model trained on exactly tile-sized crops (max_side == tile: Lite0, the CLIP probe) saw smaller
        # images reflect-padded and larger face boxes centre-cropped to the tile; score them the same way
        self._fit = None
        if self.max_side == self.tile:
            from translate.detect.data import NONE, spatial_transform

            self._fit = spatial_transform(self.tile, NONE, train=False)
        self.lo, self.hi = self.info.value_range
        self.model_name = self.info.name or (Path(model.path).stem if model.path else "detector")
        self.embedder = None  # a frozen backbone's embeddings feed the net (a probe head) instead of pixels
        if _clip_facts(self.info.extra, self.members) is not None:
            from translate.weights.onnx_models import ClipImageEncoder

            # no embedding cache here: scored crops hardly repeat, and a cache would grow with every frame
            self.embedder = ClipImageEncoder(self._clip_path, threads=0)  # inference: every core
        self.model_sha256 = model.sha256

    def _ready(self, net: torch.nn.Module, precision: str) -> torch.nn.Module:
        net = net.to(self.device).eval()
        for p in net.parameters():
            p.requires_grad_(False)
        self.compute = speed_up(net, self.device, precision, self.amp_dtype)
        return net

    def _load(self, name: str) -> LoadedModel:
        """Load a detect model; one whose frozen backbone cannot be had (offline, never fetched) is an error,
        except for the bundled default, which falls back to FALLBACK_MODEL (in the wheel) and says so. An
        ensemble scores without its CLIP member instead, with its other member's own calibration, and says so."""
        from translate.weights.resolve import resolve_model

        loaded = load_model(resolve_model(name, tasks=("detect",)), self.device)
        extra = loaded.info.extra
        clip = _clip_facts(extra)
        if clip is not None:
            from translate.weights.fetch import ensure

            weights = clip.get("backbone_weights") or "clip-vit-b16-int8"
            try:
                self._clip_path = ensure(weights)
            except UserError as e:
                if extra.get("backbone") == ensemble.BACKBONE:
                    self._without_clip = True
                    self.fallback_note = (f"the detector's CLIP member ({weights}) is not on this machine and could "
                                          f"not be fetched ({e}); scoring with its other member alone, at that "
                                          f"member's own thresholds (run `translate weights fetch {weights}` once online)")
                    return loaded
                if name != DEFAULT_MODEL:
                    raise
                self.fallback_note = (f"the bundled detector's backbone ({weights}) is not on this machine and could "
                                      f"not be fetched ({e}); scoring with {FALLBACK_MODEL}, the small offline model "
                                      f"(run `translate weights fetch {weights}` once online)")
                return load_model(resolve_model(FALLBACK_MODEL, tasks=("detect",)), self.device)
        return loaded

    @property
    def threshold(self) -> float:
        return self.calibration.threshold

    @property
    def uncertain_threshold(self) -> float:
        """The lower edge of the `uncertain` band (the fake threshold for a one-threshold model file)."""
        return self.calibration.uncertain

    def facts(self) -> dict:
        """What the report says about the model."""
        from translate.provenance import public_model_name

        return {"name": public_model_name(self.model_name), "sha256": self.model_sha256,
                "temperature": self.calibration.temperature, "threshold": self.calibration.threshold,
                "threshold_fpr": self.calibration.threshold_fpr, "uncertain_threshold": self.calibration.uncertain,
                "uncertain_fpr": self.calibration.uncertain_fpr, "single_threshold": self.calibration.single_threshold,
                "calibrated": self.calibrated, **self.description()}

    def description(self) -> dict:
        """The backbone and preprocessing the model file names (older files name neither: the srm net, crops)."""
        extra = self.info.extra
        out = {"backbone": extra.get("backbone", "srm"), "preprocessing": extra.get("preprocessing", "crop")}
        if self.members is not None:
            out["members"] = [m["backbone"] for m in self.members]
        return out

    # -- crops -> probabilities ---------------------------------------------------------------
    def _to_input(self, crops: np.ndarray) -> torch.Tensor:
        x = torch.from_numpy(np.ascontiguousarray(crops)).to(self.device).permute(0, 3, 1, 2).float()
        return x * ((self.hi - self.lo) / 255.0) + self.lo

    @torch.inference_mode()
    def logits(self, crops: Sequence[np.ndarray]) -> np.ndarray:
        """Raw logits of uint8 (H, W, 3) crops; crops of one shape run together in batches."""
        out = np.empty(len(crops), dtype=np.float64)
        by_shape: dict[tuple, list[int]] = {}
        for i, c in enumerate(crops):
            c = np.asarray(c)
            if c.ndim != 3 or c.shape[2] != 3 or c.dtype != np.uint8:
                raise ValueError(f"expected uint8 (H, W, 3) crops, got {c.dtype} {c.shape}")
            if min(c.shape[:2]) < MIN_SIDE:
                raise UserError(f"a {c.shape[1]}x{c.shape[0]} image is too small to score (at least {MIN_SIDE}x{MIN_SIDE} px)")
            by_shape.setdefault(c.shape, []).append(i)
        if not len(crops):
            return out
        if self.members is None:
            return self._embedding_logits(self.net, crops) if self.embedder is not None else \
                self._pixel_logits(self.net, crops, by_shape, out)
        zs = [self._embedding_logits(self.member_nets[m["net"]], crops) if m["backbone"] == "clip" else
              self._pixel_logits(self.member_nets[m["net"]], crops, by_shape, out.copy()) for m in self.members]
        return zs[0] if len(zs) == 1 else ensemble.combine(zs, self.members)

    def _embedding_logits(self, net: torch.nn.Module, crops: Sequence[np.ndarray]) -> np.ndarray:
        """CLIP resizes every crop to 224: shapes need not match."""
        e = torch.from_numpy(self.embedder.embed(list(crops))).to(self.device)
        return net(e).float().cpu().numpy().astype(np.float64)

    def _pixel_logits(self, net: torch.nn.Module, crops: Sequence[np.ndarray], by_shape: dict, out: np.ndarray):
        for idx in by_shape.values():
            for j in range(0, len(idx), self.batch_size):
                chunk = idx[j:j + self.batch_size]
                x = self._to_input(np.stack([crops[i] for i in chunk]))
                with autocast(self.device, self.amp_dtype):
                    z = net(x)
                out[chunk] = z.float().cpu().numpy()
        return out

    def score_regions(self, crops: Sequence[np.ndarray]) -> np.ndarray:
        """Calibrated probabilities that each crop is generated."""
        return self.calibration.probabilities(self.logits(crops))

    # -- frames -------------------------------------------------------------------------------
    def regions(self, frame_hw: tuple[int, int], faces=None) -> list[Region]:
        """What is scored in a frame: faces (those at least MIN_SIDE px) when given, else image or tiles."""
        cut = {"tile": self.tile, "max_side": self.max_side, "max_tiles": self.max_tiles}
        regions = regions_for(frame_hw, faces or None, **cut) if faces else []
        regions = [r for r in regions if min(r.x1 - r.x0, r.y1 - r.y0) >= MIN_SIDE]
        return regions or regions_for(frame_hw, None, **cut)

    def score_frames(self, frames, faces: Sequence | None = None) -> list[float]:
        """One probability per frame. ``frames``: uint8 (N, H, W, 3) or a list of (H, W, 3) of any sizes;
        ``faces``: per frame, a list of faces (boxes, landmarks, or the faces stage's dicts) or None."""
        if isinstance(frames, np.ndarray) and frames.ndim == 3:
            frames = frames[None]
        n = len(frames)
        if faces is not None and len(faces) != n:
            raise ValueError(f"{len(faces)} face lists for {n} frames")
        per_frame = [self.regions(f.shape[:2], faces[i] if faces is not None else None) for i, f in enumerate(frames)]
        crops = [r.crop(f) for f, regions in zip(frames, per_frame) for r in regions]
        if self._fit is not None:  # tiles are tile-sized already: only small images and face boxes change
            crops = [c if c.shape[:2] == (self.tile, self.tile) else self._fit(image=np.ascontiguousarray(c))["image"]
                     for c in crops]
        probs = self.score_regions(crops) if crops else np.empty(0)
        scores, k = [], 0
        for regions in per_frame:
            scores.append(frame_score(regions, probs[k:k + len(regions)], self.tiles))
            k += len(regions)
        return scores

    def score_image(self, image: np.ndarray, faces=None) -> float:
        return self.score_frames([image], [faces] if faces is not None else None)[0]
