"""Translator: a loaded model that maps uint8 RGB frames to uint8 RGB frames (batching, padding, tiling, precision)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from translate.device import autocast, resolve_device, resolve_precision, speed_up
from translate.errors import UserError
from translate.weights.modelfile import LoadedModel, apply_inference_mode, load_model

IMAGE_TASKS = ("translate", "sr", "faces")


class Chain(nn.Module):
    """The nets of one direction applied in order (a faceswap direction is encoder -> decoder)."""

    def __init__(self, nets: list[nn.Module]):
        super().__init__()
        self.nets = nn.ModuleList(nets)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for net in self.nets:
            x = net(x)
        return x


def pick_direction(loaded: LoadedModel, direction: str | None) -> str:
    dirs = loaded.info.directions
    if not dirs:
        raise UserError(f"{loaded.path} has no translation direction (a {loaded.info.task} model?)")
    if direction is None:
        return "AtoB" if "AtoB" in dirs else next(iter(dirs))
    if len(dirs) == 1:
        raise UserError(f"--direction {direction}: this {loaded.info.method} model has one generator ({next(iter(dirs))}); drop --direction")
    if direction not in dirs:
        raise UserError(f"--direction {direction}: this model offers {', '.join(dirs)}")
    return direction


class Translator:
    def __init__(self, model: str | Path | LoadedModel, direction: str | None = None, device: str = "auto",
                 precision: str = "auto", batch_size: int = 4, tile: int = 0, tile_pad: int = 10,
                 tasks: tuple[str, ...] = IMAGE_TASKS, compile: bool = False):
        self.device = resolve_device(device)
        if not isinstance(model, LoadedModel):
            from translate.weights.resolve import resolve_model

            model = load_model(resolve_model(str(model), tasks), self.device)
        elif model.info.task not in tasks:
            raise UserError(f"{model.path}: a {model.info.task} model cannot be used here (needs {' or '.join(tasks)})")
        self.loaded = model
        self.info = model.info
        self.direction = pick_direction(model, direction)
        self.net = Chain([model.nets[n] for n in self.info.directions[self.direction]]).to(self.device)
        # 'reference-test' reproduces the reference's test.py without --eval: BN on batch stats, dropout on.
        apply_inference_mode(self.net, self.info.inference_mode)
        for p in self.net.parameters():
            p.requires_grad_(False)
        self.amp_dtype = resolve_precision(precision, self.device)
        self.compute = speed_up(self.net, self.device, precision, self.amp_dtype, compile)
        self.scale = int(self.info.scale)
        self.multiple = max(1, int(self.info.multiple))
        self.batch_size = max(1, batch_size)
        self.tile, self.tile_pad = tile, tile_pad
        self.lo, self.hi = self.info.value_range
        self.model_name = self.info.name or (Path(model.path).stem if model.path else "model")
        self.model_sha256 = model.sha256

    # -- tensors ------------------------------------------------------------------------------
    def _to_input(self, frames: np.ndarray) -> torch.Tensor:
        x = torch.from_numpy(np.ascontiguousarray(frames)).to(self.device, non_blocking=True)
        x = x.permute(0, 3, 1, 2).float()
        return x * ((self.hi - self.lo) / 255.0) + self.lo

    def _to_uint8(self, y: torch.Tensor) -> np.ndarray:
        y = ((y.float() - self.lo) * (255.0 / (self.hi - self.lo))).round_().clamp_(0, 255).to(torch.uint8)
        return y.permute(0, 2, 3, 1).cpu().numpy()

    def _forward_padded(self, x: torch.Tensor) -> torch.Tensor:
        """Pad H, W up to the net's multiple (reflect where possible), run, crop back (x scale)."""
        h, w = x.shape[-2:]
        ph, pw = (-h) % self.multiple, (-w) % self.multiple
        if ph or pw:
            mode = "reflect" if ph < h and pw < w else "replicate"
            x = F.pad(x, (0, pw, 0, ph), mode=mode)
        if self.device.type == "cuda":
            x = x.contiguous(memory_format=torch.channels_last)
        with autocast(self.device, self.amp_dtype):
            y = self.net(x)
        return y[..., : h * self.scale, : w * self.scale].float()

    def _forward_tiled(self, x: torch.Tensor) -> torch.Tensor:
        """Tiles of ``tile`` px with ``tile_pad`` px of context each side; only the centres are kept."""
        n, c, h, w = x.shape
        s, t, p = self.scale, self.tile, self.tile_pad
        out = None
        for y0 in range(0, h, t):
            for x0 in range(0, w, t):
                y1, x1 = min(y0 + t, h), min(x0 + t, w)
                py0, px0 = max(y0 - p, 0), max(x0 - p, 0)
                py1, px1 = min(y1 + p, h), min(x1 + p, w)
                piece = self._forward_padded(x[:, :, py0:py1, px0:px1])
                if out is None:
                    out = torch.empty((n, piece.shape[1], h * s, w * s), device=x.device, dtype=piece.dtype)
                out[:, :, y0 * s:y1 * s, x0 * s:x1 * s] = piece[:, :, (y0 - py0) * s:(y0 - py0 + y1 - y0) * s,
                                                                 (x0 - px0) * s:(x0 - px0 + x1 - x0) * s]
        return out

    @torch.inference_mode()
    def run_tensor(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) in the model's value range -> output in the same range."""
        if self.tile and max(x.shape[-2:]) > self.tile:
            return self._forward_tiled(x)
        return self._forward_padded(x)

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        """(N, H, W, 3) uint8 -> (N, H*scale, W*scale, 3) uint8, in batches of ``batch_size``."""
        if frames.ndim == 3:
            return self(frames[None])[0]
        if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
            raise ValueError(f"expected uint8 frames of shape (N, H, W, 3), got {frames.dtype} {frames.shape}")
        outs = []
        for i in range(0, len(frames), self.batch_size):
            with torch.inference_mode():
                outs.append(self._to_uint8(self.run_tensor(self._to_input(frames[i:i + self.batch_size]))))
        return np.concatenate(outs, 0) if outs else np.empty((0, frames.shape[1] * self.scale, frames.shape[2] * self.scale, 3), np.uint8)

    def output_size(self, width: int, height: int) -> tuple[int, int]:
        return width * self.scale, height * self.scale
