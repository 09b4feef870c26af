"""VGG19 content loss (SRGAN's perceptual loss) on torchvision's ImageNet VGG19.

Layers are named as in the papers: ``convI_J`` is the J-th convolution of block I before its ReLU,
``reluI_J`` after it. ``vgg54`` (the SRGAN paper's default, "after activation") is ``relu5_4``; ESRGAN uses
``conv5_4`` (before activation). Inputs are images in [0, 1], normalised with ImageNet's mean and std as
torchvision's VGG expects. The loss is the MSE of the feature maps rescaled by ``feature_scale`` (the
paper's 1/12.75, i.e. the MSE divided by 12.75^2 = 162.6).

The weights are never downloaded at training time: they are looked up with ``find_weight_file`` in the
weight folders and the torch hub cache, and a missing file is one UserError naming it, its URL and where
to put it.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from translate.errors import UserError

VGG19_FILE = "vgg19-dcbb9e9d.pth"
VGG19_URL = "https://download.pytorch.org/models/vgg19-dcbb9e9d.pth"
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
PAPER_FEATURE_SCALE = 1.0 / 12.75
ALIASES = {"vgg54": "relu5_4", "vgg22": "relu2_2"}
# torchvision's vgg19 "E" configuration: convolutions per block.
_BLOCKS = (2, 2, 4, 4, 4)


def layer_indices() -> dict[str, int]:
    """Layer name -> index in torchvision's ``vgg19().features`` (conv1_1 = 0, relu1_1 = 1, pool1 = 4, ...)."""
    names: dict[str, int] = {}
    i = 0
    for block, n in enumerate(_BLOCKS, start=1):
        for j in range(1, n + 1):
            names[f"conv{block}_{j}"] = i
            names[f"relu{block}_{j}"] = i + 1
            i += 2
        names[f"pool{block}"] = i
        i += 1
    return names


def resolve_layer(name: str) -> tuple[str, int]:
    """(canonical name, features index) of ``name``; ValueError listing the valid names."""
    key = ALIASES.get(name.lower(), name.lower())
    indices = layer_indices()
    if key not in indices:
        raise ValueError(f"unknown VGG19 layer {name!r}; use vgg54, vgg22 or one of convI_J / reluI_J / poolI "
                         f"(e.g. relu5_4, conv5_4)")
    return key, indices[key]


def missing_weights_message() -> str:
    from translate.weights.manifest import hub_checkpoints_dir, user_cache_dir

    return (f"the VGG19 content loss needs {VGG19_FILE}, which is not on this machine: download {VGG19_URL} and "
            f"save it in {hub_checkpoints_dir()} (or in {user_cache_dir()} or a folder named by $TRANSLATE_WEIGHTS), "
            f"or train without it with --content-loss pixel")


def vgg19_features(layer: str, device: torch.device | str = "cpu") -> nn.Sequential:
    """torchvision's VGG19 ``features`` up to and including ``layer``, ImageNet weights, frozen, eval mode."""
    from torchvision.models import vgg19

    from translate.weights.manifest import find_weight_file

    _, index = resolve_layer(layer)
    path = find_weight_file(VGG19_FILE)
    if path is None:
        raise UserError(missing_weights_message())
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # truncated download, wrong file
        raise UserError(f"cannot load {path} ({e}); download {VGG19_URL} again") from None
    net = vgg19(weights=None)
    net.load_state_dict(state)
    features = net.features[: index + 1]
    for m in features.modules():  # in-place ReLUs would overwrite a conv output taken "before activation"
        if isinstance(m, nn.ReLU):
            m.inplace = False
    features.eval().requires_grad_(False)
    return features.to(device)


class ContentLoss(nn.Module):
    """MSE between VGG19 features of ``sr`` and ``hr`` (both in [0, 1]), features scaled by ``feature_scale``."""

    def __init__(self, layer: str = "vgg54", feature_scale: float = PAPER_FEATURE_SCALE,
                 device: torch.device | str = "cpu", features: nn.Module | None = None):
        super().__init__()
        self.layer = resolve_layer(layer)[0]
        self.feature_scale = feature_scale
        self.features = features if features is not None else vgg19_features(layer, device)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN, device=device).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(IMAGENET_STD, device=device).view(1, 3, 1, 1))

    def train(self, mode: bool = True) -> "ContentLoss":
        super().train(mode)
        self.features.eval()  # always frozen
        return self

    def feats(self, x: torch.Tensor) -> torch.Tensor:
        return self.features((x - self.mean) / self.std) * self.feature_scale

    def forward(self, sr: torch.Tensor, hr: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            target = self.feats(hr.float())
        return F.mse_loss(self.feats(sr).float(), target.float())
