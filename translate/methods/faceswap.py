"""The classic face-swap autoencoder (the 2017 deepfakes model, faceswap's "Original" trainer).

One shared encoder, one decoder per identity. Each side is trained to rebuild its own aligned face crop from a
randomly warped copy (translate.data.faces): autoencoder A = decoder_A(encoder(.)), autoencoder B likewise, each
with its own Adam (5e-5, betas (0.5, 0.999)) over the shared encoder and its decoder, stepped A then B as the
original did. The loss is L1 weighted by a face mask: 1 inside the face, ``background_weight`` (0.1) outside,
so the decoders spend their capacity on the face while the rest of the crop stays plausible.
Converting A to B = decoder_B(encoder(A)). Crops are in [0, 1] (the decoders end in sigmoid).
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass

import torch

from translate.data.faces import FACE_RANGE, faceswap_dataset
from translate.errors import UserError
from translate.methods.base import DataConfig, Method
from translate.weights.modelfile import ModelInfo


@dataclass
class FaceSwapConfig:
    size: int = 64  # crop side: the encoder's dense layers fix it
    width: int = 64  # 64 is the original (convs 128..1024, dense 1024, decoder 256, 128, 64)
    centering: str | None = None  # the crops' framing; None: from alignments.json, else "face"
    lr: float = 5e-5
    beta1: float = 0.5
    beta2: float = 0.999
    background_weight: float = 0.1  # L1 weight outside the face mask (1 inside)


def masked_l1(output: torch.Tensor, target: torch.Tensor, mask: torch.Tensor, background: float) -> torch.Tensor:
    """Mean |output - target| with per-pixel weights mask + background * (1 - mask)."""
    w = mask + background * (1.0 - mask)
    return ((output.float() - target).abs() * w).sum() / (w.sum() * output.shape[1]).clamp_min(1e-8)


class FaceSwap(Method):
    name = "faceswap"
    task = "faces"
    value_range = FACE_RANGE
    Config = FaceSwapConfig

    def __init__(self, cfg: FaceSwapConfig, device, amp_dtype=None, seed: int = 0):
        super().__init__(cfg, device, amp_dtype, seed)
        from translate.nets import build_net

        if cfg.size < 16 or cfg.size % 16:
            raise UserError(f"--size {cfg.size}: the face-swap autoencoder needs a multiple of 16 (64 is the original)")
        if not 0.0 <= cfg.background_weight <= 1.0:
            raise UserError(f"background weight {cfg.background_weight} must be in [0, 1]")
        self.nets = {"encoder": build_net("faceswap_encoder", input_size=cfg.size, width=cfg.width),
                     "decoder_A": build_net("faceswap_decoder", input_size=cfg.size, width=cfg.width),
                     "decoder_B": build_net("faceswap_decoder", input_size=cfg.size, width=cfg.width)}
        for net in self.nets.values():
            net.to(device).train()
        n = self.nets
        # fused: one pass over each tensor instead of a dozen; the same update to float rounding, and on CPU the
        # encoder's 69M parameters made the unfused step ~15% of a training step (scripts/bench/train.py)
        kw = dict(lr=cfg.lr, betas=(cfg.beta1, cfg.beta2), fused=torch.device(device).type in ("cpu", "cuda"))
        self.optimizers = {
            "A": torch.optim.Adam(itertools.chain(n["encoder"].parameters(), n["decoder_A"].parameters()), **kw),
            "B": torch.optim.Adam(itertools.chain(n["encoder"].parameters(), n["decoder_B"].parameters()), **kw),
        }

    @staticmethod
    def build_dataset(data: DataConfig, seed: int):
        return faceswap_dataset(data.a, data.b, data.size, data.centering, seed, flip=data.flip)

    def _side(self, batch: dict, side: str) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        dev = self.device
        return (batch[side].to(dev, non_blocking=True), batch[f"{side}_target"].to(dev, non_blocking=True),
                batch[f"{side}_mask"].to(dev, non_blocking=True))

    def train_step(self, batch: dict) -> dict[str, torch.Tensor]:
        n, bg = self.nets, self.cfg.background_weight
        losses = {}
        for side in ("A", "B"):
            warped, target, mask = self._side(batch, side)
            with self.autocast():
                rebuilt = n[f"decoder_{side}"](n["encoder"](warped))
            loss = masked_l1(rebuilt, target, mask, bg)
            self.step(side, loss)
            losses[f"rec_{side}"] = loss.detach()
            losses[f"l1_{side}"] = (rebuilt.detach().float() - target).abs().mean()
        return losses

    @torch.no_grad()
    def sample_rows(self, batch: dict) -> list[torch.Tensor]:
        """Per face: warped input | target | own decoder | the other identity's decoder (the swap)."""
        n = self.nets
        rows = []
        for side, other in (("A", "B"), ("B", "A")):
            warped, target, _ = self._side(batch, side)
            z = n["encoder"](target)
            own, swap = n[f"decoder_{side}"](z), n[f"decoder_{other}"](z)
            rows += [torch.stack([warped[i], target[i], own[i], swap[i]]) for i in range(warped.size(0))]
        return rows

    def export(self):
        cfg = self.cfg
        info = ModelInfo(task="faces", method=self.name, nets={},
                         directions={"AtoB": ["encoder", "decoder_B"], "BtoA": ["encoder", "decoder_A"]},
                         value_range=list(FACE_RANGE), multiple=16,
                         extra={"crop_size": cfg.size, "centering": cfg.centering or "face"})
        return {k: self.nets[k] for k in ("encoder", "decoder_A", "decoder_B")}, info
