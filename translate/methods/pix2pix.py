"""Pix2Pix (Isola et al. 2017) as in the reference: U-Net generator, PatchGAN conditioned on the input, L1 x 100."""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from translate.data.datasets import PairedDataset
from translate.data.sources import paired_items
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
class Pix2PixConfig(GANConfig):
    netG: str = "unet_256"
    norm: str = "batch"
    dropout: bool = True
    gan_mode: str = "vanilla"
    pool_size: int = 0
    lambda_l1: float = 100.0


class Pix2Pix(Method):
    name = "pix2pix"
    Config = Pix2PixConfig

    def __init__(self, cfg: Pix2PixConfig, device, amp_dtype=None, seed: int = 0):
        super().__init__(cfg, device, amp_dtype, seed)
        self.nets = {"G": make_generator(cfg), "D": make_discriminator(cfg, input_nc=6)}
        for net in self.nets.values():
            net.to(device).train()
        self.optimizers = {"G": adam(self.nets["G"].parameters(), cfg), "D": adam(self.nets["D"].parameters(), cfg)}
        self.gan = GANLoss(cfg.gan_mode)
        self.pool = ImagePool(cfg.pool_size, seed + 1)

    @staticmethod
    def build_dataset(data: DataConfig, seed: int):
        items, summary = paired_items(data.data, data.a, data.b, data.size)
        t = train_transform(data.size, data.load_size, data.preprocess, data.flip, paired=True)
        return PairedDataset(items, t, seed, data.direction), summary

    def train_step(self, batch: dict) -> dict[str, torch.Tensor]:
        G, D = self.nets["G"], self.nets["D"]
        real_A, real_B = batch["A"].to(self.device, non_blocking=True), batch["B"].to(self.device, non_blocking=True)
        with self.autocast():
            fake_B = G(real_A)
        # D first, as the reference: fake pairs (optionally from the pool) against real pairs.
        self.set_requires_grad([D], True)
        fake_AB = self.pool.query(torch.cat([real_A, fake_B.float()], 1).detach())
        real_AB = torch.cat([real_A, real_B], 1)
        with self.autocast():
            loss_D = discriminator_loss(self.gan, D, real_AB, fake_AB, D(real_AB), D(fake_AB))
        self.step("D", loss_D)
        self.set_requires_grad([D], False)
        with self.autocast():
            loss_G_GAN = self.gan(D(torch.cat([real_A, fake_B], 1)), True, for_discriminator=False)
            loss_G_L1 = F.l1_loss(fake_B.float(), real_B) * self.cfg.lambda_l1
        self.step("G", loss_G_GAN + loss_G_L1)
        return {"G_GAN": loss_G_GAN.detach(), "G_L1": loss_G_L1.detach(), "D": loss_D.detach()}

    @torch.no_grad()
    def sample_rows(self, batch: dict) -> list[torch.Tensor]:
        real_A, real_B = batch["A"].to(self.device), batch["B"].to(self.device)
        fake_B = self.nets["G"](real_A)
        return [torch.stack([real_A[i], fake_B[i], real_B[i]]) for i in range(real_A.size(0))]  # input | output | target

    def export(self):
        info = ModelInfo(task="translate", method=self.name, nets={}, directions={"AtoB": ["G"]},
                         multiple=getattr(self.nets["G"], "multiple", 1))
        return {"G": self.nets["G"]}, info

    def extra_state(self) -> dict:
        return {"pool": self.pool.state_dict()}

    def load_extra_state(self, state: dict) -> None:
        self.pool.load_state_dict(state["pool"], self.device)
