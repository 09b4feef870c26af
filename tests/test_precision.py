"""Precision choices keep quality: bf16 autocast and the CPU Winograd path against plain fp32 outputs."""
from __future__ import annotations

import numpy as np
import pytest
import skimage.data
import torch

from synthetic import images, write_images

from translate.device import cpu_has_native_bf16, cpu_supports_bf16, resolve_precision
from translate.errors import UserError
from translate.eval.metrics import psnr
from translate.infer import Translator
from translate.methods.base import DataConfig
from translate.methods.cyclegan import CycleGANConfig
from translate.nets import build_generator
from translate.training import LoopConfig, RunSpec, start_run
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


def test_auto_on_a_cpu_without_bf16_is_fp32_with_winograd_and_matches_plain_fp32(tmp_path, monkeypatch):
    monkeypatch.setenv("TRANSLATE_CPU_BF16", "0")  # what auto picks on AVX2-only CPUs, forced on every CPU
    torch.manual_seed(0)
    path = save_model(tmp_path / "g.safetensors", {"G": build_generator("resnet_6blocks", ngf=32)},
                      ModelInfo("translate", "cyclegan", {}, {"AtoB": ["G"]}, multiple=4))
    x = photo(64)[None]
    plain = Translator(path, device="cpu", precision="fp32")
    auto = Translator(path, device="cpu", precision="auto")
    assert plain.compute == "fp32" and auto.compute == "fp32+winograd"
    a, b = auto(x).astype(int), plain(x).astype(int)
    assert np.abs(a - b).max() <= 1 and (a != b).mean() < 0.01  # at most rounding of a few pixels


def test_auto_on_a_bf16_cpu_is_bf16_autocast_close_to_fp32(tmp_path, monkeypatch):
    monkeypatch.setenv("TRANSLATE_CPU_BF16", "1")  # what auto picks on CPUs with native bf16, forced on every CPU
    x = photo(32)[None]  # tiny: bf16 is emulated (10x slower) on CPUs without it
    fp32 = Translator("srgan-tiny", device="cpu", precision="fp32")
    auto = Translator("srgan-tiny", device="cpu", precision="auto")
    assert fp32.compute == "fp32" and auto.compute == "bfloat16" and auto.amp_dtype == torch.bfloat16
    assert psnr(auto(x)[0], fp32(x)[0]) > 40


def test_training_under_auto_is_bf16_autocast_when_forced(tmp_path, monkeypatch, capsys):
    """(auto's fp32 + Winograd path in training: tests/methods/test_learning.py, forced the same way.)"""
    monkeypatch.setenv("TRANSLATE_CPU_BF16", "1")
    write_images(tmp_path / "a", images(2, 16, 1))
    write_images(tmp_path / "b", images(2, 16, 2))
    spec = RunSpec("cyclegan", LoopConfig(name="r", out=str(tmp_path / "runs"), steps=1, batch_size=1, workers=0,
                                          device="cpu", sample_every=10, save_every=10),
                   DataConfig(a=str(tmp_path / "a"), b=str(tmp_path / "b"), size=16, load_size=16),
                   CycleGANConfig(netG="resnet_6blocks", ngf=4, ndf=4, netD="pixel"))
    assert start_run(spec, resume=False) == 0
    err = capsys.readouterr().err
    assert "device cpu (bfloat16)" in err, err[-2000:]


def test_cpu_bf16_override_decides_auto_and_nothing_else(monkeypatch):
    cpu = torch.device("cpu")
    monkeypatch.delenv("TRANSLATE_CPU_BF16", raising=False)
    assert cpu_supports_bf16() == cpu_has_native_bf16()  # unset: the hardware decides
    monkeypatch.setenv("TRANSLATE_CPU_BF16", "1")
    assert resolve_precision("auto", cpu) == torch.bfloat16 and resolve_precision("fp32", cpu) is None
    monkeypatch.setenv("TRANSLATE_CPU_BF16", "0")
    assert resolve_precision("auto", cpu) is None and resolve_precision("bf16", cpu) == torch.bfloat16
    monkeypatch.setenv("TRANSLATE_CPU_BF16", "yes")
    with pytest.raises(UserError, match="TRANSLATE_CPU_BF16='yes': use 0"):
        resolve_precision("auto", cpu)


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
