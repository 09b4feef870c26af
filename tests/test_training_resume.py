"""A run killed midway and resumed continues exactly: same losses, same learning rates, same weights."""
import json
import signal
import subprocess
import sys
import time

import pytest
import torch
from safetensors.torch import load_file
from conftest import sigint_as_in_a_terminal, translate_cli
from synthetic import images, swap_red_blue, write_images

TINY = ["--size", "16", "--load-size", "20", "--ngf", "4", "--ndf", "4", "--netD", "pixel", "--batch-size", "2",
        "--workers", "0", "--log-every", "1", "--sample-every", "50", "--seed", "3"]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("resume")
    write_images(root / "a", images(6, 24, 1))
    write_images(root / "b", [swap_red_blue(x) for x in images(6, 24, 2)])
    # side-by-side A|B pairs for pix2pix
    import numpy as np
    write_images(root / "ab", [np.concatenate([x, swap_red_blue(x)], 1) for x in images(6, 24, 3)])
    return root


def method_args(method, data):
    if method == "cyclegan":
        return ["cyclegan", "--a", str(data / "a"), "--b", str(data / "b"), "--netG", "resnet_6blocks"]
    return ["pix2pix", "--data", str(data / "ab"), "--netG", "unet_32", "--size", "32", "--load-size", "36"]


def train_cmd(method, data, out, steps, extra=()):
    return [sys.executable, "-m", "translate", "train", method_args(method, data)[0], *TINY, *method_args(method, data)[1:], "--steps", str(steps),
            "--save-every", "5", "--out", str(out), "--name", "run", *extra]


def interrupt_when(cmd, log, min_lines, sig):
    """Start a run, wait until the log has ``min_lines`` steps, then send ``sig``."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=sigint_as_in_a_terminal)
    deadline = time.time() + 240
    while time.time() < deadline:
        if log.exists() and len(log.read_text().splitlines()) >= min_lines:
            break
        if proc.poll() is not None:
            break
        time.sleep(0.01)
    assert proc.poll() is None, "the run finished before it could be interrupted"
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=120)
    return proc.returncode, err


def read_log(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.mark.parametrize("method,sig", [("cyclegan", signal.SIGKILL), ("pix2pix", signal.SIGINT)])
def test_resumed_run_equals_uninterrupted(data, tmp_path, method, sig):
    steps = 40
    full = subprocess.run(train_cmd(method, data, tmp_path / "full", steps), capture_output=True, text=True)
    assert full.returncode == 0, full.stderr
    log = tmp_path / "cut" / "run" / "log.jsonl"
    code, err = interrupt_when(train_cmd(method, data, tmp_path / "cut", steps), log, 12, sig)
    if sig == signal.SIGINT:  # Ctrl-C saves where it is and says how to continue
        assert code == 130 and "--resume" in err
    else:
        assert code == -signal.SIGKILL
    ckpt = torch.load(tmp_path / "cut" / "run" / "checkpoints" / "last.pt", weights_only=True)
    assert 5 <= ckpt["step"] < steps
    resumed = subprocess.run(train_cmd(method, data, tmp_path / "cut", steps, ["--resume"]), capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr

    a, b = read_log(tmp_path / "full" / "run" / "log.jsonl"), read_log(log)
    assert [r["step"] for r in b] == list(range(1, steps + 1))  # log cut back to the checkpoint, no step twice
    strip = lambda rs: [{k: v for k, v in r.items() if k != "time"} for r in rs]
    assert strip(a) == strip(b)  # every loss and learning rate, step by step
    wa = load_file(tmp_path / "full" / "run" / "model.safetensors")
    wb = load_file(tmp_path / "cut" / "run" / "model.safetensors")
    assert wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)


def test_existing_run_needs_resume_and_flags_must_match(data, tmp_path, cli, capsys):
    args = ["train", *method_args("cyclegan", data), *TINY, "--steps", "3", "--out", str(tmp_path), "--name", "r"]
    assert cli(*args).returncode == 0
    # the two refusals run in this process (each subprocess costs ~8 s of imports before it can refuse)
    code, _, err = translate_cli(capsys, *args)
    assert code == 1 and "already exists" in err and "--resume" in err
    assert len(err.strip().splitlines()) == 1
    code, _, err = translate_cli(capsys, *args[:-4], "--lr", "0.1", "--out", str(tmp_path), "--name", "r", "--resume")
    assert code == 1 and "lr" in err
    grown_args = list(args)
    grown_args[grown_args.index("--steps") + 1] = "6"
    grown = cli(*grown_args, "--resume")
    assert grown.returncode == 0, grown.stderr
    assert "re-planned" in grown.stderr
    assert json.loads((tmp_path / "r" / "config.json").read_text())["loop"]["steps"] == 6
    assert read_log(tmp_path / "r" / "log.jsonl")[-1]["step"] == 6


def test_run_folder_contents(data, tmp_path, cli):
    r = cli("train", *method_args("cyclegan", data), *TINY, "--steps", "4", "--sample-every", "2", "--save-every", "2",
            "--keep", "1", "--out", str(tmp_path), "--name", "r")
    assert r.returncode == 0, r.stderr
    run = tmp_path / "r"
    for name in ["config.json", "checkpoints/last.pt", "model.safetensors", "log.jsonl", "losses.png",
                 "samples/step_00000002.png", "samples/step_00000004.png"]:
        assert (run / name).exists(), name
    assert [p.name for p in sorted((run / "checkpoints").glob("step_*.pt"))] == ["step_00000004.pt"]  # --keep 1
    state = torch.load(run / "checkpoints" / "last.pt", weights_only=True)  # loads without pickle code
    assert {"step", "nets", "optimizers", "schedule", "method", "rng"} <= set(state)
    assert len(state["method"]["pool_A"]["images"]) > 0  # the replay pool travels with the checkpoint
