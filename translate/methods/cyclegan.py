"""CycleGAN (Zhu et al. 2017) as in the reference: two generators, two PatchGANs, cycle + identity losses."""
from __future__ import annotations

import itertools
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from translate.data.datasets import UnpairedDataset
from translate.data.sources import unpaired_paths
from translate.data.transforms import train_transform
from translate.losses import GANLoss, discriminator_loss
from translate.methods.base import DataConfig, Method
from translate.methods.gan_config import (
    GANConfig,
    adam,
    make_discriminator,
    make_generator,
)
from translate.methods.pool import ImagePool
from translate.weights.modelfile import ModelInfo


@dataclass
class CycleGANConfig(GANConfig):
    lambda_cycle: float = 10.0
    lambda_identity: float = 0.5


class CycleGAN(Method):
    """G_A: A -> B, G_B: B -> A; D_A judges domain B, D_B judges domain A (the reference's naming)."""

    name = "cyclegan"
    Config = CycleGANConfig

    def __init__(self, cfg: CycleGANConfig, device, amp_dtype=None, seed: int = 0):
        super().__init__(cfg, device, amp_dtype, seed)
        self.nets = {"G_A": make_generator(cfg), "G_B": make_generator(cfg),
                     "D_A": make_discriminator(cfg), "D_B": make_discriminator(cfg)}
        for net in self.nets.values():
            net.to(device).train()
        self.optimizers = {
            "G": adam(itertools.chain(self.nets["G_A"].parameters(), self.nets["G_B"].parameters()), cfg),
            "D": adam(itertools.chain(self.nets["D_A"].parameters(), self.nets["D_B"].parameters()), cfg),
        }
        self.gan = GANLoss(cfg.gan_mode)
        self.pool_A = ImagePool(cfg.pool_size, seed + 1)
        self.pool_B = ImagePool(cfg.pool_size, seed + 2)

    @staticmethod
    def build_dataset(data: DataConfig, seed: int):
        a, b, summary = unpaired_paths(data.a, data.b, data.data, data.size)
        t = train_transform(data.size, data.load_size, data.preprocess, data.flip)
        return UnpairedDataset(a, b, t, seed), summary

    def train_step(self, batch: dict) -> dict[str, torch.Tensor]:
        cfg, n = self.cfg, self.nets
        real_A, real_B = batch["A"].to(self.device, non_blocking=True), batch["B"].to(self.device, non_blocking=True)
        self.set_requires_grad([n["D_A"], n["D_B"]], False)
        with self.autocast():
            fake_B = n["G_A"](real_A)
            rec_A = n["G_B"](fake_B)
            fake_A = n["G_B"](real_B)
            rec_B = n["G_A"](fake_A)
            losses = {}
            if cfg.lambda_identity > 0:
                w = cfg.lambda_cycle * cfg.lambda_identity
                losses["idt_A"] = F.l1_loss(n["G_A"](real_B).float(), real_B) * w
                losses["idt_B"] = F.l1_loss(n["G_B"](real_A).float(), real_A) * w
            losses["G_A"] = self.gan(n["D_A"](fake_B), True, for_discriminator=False)
            losses["G_B"] = self.gan(n["D_B"](fake_A), True, for_discriminator=False)
            losses["cycle_A"] = F.l1_loss(rec_A.float(), real_A) * cfg.lambda_cycle
            losses["cycle_B"] = F.l1_loss(rec_B.float(), real_B) * cfg.lambda_cycle
            loss_G = sum(losses.values())
        self.step("G", loss_G)

        self.set_requires_grad([n["D_A"], n["D_B"]], True)
        fake_B_pool = self.pool_B.query(fake_B.detach().float())
        fake_A_pool = self.pool_A.query(fake_A.detach().float())
        with self.autocast():
            losses["D_A"] = discriminator_loss(self.gan, n["D_A"], real_B, fake_B_pool,
                                               n["D_A"](real_B), n["D_A"](fake_B_pool))
            losses["D_B"] = discriminator_loss(self.gan, n["D_B"], real_A, fake_A_pool,
                                               n["D_B"](real_A), n["D_B"](fake_A_pool))
        self.step("D", losses["D_A"] + losses["D_B"])
        return {k: v.detach() for k, v in losses.items()}

    @torch.no_grad()
    def sample_rows(self, batch: dict) -> list[torch.Tensor]:
        n = self.nets
        real_A, real_B = batch["A"].to(self.device), batch["B"].to(self.device)
        fake_B, fake_A = n["G_A"](real_A), n["G_B"](real_B)
        rows = []
        for i in range(real_A.size(0)):  # each row: input | translation | reconstruction
            rows.append(torch.stack([real_A[i], fake_B[i], n["G_B"](fake_B[i:i + 1])[0]]))
            rows.append(torch.stack([real_B[i], fake_A[i], n["G_A"](fake_A[i:i + 1])[0]]))
        return rows

    def export(self):
        info = ModelInfo(task="translate", method=self.name, nets={},
                         directions={"AtoB": ["G_A"], "BtoA": ["G_B"]},
                         multiple=getattr(self.nets["G_A"], "multiple", 1))
        return {"G_A": self.nets["G_A"], "G_B": self.nets["G_B"]}, info

    def extra_state(self) -> dict:
        return {"pool_A": self.pool_A.state_dict(), "pool_B": self.pool_B.state_dict()}

    def load_extra_state(self, state: dict) -> None:
        self.pool_A.load_state_dict(state["pool_A"], self.device)
        self.pool_B.load_state_dict(state["pool_B"], self.device)
