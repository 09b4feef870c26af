"""SRGAN through the shared loop: learning over bicubic, the two phases, exact resume across the switch, offline VGG."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from synthetic import images, write_images  # noqa: E402

from translate import training  # noqa: E402
from translate.checkpoint import load_checkpoint  # noqa: E402
from translate.cli.main import cli  # noqa: E402
from translate.methods.base import DataConfig  # noqa: E402
from translate.methods.srgan import SRGAN, SRGANConfig  # noqa: E402
from translate.perceptual import ContentLoss, layer_indices, resolve_layer  # noqa: E402
from translate.eval.sr import evaluate_sr  # noqa: E402
from translate.training import LoopConfig, RunSpec, start_run  # noqa: E402
from translate.weights.modelfile import save_model  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("sr")
    write_images(root / "train", images(24, 64, seed=1), "tr")
    write_images(root / "val", images(6, 64, seed=99), "va")
    return root


@pytest.fixture
def offline_weights(tmp_path, monkeypatch):
    """No VGG19 anywhere: empty weight folders and torch hub."""
    monkeypatch.setenv("TRANSLATE_WEIGHTS", str(tmp_path / "w"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setattr(torch.hub, "_hub_dir", None, raising=False)


def spec(folders, out, steps, pretrain, **model) -> RunSpec:
    cfg = dict(scale=4, netG="srvgg", nf=16, n_blocks=4, ndf=8, pretrain_steps=pretrain, content_loss="pixel", lr=2e-3)
    cfg.update(model)
    return RunSpec("srgan", LoopConfig(name="r", out=str(out), steps=steps, batch_size=8, workers=0, seed=0,
                                       sample_every=10**6, save_every=10**6, log_every=1, precision="fp32"),
                   DataConfig(data=str(folders / "train"), size=48, scale=4), SRGANConfig(**cfg))


def test_psnr_over_bicubic_rises_on_held_back_images(folders, tmp_path):
    torch.manual_seed(0)
    untrained = SRGAN(spec(folders, tmp_path, 1, 1).model, torch.device("cpu"))
    nets, info = untrained.export()
    save_model(tmp_path / "untrained.safetensors", nets, info)
    before = evaluate_sr(tmp_path / "untrained.safetensors", folders / "val", device="cpu").summary()

    assert start_run(spec(folders, tmp_path, 200, 200), resume=False) == 0
    after = evaluate_sr(tmp_path / "r", folders / "val", device="cpu").summary()
    assert after["images"] == 6
    assert after["psnr_gain_db"] > before["psnr_gain_db"] + 3.0
    assert after["psnr_gain_db"] > 0.05, after  # beats bicubic on images it never saw


def _log(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]


def test_phases_switch_at_pretrain_steps(folders, tmp_path):
    s = spec(folders, tmp_path, 6, 3)
    torch.manual_seed(s.loop.seed)
    initial_D = {k: v.clone() for k, v in SRGAN(s.model, torch.device("cpu")).nets["D"].state_dict().items()}
    s.loop.save_every = 3
    assert start_run(s, resume=False) == 0
    log = _log(tmp_path / "r")
    assert [r["gan_phase"] for r in log] == [0, 0, 0, 1, 1, 1]
    assert all(r["D"] == 0 and r["G_adv"] == 0 for r in log[:3])
    assert all(r["D"] > 0 and r["G_adv"] > 0 for r in log[3:])
    at3 = load_checkpoint(tmp_path / "r" / "checkpoints" / "step_00000003.pt", torch.device("cpu"))
    assert at3["method"]["steps_done"] == 3
    assert all(torch.equal(at3["nets"]["D"][k], v) for k, v in initial_D.items())  # the discriminator idled
    last = load_checkpoint(tmp_path / "r" / "checkpoints" / "last.pt", torch.device("cpu"))
    assert not all(torch.equal(last["nets"]["D"][k], v) for k, v in initial_D.items())


class _StopAfter:
    """Stands in for the loop's Ctrl-C handler: asks to stop once ``n`` steps have run."""

    calls = 0

    def __init__(self, n: int):
        self.n = n

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    @property
    def requested(self) -> bool:
        return _StopAfter.calls >= self.n


