"""What every training method provides to the shared loop in training.py."""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.utils.data import Dataset

from translate.device import autocast
from translate.errors import UserError
from translate.weights.modelfile import ModelInfo


@dataclass
class DataConfig:
    """Where the images are and how they are cropped; shared by all image-to-image methods."""

    a: str | None = None
    b: str | None = None
    data: str | None = None
    size: int = 256
    load_size: int = 286
    preprocess: str = "resize_and_crop"
    flip: bool = True
    direction: str = "AtoB"
    scale: int = 1  # super-resolution: LR inputs are made by downscaling the crop by this factor
    degrade: bool = False  # super-resolution: random blur / noise / JPEG on the LR inputs
    val_split: float = 0.0  # fraction of the data held out for validation (methods with build_validation)
    centering: str | None = None  # face crops: legacy | face | head (None: from alignments.json, else face)


class Method:
    """A method owns its nets, losses and optimizers and does one optimisation step per batch.

    Subclasses set ``nets`` (every module whose state is checkpointed) and ``optimizers``, and
    implement ``train_step``, ``sample_rows`` and ``export``.
    """

    name = "method"
    task = "translate"
    value_range = (-1.0, 1.0)

    def __init__(self, cfg, device: torch.device, amp_dtype: torch.dtype | None = None, seed: int = 0):
        self.cfg, self.device, self.amp_dtype, self.seed = cfg, device, amp_dtype, seed
        self.nets: dict[str, nn.Module] = {}
        self.optimizers: dict[str, torch.optim.Optimizer] = {}
        # fp16 needs loss scaling; bf16 and fp32 do not.
        self.scaler = torch.amp.GradScaler(device.type, enabled=amp_dtype == torch.float16)

    # -- provided to subclasses -------------------------------------------------------------
    def autocast(self):
        return autocast(self.device, self.amp_dtype)

    def step(self, optimizer_name: str, loss: torch.Tensor) -> None:
        """Backward and step one optimizer (grad scaling when fp16)."""
        opt = self.optimizers[optimizer_name]
        opt.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.step(opt)
        self.scaler.update()

    @staticmethod
    def set_requires_grad(nets: list[nn.Module], flag: bool) -> None:
        for net in nets:
            for p in net.parameters():
                p.requires_grad_(flag)

    def check_size(self, net: nn.Module, size: int, option: str = "--size") -> None:
        multiple = getattr(net, "multiple", 1)
        if size % multiple:
            raise UserError(f"{option} {size} must be a multiple of {multiple} for this generator; use e.g. {max(multiple, size // multiple * multiple)}")

    # -- implemented by subclasses ----------------------------------------------------------
    @staticmethod
    def build_dataset(data: DataConfig, seed: int) -> tuple[Dataset, str]:
        raise NotImplementedError

    @staticmethod
    def build_validation(data: DataConfig, seed: int) -> Dataset | None:
        """A held-out dataset the loop hands to ``validate`` at every export. Default: none."""
        return None

    def validate(self, dataset: Dataset) -> dict:
        """Facts measured on ``build_validation``'s dataset at export (metrics, calibration); the loop
        merges them into ModelInfo.extra and prints the scalars of facts["validation"]. Default: nothing."""
        return {}

    def train_step(self, batch: dict) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    @torch.no_grad()
    def sample_rows(self, batch: dict) -> list[torch.Tensor]:
        """Rows of images (N, 3, H, W) in value_range for the samples grid."""
        raise NotImplementedError

    def export(self) -> tuple[dict[str, nn.Module], ModelInfo]:
        raise NotImplementedError

    def extra_state(self) -> dict:
        return {}

    def load_extra_state(self, state: dict) -> None:
        pass

    def lr_scale(self, step: int) -> dict[str, float]:
        """Per-optimizer multiplier on top of the loop's schedule (e.g. SRGAN's phases). Default: none."""
        return {}
