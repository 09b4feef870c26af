"""Precision choices keep quality: bf16 autocast and the CPU Winograd path against plain fp32 outputs."""
from __future__ import annotations

import numpy as np
import pytest
import skimage.data
import torch

from translate.device import cpu_supports_bf16
from translate.infer import Translator
from translate.eval.metrics import psnr
from translate.nets import build_generator
from translate.weights.modelfile import ModelInfo, save_model

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def photo(size: int) -> np.ndarray:
    return np.ascontiguousarray(skimage.data.chelsea()[50:50 + size, 150:150 + size])


def test_bf16_autocast_keeps_the_bundled_upscalers_output(monkeypatch, tmp_path):
    """bf16 (what auto picks on GPUs and bf16 CPUs) vs fp32 on a trained model: far above visible error."""
    monkeypatch.setenv("TRANSLATE_WEIGHTS", str(tmp_path / "none"))
    x = photo(48)[None]
    fp32 = Translator("srgan-tiny", device="cpu", precision="fp32")(x)
    bf16 = Translator("srgan-tiny", device="cpu", precision="bf16")(x)
    assert fp32.shape == bf16.shape == (1, 192, 192, 3)
    assert psnr(bf16[0], fp32[0]) > 40


def test_auto_on_cpu_is_fp32_with_winograd_and_matches_plain_fp32(tmp_path):
    torch.manual_seed(0)
    path = save_model(tmp_path / "g.safetensors", {"G": build_generator("resnet_6blocks", ngf=32)},
                      ModelInfo("translate", "cyclegan", {}, {"AtoB": ["G"]}, multiple=4))
    x = photo(64)[None]
    plain = Translator(path, device="cpu", precision="fp32")
    auto = Translator(path, device="cpu", precision="auto")
    assert plain.compute == "fp32"
    if cpu_supports_bf16():
        pytest.skip("this CPU has native bf16: auto is bf16 here")
    assert auto.compute == "fp32+winograd"
    a, b = auto(x).astype(int), plain(x).astype(int)
    assert np.abs(a - b).max() <= 1 and (a != b).mean() < 0.01  # at most rounding of a few pixels


@pytest.mark.gpu
def test_cuda_amp_keeps_output_quality(tmp_path):
    torch.manual_seed(0)
    path = save_model(tmp_path / "g.safetensors", {"G": build_generator("resnet_9blocks")},
                      ModelInfo("translate", "cyclegan", {}, {"AtoB": ["G"]}, multiple=4))
    x = photo(256)[None]
    fp32 = Translator(path, device="cuda", precision="fp32")(x)
    auto = Translator(path, device="cuda", precision="auto")
    assert "channels_last" in auto.compute and auto.amp_dtype in (torch.bfloat16, torch.float16)
    assert psnr(auto(x)[0], fp32[0]) > 35
