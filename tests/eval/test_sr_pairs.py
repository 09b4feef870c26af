"""`translate eval sr --lr`: the benchmark's own HR/LR pairs, matched by name (or HR swapped for LR)."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from synthetic import images
from translate.data.sr import bicubic_downscale, bicubic_upscale
from translate.errors import UserError
from translate.eval.metrics import sr_psnr_ssim
from translate.eval.sr import lr_name, pair_hr_lr
from translate.nets import build_generator
from translate.weights.modelfile import ModelInfo, save_model


def nearest_model(path, scale: int = 2):
    net = build_generator("srvgg", num_feat=4, num_conv=1, upscale=scale)
    with torch.no_grad():  # outputs exactly its nearest-neighbour skip
        for p in net.parameters():
            p.zero_()
    save_model(path, {"G": net}, ModelInfo(task="sr", method="srgan", nets={}, directions={"AtoB": ["G"]},
                                            value_range=[0.0, 1.0], scale=scale))
    return path


def box_lr(hr: np.ndarray) -> np.ndarray:
    """An LR unlike the bicubic one eval would make: 2x2 box means."""
    h, w = hr.shape[:2]
    return hr.reshape(h // 2, 2, w // 2, 2, 3).mean((1, 3)).round().astype(np.uint8)


def test_lr_names_swap_the_hr_token():
    assert lr_name("img_001_SRF_4_HR.png") == "img_001_SRF_4_LR.png"
    assert lr_name("baby_hr.png") == "baby_lr.png" and lr_name("HRimage.png") == "" and lr_name("x.png") == ""


def test_pairs_in_one_folder_or_two(tmp_path):
    one, hr_dir, lr_dir = tmp_path / "one", tmp_path / "hr", tmp_path / "lr"
    for d in (one, hr_dir, lr_dir):
        d.mkdir()
    pics = images(3, 16, seed=1)
    for i, hr in enumerate(pics):
        Image.fromarray(hr).save(one / f"img_{i}_SRF_2_HR.png")
        Image.fromarray(hr).save(hr_dir / f"{i}.png")
        if i < 2:
            Image.fromarray(box_lr(hr)).save(one / f"img_{i}_SRF_2_LR.png")
            Image.fromarray(box_lr(hr)).save(lr_dir / f"{i}.png")
    pairs, unpaired = pair_hr_lr(one, one)
    assert [(h.name, lr.name) for h, lr in pairs] == [("img_0_SRF_2_HR.png", "img_0_SRF_2_LR.png"),
                                                     ("img_1_SRF_2_HR.png", "img_1_SRF_2_LR.png")]
    assert len(unpaired) == 1 and "img_2_SRF_2_HR.png" in unpaired[0]
    pairs, unpaired = pair_hr_lr(hr_dir, lr_dir)
    assert [(h.name, lr.name) for h, lr in pairs] == [("0.png", "0.png"), ("1.png", "1.png")] and len(unpaired) == 1
    with pytest.raises(UserError, match="no HR image .* has an LR partner"):
        pair_hr_lr(hr_dir, one)


def test_eval_scores_the_given_lr_not_a_bicubic_one(tmp_path, capsys):
    from translate.cli.main import main

    data = tmp_path / "set"
    data.mkdir()
    hrs = images(2, 40, seed=3)
    for i, hr in enumerate(hrs):
        Image.fromarray(hr).save(data / f"p{i}_HR.png")
        Image.fromarray(box_lr(hr)).save(data / f"p{i}_LR.png")
    model = nearest_model(tmp_path / "x2.safetensors")
    try:
        main(["eval", "sr", "--model", str(model), "--data", str(data), "--lr", str(data), "--device", "cpu"])
    except SystemExit as e:
        assert e.code in (0, None)
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["images"] == 2 and summary["lr"] == str(data)
    given = np.mean([sr_psnr_ssim(bicubic_upscale(box_lr(hr), 2), hr, 2)[0] for hr in hrs])
    made = np.mean([sr_psnr_ssim(bicubic_upscale(bicubic_downscale(hr, 2), 2), hr, 2)[0] for hr in hrs])
    assert summary["bicubic_psnr"] == pytest.approx(given, abs=1e-3) and abs(given - made) > 0.1
