"""GAN objectives (vanilla, lsgan, hinge, wgangp + gradient penalty) and small pixel losses."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

GAN_MODES = ("vanilla", "lsgan", "hinge", "wgangp")


class GANLoss(nn.Module):
    """loss(prediction, target_is_real, for_discriminator). Predictions are raw logits / critic values."""

    def __init__(self, mode: str = "lsgan"):
        super().__init__()
        if mode not in GAN_MODES:
            raise ValueError(f"gan mode must be one of {GAN_MODES}, got {mode!r}")
        self.mode = mode

    def forward(self, pred: torch.Tensor, target_is_real: bool, for_discriminator: bool = True) -> torch.Tensor:
        pred = pred.float()  # losses in fp32 even under autocast
        if self.mode == "vanilla":
            target = torch.ones_like(pred) if target_is_real else torch.zeros_like(pred)
            return F.binary_cross_entropy_with_logits(pred, target)
        if self.mode == "lsgan":
            return F.mse_loss(pred, torch.full_like(pred, 1.0 if target_is_real else 0.0))
        if self.mode == "hinge":
            if not for_discriminator:
                return -pred.mean()
            return F.relu(1.0 - pred).mean() if target_is_real else F.relu(1.0 + pred).mean()
        return -pred.mean() if target_is_real else pred.mean()  # wgangp critic


def gradient_penalty(critic: nn.Module, real: torch.Tensor, fake: torch.Tensor, weight: float = 10.0) -> torch.Tensor:
    """WGAN-GP: (||grad D(x_hat)|| - 1)^2 on random interpolates of real and fake."""
    alpha = torch.rand(real.size(0), 1, 1, 1, device=real.device)
    x_hat = (alpha * real.detach() + (1 - alpha) * fake.detach()).requires_grad_(True)
    out = critic(x_hat)
    grad, = torch.autograd.grad(out.sum(), x_hat, create_graph=True)
    return weight * ((grad.flatten(1).norm(2, dim=1) - 1) ** 2).mean()


def discriminator_loss(gan: GANLoss, critic: nn.Module, real: torch.Tensor, fake: torch.Tensor,
                       pred_real: torch.Tensor, pred_fake: torch.Tensor) -> torch.Tensor:
    """The reference's D objective: mean of the real and fake terms (plus the penalty for wgangp)."""
    loss = 0.5 * (gan(pred_real, True) + gan(pred_fake, False))
    if gan.mode == "wgangp":
        loss = loss + gradient_penalty(critic, real, fake)
    return loss
