"""`translate weights list | info | verify | fetch | import`."""
from __future__ import annotations

import hashlib
import json
import urllib.error

import pytest
import torch
from click.testing import CliRunner

from translate.cli.main import main
from translate.cli.weights import weights
from translate.errors import UserError
from translate.nets import build_generator
from translate.weights import download


@pytest.fixture
def dirs(isolated_weight_dirs, tmp_path, monkeypatch):
    isolated_weight_dirs["env"].mkdir()
    monkeypatch.chdir(tmp_path)
    return isolated_weight_dirs


def run(*args):
    return CliRunner().invoke(weights, [str(a) for a in args])


def reference_checkpoint(path, **kwargs):
    net = build_generator("resnet", ngf=4, n_blocks=1, **kwargs)
    torch.save(net.state_dict(), path)
    return net


def test_every_command_has_help_with_an_example():
    for cmd in ([], ["list"], ["info"], ["verify"], ["fetch"], ["import"]):
        result = run(*cmd, "--help")
        assert result.exit_code == 0 and "Example:" in result.output, cmd


def test_list_shows_names_tasks_presence_and_source(dirs):
    (dirs["env"] / "s3fd-619a316812.pth").write_bytes(b"x" * 2048)
    result = run("list")
    assert result.exit_code == 0
    lines = {line.split()[0]: line for line in result.output.splitlines()[1:]}
    assert "landmarks" in lines["s3fd"] and "2.0 KiB" in lines["s3fd"] and str(dirs["env"]) in lines["s3fd"]
    assert " no " in lines["fan-2d"] and "adrianbulat.com" in lines["fan-2d"]
    assert "vgg19" in run("list", "--task", "features").output and "s3fd" not in run("list", "--task", "features").output


def test_import_then_info_of_the_model_file(dirs, tmp_path):
    net = reference_checkpoint(tmp_path / "latest_net_G_B.pth", norm="batch")
    result = run("import", tmp_path / "latest_net_G_B.pth", "-o", tmp_path / "h2z.safetensors", "--mode", "reference-test")
    assert result.exit_code == 0, result.output
    assert "as resnet(" in result.output and "reference-test" in result.output
    info = run("info", tmp_path / "h2z.safetensors", "--json")
    data = json.loads(info.output)
    params = sum(p.numel() for p in net.parameters())
    assert data["nets"]["G"]["parameters"] == params
    assert data["nets"]["G"]["kwargs"]["norm"] == "batch" and data["nets"]["G"]["kwargs"]["n_blocks"] == 1
    assert data["task"] == "translate" and data["directions"] == {"BtoA": ["G"]}
    assert data["inference_mode"] == "reference-test" and data["value_range"] == [-1.0, 1.0]
    assert data["sha256"] == hashlib.sha256((tmp_path / "h2z.safetensors").read_bytes()).hexdigest()
    text = run("info", tmp_path / "h2z.safetensors").output
    assert f"{params:,} parameters" in text and "inference_mode: reference-test" in text and "sha256:" in text


def test_import_flags_overwrite_and_foreign_info(dirs, tmp_path):
    reference_checkpoint(tmp_path / "g.pth")
    foreign = run("info", tmp_path / "g.pth", "--json")
    assert json.loads(foreign.output)["imports_as"]["arch"] == "resnet"
    bad = run("import", tmp_path / "g.pth", "-o", tmp_path / "g.safetensors", "--norm", "batch")
    assert isinstance(bad.exception, UserError) and "--norm batch contradicts" in str(bad.exception)
    ok = run("import", tmp_path / "g.pth", "-o", tmp_path / "g.safetensors", "--ngf", "4", "--n-blocks", "1",
             "--no-dropout", "--direction", "BtoA", "--name", "mine")
    assert ok.exit_code == 0, ok.output
    again = run("import", tmp_path / "g.pth", "-o", tmp_path / "g.safetensors")
    assert isinstance(again.exception, UserError) and "--overwrite" in str(again.exception)
    assert run("import", tmp_path / "g.pth", "-o", tmp_path / "g.safetensors", "--overwrite").exit_code == 0


def test_verify_reports_mismatch_with_nonzero_exit(dirs):
    good, bad = dirs["env"] / "good.bin", dirs["env"] / "bad.bin"
    good.write_bytes(b"good")
    bad.write_bytes(b"bad")
    (dirs["env"] / "manifest.toml").write_text(f"""
[models.good]
file = "good.bin"
sha256 = "{hashlib.sha256(b'good').hexdigest()}"
task = "sr"
source = "scripts/x.sh"
licence = "MIT"

[models.bad]
file = "bad.bin"
sha256 = "{'0' * 64}"
task = "sr"
source = "scripts/x.sh"
licence = "MIT"
""")
    assert run("verify", "good").exit_code == 0
    result = run("verify")
    assert "MISMATCH" in result.output and isinstance(result.exception, UserError)
    assert "bad" in str(result.exception) and "good (" not in str(result.exception)
    info = run("info", "bad").output
    assert "sha256 mismatch" in info


def test_fetch_offline_through_main_is_one_line_and_exit_1(dirs, monkeypatch, capsys):
    def offline(request, timeout):
        raise urllib.error.URLError("no network")
    monkeypatch.setattr(download, "urlopen", offline)
    with pytest.raises(SystemExit) as e:
        main(["weights", "fetch", "vgg19"])
    assert e.value.code == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("error: could not download https://download.pytorch.org/models/vgg19")
    assert str(dirs["torch"] / "hub" / "checkpoints" / "vgg19-dcbb9e9d.pth") in err


def test_info_of_unknown_name_lists_names(dirs):
    result = run("info", "nonesuch")
    assert isinstance(result.exception, UserError) and "fan-2d" in str(result.exception)
