"""Options shared by the GAN methods (reference defaults)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class GANConfig:
    netG: str = "resnet_9blocks"
    ngf: int = 64
    netD: str = "basic"
    n_layers_d: int = 3
    ndf: int = 64
    norm: str = "instance"
    dropout: bool = False
    upsample: str = "transpose"
    gan_mode: str = "lsgan"
    lr: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    pool_size: int = 50


def make_generator(cfg: GANConfig, input_nc: int = 3, output_nc: int = 3):
    from translate.nets import build_generator

    kw = dict(input_nc=input_nc, output_nc=output_nc, ngf=cfg.ngf, norm=cfg.norm, use_dropout=cfg.dropout)
    if cfg.netG.startswith("resnet"):
        kw["upsample"] = cfg.upsample
    return _user_facing(build_generator, "--netG", cfg.netG, kw)


def make_discriminator(cfg: GANConfig, input_nc: int = 3):
    from translate.nets import build_discriminator

    kw = dict(input_nc=input_nc, ndf=cfg.ndf, norm=cfg.norm)
    if cfg.netD == "n_layers":
        kw["n_layers"] = cfg.n_layers_d
    return _user_facing(build_discriminator, "--netD", cfg.netD, kw)


def _user_facing(build, option: str, name: str, kw: dict):
    """A wrong architecture name or size is the user's to fix: one line, not a traceback."""
    from translate.errors import UserError

    try:
        return build(name, **kw)
    except (ValueError, TypeError) as e:
        raise UserError(f"{option} {name}: {e}") from None


def adam(params, cfg: GANConfig):
    import torch

    return torch.optim.Adam(params, lr=cfg.lr, betas=(cfg.beta1, cfg.beta2))
