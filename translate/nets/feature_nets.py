"""Frozen feature networks with released weights (FID Inception, ST-LPIPS, VGG16-HED, EfficientNet-Lite0).

They are built by ``build_net`` like every other net, so their converted files are self-describing model
files (``task = "features"``); translate.weights.feature_files loads them by manifest name.
"""
from __future__ import annotations

from collections.abc import Callable

from torch import nn

from translate.nets.efficientnet import EfficientNetLite0
from translate.nets.hed import VGG16HED
from translate.nets.inception import FIDInception
from translate.nets.lpips import STLPIPS

FEATURE_NETS: dict[str, Callable[..., nn.Module]] = {
    "fid_inception": FIDInception,
    "st_lpips_vgg": STLPIPS,
    "vgg16_hed": VGG16HED,
    "efficientnet_lite0": EfficientNetLite0,
}
