"""DiscoGAN (Kim et al. 2017) as the paper's code: two encoder-decoder generators, two discriminators that
expose features, and per direction (gan * 0.1 + feature_matching * 0.9) * (1 - rate) + reconstruction * rate.

``rate`` (the weight of the reconstruction) is ``starting_rate`` 0.01 for the first ``rate_switch_step``
(10,000) iterations and ``default_rate`` 0.5 after, the original's curriculum. Reconstruction is MSE;
feature matching is the squared difference of the batch means of the discriminator's intermediate
features (real vs generated), summed over layers. As in the original code the discriminators are updated
on every ``update_interval``-th iteration (3) and the generators on the others. The iteration count is
the method's own and is saved with the checkpoint, so resume keeps the curriculum and the alternation.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from translate.data.datasets import UnpairedDataset
from translate.data.sources import unpaired_paths
from translate.data.transforms import train_transform
from translate.errors import UserError
from translate.losses import GANLoss
from translate.methods.base import DataConfig, Method
from translate.weights.modelfile import ModelInfo

MIN_SIZE = 64  # the discriminator's last conv4 (valid) needs 4x4 features after four stride-2 convs


@dataclass
class DiscoGANConfig:
    ngf: int = 64
    ndf: int = 64
    lr: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    weight_decay: float = 1e-5
    starting_rate: float = 0.01
    default_rate: float = 0.5
    rate_switch_step: int = 10_000
    gan_weight: float = 0.1
    fm_weight: float = 0.9
    update_interval: int = 3


def feature_matching(real: list[torch.Tensor], fake: list[torch.Tensor]) -> torch.Tensor:
    """Sum over layers of the mean squared difference between the batch-mean features of real and fake."""
    return sum(((r.float().mean(0) - f.float().mean(0)) ** 2).mean() for r, f in zip(real, fake))


class DiscoGAN(Method):
    """G_AB: A -> B, G_BA: B -> A; D_A judges domain A (real A vs G_BA(B)), D_B judges domain B."""

    name = "discogan"
    Config = DiscoGANConfig

    def __init__(self, cfg: DiscoGANConfig, device, amp_dtype=None, seed: int = 0):
        super().__init__(cfg, device, amp_dtype, seed)
        from translate.nets import build_discriminator, build_generator

        if cfg.update_interval < 2:
            raise UserError("--update-interval must be at least 2 (one discriminator step every N iterations)")
        self.nets = {"G_AB": build_generator("discogan", ngf=cfg.ngf), "G_BA": build_generator("discogan", ngf=cfg.ngf),
                     "D_A": WithFeatures(build_discriminator("discogan_d", ndf=cfg.ndf)),
                     "D_B": WithFeatures(build_discriminator("discogan_d", ndf=cfg.ndf))}
        for net in self.nets.values():
            net.to(device).train()
        kw = dict(lr=cfg.lr, betas=(cfg.beta1, cfg.beta2), weight_decay=cfg.weight_decay)
        n = self.nets
        self.optimizers = {
            "G": torch.optim.Adam(itertools.chain(n["G_AB"].parameters(), n["G_BA"].parameters()), **kw),
            "D": torch.optim.Adam(itertools.chain(n["D_A"].parameters(), n["D_B"].parameters()), **kw),
        }
        self.gan = GANLoss("vanilla")  # the original's BCE on sigmoid outputs, here on logits
        self.iters = 0

    @staticmethod
    def build_dataset(data: DataConfig, seed: int):
        if data.size < MIN_SIZE:
            raise UserError(f"--size {data.size}: DiscoGAN's discriminator needs at least {MIN_SIZE} px")
        a, b, summary = unpaired_paths(data.a, data.b, data.data, data.size)
        t = train_transform(data.size, data.load_size, data.preprocess, data.flip)
        return UnpairedDataset(a, b, t, seed), summary

    def rate(self) -> float:
        return self.cfg.starting_rate if self.iters < self.cfg.rate_switch_step else self.cfg.default_rate

    def train_step(self, batch: dict) -> dict[str, torch.Tensor]:
        cfg, n = self.cfg, self.nets
        real_A, real_B = batch["A"].to(self.device, non_blocking=True), batch["B"].to(self.device, non_blocking=True)
        d_turn = self.iters % cfg.update_interval == 0
        rate = self.rate()
        discs = [n["D_A"], n["D_B"]]
        self.set_requires_grad(discs, d_turn)
        with torch.set_grad_enabled(not d_turn), self.autocast():
            fake_B = n["G_AB"](real_A)
            fake_A = n["G_BA"](real_B)
            recon_A = F.mse_loss(n["G_BA"](fake_B).float(), real_A)
            recon_B = F.mse_loss(n["G_AB"](fake_A).float(), real_B)
        with self.autocast():
            logit_real_A, feats_real_A = n["D_A"](real_A)
            logit_fake_A, feats_fake_A = n["D_A"](fake_A)
            logit_real_B, feats_real_B = n["D_B"](real_B)
            logit_fake_B, feats_fake_B = n["D_B"](fake_B)
            d_A = 0.5 * (self.gan(logit_real_A, True) + self.gan(logit_fake_A, False))
            d_B = 0.5 * (self.gan(logit_real_B, True) + self.gan(logit_fake_B, False))
            adv_A = self.gan(logit_fake_A, True, for_discriminator=False)  # G_BA fools D_A
            adv_B = self.gan(logit_fake_B, True, for_discriminator=False)  # G_AB fools D_B
            fm_A = feature_matching(feats_real_A, feats_fake_A)
            fm_B = feature_matching(feats_real_B, feats_fake_B)
            # The original's per-direction totals: B's GAN terms with A's reconstruction, and vice versa.
            total_A = (adv_B * cfg.gan_weight + fm_B * cfg.fm_weight) * (1 - rate) + recon_A * rate
            total_B = (adv_A * cfg.gan_weight + fm_A * cfg.fm_weight) * (1 - rate) + recon_B * rate
        if d_turn:
            self.step("D", d_A + d_B)
        else:
            self.step("G", total_A + total_B)
        self.iters += 1
        losses = {"recon_A": recon_A, "recon_B": recon_B, "G_adv_A": adv_A, "G_adv_B": adv_B, "fm_A": fm_A, "fm_B": fm_B,
                  "D_A": d_A, "D_B": d_B}
        out = {k: v.detach().float() for k, v in losses.items()}
        out["rate"] = torch.tensor(rate, device=self.device)
        return out

    @torch.no_grad()
    def sample_rows(self, batch: dict) -> list[torch.Tensor]:
        n = self.nets
        real_A, real_B = batch["A"].to(self.device), batch["B"].to(self.device)
        fake_B, fake_A = n["G_AB"](real_A), n["G_BA"](real_B)
        rec_A, rec_B = n["G_BA"](fake_B), n["G_AB"](fake_A)
        rows = []
        for i in range(real_A.size(0)):  # each row: input | translation | reconstruction
            rows.append(torch.stack([real_A[i], fake_B[i], rec_A[i]]))
            rows.append(torch.stack([real_B[i], fake_A[i], rec_B[i]]))
        return rows

    def export(self):
        info = ModelInfo(task="translate", method=self.name, nets={}, directions={"AtoB": ["G_AB"], "BtoA": ["G_BA"]},
                         multiple=getattr(self.nets["G_AB"], "multiple", 16))
        return {"G_AB": self.nets["G_AB"], "G_BA": self.nets["G_BA"]}, info

    def extra_state(self) -> dict:
        return {"iters": self.iters}

    def load_extra_state(self, state: dict) -> None:
        self.iters = int(state.get("iters", 0))


class WithFeatures(nn.Module):
    """A DiscoGAN discriminator whose forward returns (logits, features): the call goes through forward, so
    DistributedDataParallel (which wraps the net in method.nets) syncs the gradients of the feature path too."""

    def __init__(self, d: nn.Module):
        super().__init__()
        self.d = d
        self.multiple = getattr(d, "multiple", 1)
        self._translate_spec = d._translate_spec

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        return self.d.forward_features(x)
