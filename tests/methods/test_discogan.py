"""DiscoGAN through the shared loop on a known mapping (red <-> blue swap): reconstruction falls, the mapping beats identity."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from synthetic import images, swap_red_blue, write_images  # noqa: E402

from translate.errors import UserError  # noqa: E402
from translate.infer import Translator  # noqa: E402
from translate.methods.base import DataConfig  # noqa: E402
from translate.methods.discogan import DiscoGAN, DiscoGANConfig, feature_matching  # noqa: E402
from translate.training import LoopConfig, RunSpec, start_run  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_learns_the_known_mapping(tmp_path):
    write_images(tmp_path / "A", images(32, 64, seed=1), "a")
    write_images(tmp_path / "B", [swap_red_blue(im) for im in images(32, 64, seed=2)], "b")
    spec = RunSpec("discogan",
                   LoopConfig(name="d", out=str(tmp_path / "runs"), steps=100, batch_size=8, workers=0, seed=0,
                              sample_every=10**6, save_every=10**6, log_every=20, precision="fp32"),
                   DataConfig(a=str(tmp_path / "A"), b=str(tmp_path / "B"), size=64, load_size=64, preprocess="resize"),
                   DiscoGANConfig(ngf=8, ndf=8, rate_switch_step=20, lr=1e-3))
    assert start_run(spec, resume=False) == 0

    log = [json.loads(line) for line in (tmp_path / "runs" / "d" / "log.jsonl").read_text().splitlines()]
    recon = [(r["recon_A"] + r["recon_B"]) / 2 for r in log]
    assert np.mean(recon[-10:]) < 0.75 * np.mean(recon[:10]), (recon[:5], recon[-5:])
    assert log[0]["rate"] == pytest.approx(0.01) and log[-1]["rate"] == pytest.approx(0.5)

    held_out = np.stack(images(8, 64, seed=77))
    target = np.stack([swap_red_blue(im) for im in held_out]).astype(np.float64)
    out = Translator(tmp_path / "runs" / "d", direction="AtoB", device="cpu", precision="fp32")(held_out).astype(np.float64)
    mapped, identity = np.mean((out - target) ** 2), np.mean((held_out - target) ** 2)
    assert mapped < 0.5 * identity, (mapped, identity)


def test_feature_matching_is_zero_for_equal_batch_means():
    f = [torch.rand(4, 3, 5, 5)]
    assert feature_matching(f, [f[0].flip(0)]).item() == pytest.approx(0.0, abs=1e-12)
    assert feature_matching(f, [f[0] + 1]).item() == pytest.approx(1.0)


def test_curriculum_and_alternation_follow_the_method_counter():
    m = DiscoGAN(DiscoGANConfig(ngf=4, ndf=4, rate_switch_step=2), torch.device("cpu"))
    batch = {"A": torch.rand(2, 3, 64, 64) * 2 - 1, "B": torch.rand(2, 3, 64, 64) * 2 - 1}
    d0 = [p.clone() for p in m.nets["D_A"].parameters()]
    g0 = [p.clone() for p in m.nets["G_AB"].parameters()]
    rates = [m.train_step(batch)["rate"].item()]  # iteration 0: discriminators only
    assert all(torch.equal(a, b) for a, b in zip(g0, m.nets["G_AB"].parameters()))
    assert not all(torch.equal(a, b) for a, b in zip(d0, m.nets["D_A"].parameters()))
    rates += [m.train_step(batch)["rate"].item() for _ in range(2)]
    assert rates == pytest.approx([0.01, 0.01, 0.5])
    assert m.extra_state() == {"iters": 3}


def test_too_small_size_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="at least 64"):
        DiscoGAN.build_dataset(DataConfig(a=str(tmp_path), b=str(tmp_path), size=32), 0)
