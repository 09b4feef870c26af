"""EfficientNet-Lite0 (Tan & Le 2019, the "lite" variant for mobile/edge): an ImageNet classifier and backbone.

Lite is EfficientNet-B0 without squeeze-and-excitation, with ReLU6 for swish, and the stem (32) and head
(1280) widths kept fixed. Layout and key names follow lukemelas' EfficientNet-PyTorch (``_conv_stem``,
``_blocks.N._expand_conv`` / ``_depthwise_conv`` / ``_project_conv``, ``_bn0..2``, ``_conv_head``, ``_fc``), so
the released weights load by key; convs are padded like TensorFlow's "same" (as lukemelas' static-same
convs), BN eps 1e-3. Input: RGB in [0, 1], normalised inside (``preprocess``); ``features`` is the 1280-d
pooled embedding, ``forward`` the 1000 ImageNet logits.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from translate.nets.sr import TFSameConv2d

# (repeats, kernel, stride, expand ratio, in, out) of EfficientNet-B0's seven stages (Lite0: width/depth 1.0)
LITE0_STAGES = ((1, 3, 1, 1, 32, 16), (2, 3, 2, 6, 16, 24), (2, 5, 2, 6, 24, 40), (3, 3, 2, 6, 40, 80),
                (3, 5, 1, 6, 80, 112), (4, 5, 2, 6, 112, 192), (1, 3, 1, 6, 192, 320))
BN_EPS = 1e-3
# The TF Lite models were trained on (pixel - 127) / 128 (EfficientNet-Lite's MEAN_RGB / STDDEV_RGB).
LITE_MEAN, LITE_STD = 127.0 / 255.0, 128.0 / 255.0


def _bn(c: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(c, eps=BN_EPS, momentum=0.01)


class MBConvLite(nn.Module):
    """Inverted residual without SE: [1x1 expand, BN, ReLU6], depthwise kxk, BN, ReLU6, 1x1 project, BN, (+x)."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int, expand: int):
        super().__init__()
        mid = cin * expand
        self.expand = expand != 1
        if self.expand:
            self._expand_conv = TFSameConv2d(cin, mid, 1, bias=False)
            self._bn0 = _bn(mid)
        self._depthwise_conv = TFSameConv2d(mid, mid, kernel, stride=stride, groups=mid, bias=False)
        self._bn1 = _bn(mid)
        self._project_conv = TFSameConv2d(mid, cout, 1, bias=False)
        self._bn2 = _bn(cout)
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu6(self._bn0(self._expand_conv(x))) if self.expand else x
        y = F.relu6(self._bn1(self._depthwise_conv(y)))
        y = self._bn2(self._project_conv(y))
        return x + y if self.residual else y


class EfficientNetLite0(nn.Module):
    def __init__(self, num_classes: int = 1000, dropout: float = 0.2):
        super().__init__()
        self._conv_stem = TFSameConv2d(3, 32, 3, stride=2, bias=False)
        self._bn0 = _bn(32)
        blocks = []
        for repeats, k, s, e, cin, cout in LITE0_STAGES:
            for i in range(repeats):
                blocks.append(MBConvLite(cin if i == 0 else cout, cout, k, s if i == 0 else 1, e))
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = TFSameConv2d(320, 1280, 1, bias=False)
        self._bn1 = _bn(1280)
        self._dropout = nn.Dropout(dropout)
        self._fc = nn.Linear(1280, num_classes)

    @staticmethod
    def preprocess(images: torch.Tensor) -> torch.Tensor:
        """RGB [0, 1] -> the network's input range."""
        return (images - LITE_MEAN) / LITE_STD

    def stem(self, x: torch.Tensor) -> torch.Tensor:
        """The stem conv, BN and ReLU6 of RGB [0, 1] images."""
        return F.relu6(self._bn0(self._conv_stem(self.preprocess(x))))

    def blocks(self, x: torch.Tensor, start: int = 0, stop: int | None = None) -> torch.Tensor:
        """Blocks ``start``..``stop - 1`` on a map (the stem's, for ``start`` 0)."""
        for block in self._blocks[start:stop]:
            x = block(x)
        return x

    def pooled(self, x: torch.Tensor) -> torch.Tensor:
        """conv_head, BN, ReLU6 and global average pooling of the last block's map: (N, 1280)."""
        return F.relu6(self._bn1(self._conv_head(x))).mean((2, 3))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 1280) pooled embedding of RGB [0, 1] images (224 px is the training size)."""
        return self.pooled(self.blocks(self.stem(x)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 1000) ImageNet logits of RGB [0, 1] images."""
        return self._fc(self._dropout(self.features(x)))


N_BLOCKS = sum(stage[0] for stage in LITE0_STAGES)  # 16
# First block of each stage (stage 1 starts at block 0): tune_from=STAGE_STARTS[5] fine-tunes stages 6 and 7.
STAGE_STARTS = tuple(sum(stage[0] for stage in LITE0_STAGES[:i]) for i in range(len(LITE0_STAGES)))


class Lite0Detector(nn.Module):
    """EfficientNet-Lite0 as a real/generated detector: RGB (N, 3, H, W) in [-1, 1] -> one logit (N,).

    The ImageNet net with a 1-logit ``_fc``. ``trunk`` (stem + blocks below ``tune_from``) stays as released
    and ``tail`` (blocks from ``tune_from``, conv_head, the new fc) is what translate.detect.finetune trains
    on the trunk's cached maps; ``forward`` is the two in a row, so a model file scores pixels directly.
    Any H, W (TensorFlow "same" padding), 224 px being ImageNet's size.
    """

    uses_gan_init = False  # ImageNet weights are loaded over it; the new fc keeps PyTorch's default init

    def __init__(self, tune_from: int = STAGE_STARTS[5], dropout: float = 0.2):
        super().__init__()
        if not 0 <= tune_from <= N_BLOCKS:
            raise ValueError(f"tune_from must be a block index in [0, {N_BLOCKS}], got {tune_from}")
        self.multiple = 1
        self.tune_from = tune_from
        self.net = EfficientNetLite0(num_classes=1, dropout=dropout)

    def trunk(self, x: torch.Tensor) -> torch.Tensor:
        """The frozen part's map of [-1, 1] images (the stem's output for ``tune_from`` 0: the stem stays frozen)."""
        return self.net.blocks(self.net.stem((x + 1.0) * 0.5), 0, self.tune_from)

    def tail_modules(self) -> list[nn.Module]:
        """What fine-tuning trains."""
        return [*self.net._blocks[self.tune_from:], self.net._conv_head, self.net._bn1, self.net._fc]

    def tail(self, maps: torch.Tensor) -> torch.Tensor:
        """Logits (N,) from the trunk's maps."""
        x = self.net.blocks(maps, self.tune_from)
        return self.net._fc(self.net._dropout(self.net.pooled(x))).squeeze(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.tail(self.trunk(x))


DISCRIMINATORS = {"efficientnet-lite0-detector": Lite0Detector}
