"""`translate eval sr`: model vs bicubic table plus one JSON line; clear errors for wrong models and scales."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import torch
from click.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from synthetic import images, write_images  # noqa: E402

from translate.cli.main import cli  # noqa: E402
from translate.data.sr import bicubic_downscale, bicubic_upscale  # noqa: E402
from translate.eval.metrics import sr_psnr_ssim  # noqa: E402
from translate.nets import build_generator  # noqa: E402
from translate.weights.modelfile import ModelInfo, save_model  # noqa: E402


def sr_model(path: Path, scale: int = 2) -> Path:
    net = build_generator("srvgg", num_feat=4, num_conv=1, upscale=scale)
    with torch.no_grad():  # a net that outputs exactly its nearest-neighbour skip
        for p in net.parameters():
            p.zero_()
    save_model(path, {"G": net}, ModelInfo(task="sr", method="srgan", nets={}, directions={"AtoB": ["G"]},
                                            value_range=[0.0, 1.0], scale=scale))
    return path


def test_table_and_json_line(tmp_path):
    write_images(tmp_path / "hr", images(2, 40, seed=3) + images(1, 42, seed=4), "hr")
    from PIL import Image
    Image.fromarray(images(1, 8, seed=5)[0]).save(tmp_path / "hr" / "tiny.png")
    model = sr_model(tmp_path / "x2.safetensors")
    result = CliRunner().invoke(cli, ["eval", "sr", "--model", str(model), "--data", str(tmp_path / "hr"), "--device", "cpu"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert "PSNR" in lines[1] and "bicubic" in lines[1]
    summary = json.loads(lines[-1])
    assert summary["scale"] == 2 and summary["images"] == 3 and len(summary["per_image"]) == 3
    assert any("tiny.png" in s for s in summary["skipped"])
    # the figures are the SR convention's (Y, border = scale) for model and bicubic
    hr = np.asarray(Image.open(tmp_path / "hr" / "hr_0002.png"))[:42, :42]
    lr = bicubic_downscale(hr, 2)
    nearest = lr.repeat(2, 0).repeat(2, 1)
    row = next(r for r in summary["per_image"] if r["image"] == "hr_0002.png")
    assert row["psnr"] == round(sr_psnr_ssim(nearest, hr, 2)[0], 5)
    assert row["bicubic_psnr"] == round(sr_psnr_ssim(bicubic_upscale(lr, 2), hr, 2)[0], 5)
    assert summary["psnr_gain_db"] < 0  # nearest neighbour loses to bicubic


def test_wrong_scale_and_wrong_task_are_user_errors(tmp_path):
    write_images(tmp_path / "hr", images(1, 40, seed=3), "hr")
    model = sr_model(tmp_path / "x2.safetensors")
    result = CliRunner().invoke(cli, ["eval", "sr", "--model", str(model), "--data", str(tmp_path / "hr"), "--scale", "4"])
    assert result.exit_code != 0 and "x2" in str(result.exception)
    net = build_generator("resnet_6blocks", ngf=4)
    save_model(tmp_path / "t.safetensors", {"G": net}, ModelInfo(task="translate", method="cyclegan", nets={},
                                                                 directions={"AtoB": ["G"]}))
    result = CliRunner().invoke(cli, ["eval", "sr", "--model", str(tmp_path / "t.safetensors"), "--data", str(tmp_path / "hr")])
    assert result.exit_code != 0 and "translate model" in str(result.exception)


def test_help_has_an_example():
    result = CliRunner().invoke(cli, ["eval", "sr", "--help"])
    assert result.exit_code == 0 and "translate eval sr --model srgan" in result.output