def test_resume_across_the_phase_boundary_equals_an_uninterrupted_run(folders, tmp_path, monkeypatch):
    straight = tmp_path / "straight"
    assert start_run(spec(folders, straight, 8, 4), resume=False) == 0

    original = SRGAN.train_step

    def counted(self, batch):
        _StopAfter.calls += 1
        return original(self, batch)

    _StopAfter.calls = 0
    monkeypatch.setattr(SRGAN, "train_step", counted)
    monkeypatch.setattr(training, "_Interrupt", lambda event=None: _StopAfter(3))
    parted = tmp_path / "parted"
    assert start_run(spec(folders, parted, 8, 4), resume=False) == 130  # stopped after step 3, in the SRResNet phase
    monkeypatch.setattr(training, "_Interrupt", lambda event=None: _StopAfter(10**9))
    assert start_run(spec(folders, parted, 8, 4), resume=True) == 0

    a = load_checkpoint(straight / "r" / "checkpoints" / "last.pt", torch.device("cpu"))
    b = load_checkpoint(parted / "r" / "checkpoints" / "last.pt", torch.device("cpu"))
    assert a["step"] == b["step"] == 8 and b["method"]["steps_done"] == 8
    for net in ("G", "D"):
        for k, v in a["nets"][net].items():
            assert torch.equal(v, b["nets"][net][k]), f"{net}.{k} differs after resume"
    assert [r["gan_phase"] for r in _log(parted / "r")] == [0, 0, 0, 0, 1, 1, 1, 1]


def test_offline_vgg_is_one_clear_line_and_pixel_content_trains(folders, tmp_path, offline_weights):
    args = ["train", "srgan", "--data", str(folders / "train"), "--out", str(tmp_path / "runs"), "--scale", "2",
            "--size", "16", "--batch-size", "2", "--steps", "4", "--netG", "srvgg", "--nf", "8", "--n-blocks", "2",
            "--ndf", "8", "--workers", "0"]
    result = CliRunner().invoke(cli, args + ["--name", "vgg", "--content-features", "vgg19"], standalone_mode=False)
    from translate.errors import UserError

    assert isinstance(result.exception, UserError)
    message = str(result.exception)
    assert "\n" not in message
    assert "vgg19-dcbb9e9d.pth" in message and "https://download.pytorch.org/models/vgg19-dcbb9e9d.pth" in message
    assert "--content-loss pixel" in message and str(tmp_path / "torch") in message
    assert not (tmp_path / "runs" / "vgg" / "checkpoints").exists()

    result = CliRunner().invoke(cli, args + ["--name", "pixel", "--content-loss", "pixel"], standalone_mode=False)
    assert result.exception is None, result.output
    config = json.loads((tmp_path / "runs" / "pixel" / "config.json").read_text())
    assert config["model"]["pretrain_steps"] == 2  # default: half of --steps
    assert config["data"]["scale"] == 2 and config["model"]["scale"] == 2
    assert (tmp_path / "runs" / "pixel" / "model.safetensors").is_file()


def test_vgg_layers_and_paper_scaling():
    idx = layer_indices()
    assert idx["conv1_1"] == 0 and idx["relu2_2"] == 8 and idx["conv5_4"] == 34 and idx["relu5_4"] == 35
    assert resolve_layer("vgg54") == ("relu5_4", 35)
    with pytest.raises(ValueError):
        resolve_layer("conv6_1")
    feats = torch.nn.Conv2d(3, 4, 3, padding=1)
    loss = ContentLoss("vgg54", features=feats)
    sr, hr = torch.rand(2, 3, 8, 8), torch.rand(2, 3, 8, 8)
    norm = lambda x: (x - loss.mean) / loss.std  # noqa: E731
    expected = torch.nn.functional.mse_loss(feats(norm(sr)), feats(norm(hr))) / 12.75**2
    assert torch.allclose(loss(sr, hr), expected, rtol=1e-5)


def test_gan_phase_uses_the_vgg_content_loss(monkeypatch):
    import translate.perceptual as perceptual

    seen = []

    def tiny_features(layer, device="cpu"):
        seen.append(layer)
        return torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.ReLU()).requires_grad_(False)

    monkeypatch.setattr(perceptual, "vgg19_features", tiny_features)
    cfg = SRGANConfig(scale=2, netG="srvgg", nf=8, n_blocks=2, ndf=8, pretrain_steps=1, content_layer="conv5_4",
                      content_features="vgg19")
    m = SRGAN(cfg, torch.device("cpu"))
    assert seen == ["conv5_4"] and m.content.layer == "conv5_4"
    batch = {"lr": torch.rand(2, 3, 8, 8), "hr": torch.rand(2, 3, 16, 16)}
    first, second = m.train_step(batch), m.train_step(batch)
    assert first["gan_phase"] == 0 and first["content"] == 0
    assert second["gan_phase"] == 1 and second["content"] > 0 and second["D"] > 0
    assert m.lr_scale(0) == {}  # past the SRResNet phase the discriminator learns at the schedule's LR
