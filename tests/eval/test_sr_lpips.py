"""`translate eval sr` reports ST-LPIPS beside PSNR/SSIM, labelled, when the network is here (or --lpips on)."""
from __future__ import annotations

import json

import numpy as np
import torch

from conftest import translate_cli
from synthetic import images, write_images
from translate.nets import build_net
from translate.weights.feature_files import save_feature_net


def test_eval_sr_reports_st_lpips_when_present_and_says_why_not_otherwise(tmp_path, isolated_weight_dirs, capsys,
                                                                          one_torch_thread):
    write_images(tmp_path / "hr", images(2, 48, seed=3))
    args = ["eval", "sr", "--model", "srgan-tiny", "--data", str(tmp_path / "hr"), "--device", "cpu"]
    code, out, err = translate_cli(capsys, *args)
    assert code == 0, err
    summary = json.loads(out.strip().splitlines()[-1])
    assert "st_lpips" not in summary and "translate weights fetch st-lpips-vgg" in summary["st_lpips_note"]

    torch.manual_seed(0)
    net = build_net("st_lpips_vgg")
    for p in net.parameters():
        p.data.normal_(0, 0.05).abs_()  # the linear heads of LPIPS are non-negative
    save_feature_net(isolated_weight_dirs["env"] / "st-lpips-vgg.safetensors", net, "st-lpips", {})
    code, out, err = translate_cli(capsys, *args)
    assert code == 0, err
    summary = json.loads(out.strip().splitlines()[-1])
    assert "ST-LPIPS" in out.splitlines()[1] and "ST-LPIPS (VGG, shift-tolerant; lower is better)" in summary["st_lpips_metric"]
    assert np.isfinite(summary["st_lpips"]) and summary["st_lpips"] > 0 and summary["bicubic_st_lpips"] > 0
    assert all(img["st_lpips"] is not None for img in summary["per_image"])
