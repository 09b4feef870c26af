"""torchrun with 2 CPU processes (gloo): the global batch is split, gradients are averaged, rank 0 alone writes."""
import os
import subprocess
import sys

import torch
from safetensors.torch import load_file
from synthetic import images, write_images

ARGS = ["--size", "16", "--load-size", "20", "--ngf", "4", "--ndf", "4", "--netD", "pixel", "--netG", "resnet_6blocks",
        "--batch-size", "4", "--steps", "6", "--workers", "0", "--pool-size", "0", "--no-flip", "--save-every", "3",
        "--precision", "fp32"]  # the bound below is for fp32 arithmetic (bf16 autocast, auto on bf16 CPUs, is ~1e-3)


def test_ddp_two_processes_match_one_process(tmp_path):
    write_images(tmp_path / "a", images(8, 24, 1))
    write_images(tmp_path / "b", images(8, 24, 2))
    data = ["--a", str(tmp_path / "a"), "--b", str(tmp_path / "b")]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29517"]
    ddp = subprocess.run([*torchrun, "-m", "translate", "train", "cyclegan", *data, *ARGS, "--out", str(tmp_path / "ddp"),
                          "--name", "r"], capture_output=True, text=True, env=env, timeout=300)
    assert ddp.returncode == 0, ddp.stderr[-3000:]
    single = subprocess.run([sys.executable, "-m", "translate", "train", "cyclegan", *data, *ARGS,
                             "--out", str(tmp_path / "one"), "--name", "r"], capture_output=True, text=True, env=env, timeout=300)
    assert single.returncode == 0, single.stderr
    # instance norm is per sample and the pool is off, so 2 x 2 samples with averaged gradients == 4 samples.
    # Conv biases in front of instance norm have a true gradient of 0, so Adam turns their float noise into
    # +-lr steps in either run: compare the weights, whose gradients are real.
    a, b = load_file(tmp_path / "ddp" / "r" / "model.safetensors"), load_file(tmp_path / "one" / "r" / "model.safetensors")
    weights = [k for k in a if k.endswith("weight")]
    assert len(weights) > 10
    worst = max((a[k] - b[k]).abs().max().item() for k in weights)
    assert worst < 2e-4, worst  # 6 Adam steps at lr 2e-4 move a weight by up to 1.2e-3
    assert ddp.stderr.count("done:") == 1  # only rank 0 reports and writes
    # resume under torchrun continues the run
    more = subprocess.run([*torchrun, "-m", "translate", "train", "cyclegan", *data, *[x if x != "6" else "8" for x in ARGS],
                           "--out", str(tmp_path / "ddp"), "--name", "r", "--resume"], capture_output=True, text=True, env=env, timeout=300)
    assert more.returncode == 0, more.stderr[-3000:]
    assert torch.load(tmp_path / "ddp" / "r" / "checkpoints" / "last.pt", weights_only=True)["step"] == 8
