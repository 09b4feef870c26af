"""resolve_model: what every --model option accepts (a file, a run folder, a manifest name)."""
from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from translate.errors import UserError
from translate.weights.modelfile import ModelInfo
from translate.weights.resolve import resolve_model


@pytest.fixture
def dirs(isolated_weight_dirs, tmp_path, monkeypatch):
    isolated_weight_dirs["env"].mkdir()
    monkeypatch.chdir(tmp_path)
    return isolated_weight_dirs


def model_file(path: Path, task: str) -> Path:
    """A minimal model file with a translate header (weights are irrelevant to resolving)."""
    info = ModelInfo(task=task, method="test", nets={"G": {"arch": "x", "kwargs": {}}}, directions={"AtoB": ["G"]})
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file({"G.w": torch.zeros(1)}, str(path), metadata={"translate": info.to_json()})
    return path


def add_entry(folder: Path, name: str, file: str, task: str, sha256: str, aliases=()) -> None:
    with open(folder / "manifest.toml", "a") as f:
        f.write(f'\n[models.{name}]\naliases = {list(aliases)!r}\nfile = "{file}"\nsha256 = "{sha256}"\n'
                f'task = "{task}"\nsource = "scripts/train.sh"\nlicence = "MIT"\n'.replace("'", '"'))


def test_file_and_run_folder(dirs, tmp_path):
    f = model_file(tmp_path / "m.safetensors", "translate")
    assert resolve_model(str(f)) == f
    run = tmp_path / "runs" / "cyclegan"
    model_file(run / "model.safetensors", "translate")
    assert resolve_model(str(run), tasks=("translate",)) == run / "model.safetensors"
    (tmp_path / "runs" / "unfinished").mkdir()
    with pytest.raises(UserError, match="has no model.safetensors"):
        resolve_model(str(tmp_path / "runs" / "unfinished"))


def test_existing_path_beats_a_name(dirs, tmp_path):
    model_file(tmp_path / "vgg19" / "model.safetensors", "sr")  # a run folder that happens to be called like an entry
    assert resolve_model("vgg19", tasks=("sr",)) == Path("vgg19") / "model.safetensors"


def test_manifest_name_alias_and_sha256(dirs):
    # (the packaged manifest already defines srgan and detector: user entries need names of their own)
    f = model_file(dirs["env"] / "my-srgan-x4.safetensors", "sr")
    add_entry(dirs["env"], "my-srgan", f.name, "sr", hashlib.sha256(f.read_bytes()).hexdigest(), aliases=["my-srgan-x4"])
    assert resolve_model("my-srgan", tasks=("sr",)) == f
    assert resolve_model("MY-SRGAN-x4") == f


def test_sha256_mismatch_is_refused_unless_not_verifying(dirs):
    f = model_file(dirs["env"] / "det.safetensors", "detect")
    add_entry(dirs["env"], "my-detector", f.name, "detect", "0" * 64)
    with pytest.raises(UserError, match="--no-verify"):
        resolve_model("my-detector")
    assert resolve_model("my-detector", verify=False) == f


def test_unknown_name_lists_the_names_of_the_task(dirs):
    f = model_file(dirs["env"] / "s.safetensors", "sr")
    add_entry(dirs["env"], "my-sr", f.name, "sr", hashlib.sha256(f.read_bytes()).hexdigest())
    with pytest.raises(UserError) as e:
        resolve_model("srgna", tasks=("sr",))
    message = str(e.value)
    assert "no model named 'srgna'" in message and "my-sr" in message and "vgg19" not in message
    assert "\n" not in message
    with pytest.raises(UserError, match="no such file or folder: runs/missing"):
        resolve_model("runs/missing")


def test_wrong_task_lists_what_works(dirs, tmp_path):
    f = model_file(dirs["env"] / "s.safetensors", "sr")
    add_entry(dirs["env"], "my-sr", f.name, "sr", hashlib.sha256(f.read_bytes()).hexdigest())
    det = model_file(tmp_path / "det.safetensors", "detect")
    with pytest.raises(UserError, match=r"is a detect model; this needs a model of task translate or sr: known names: (.*, )?my-sr"):
        resolve_model(str(det), tasks=("translate", "sr"))
    with pytest.raises(UserError, match="vgg19 is a features model; this needs a model of task sr: known names: (.*, )?my-sr"):
        resolve_model("vgg19", tasks=("sr",))
    with pytest.raises(UserError, match="no named models of that kind"):
        resolve_model("vgg19", tasks=("translate",))


def test_named_but_absent_says_how_to_get_it(dirs):
    with pytest.raises(UserError, match="translate weights fetch fan-2d"):
        resolve_model("fan")
    add_entry(dirs["env"], "local", "local.safetensors", "sr", "0" * 64)
    with pytest.raises(UserError, match="make it with scripts/train.sh"):
        resolve_model("local")


def test_foreign_file_points_to_import(dirs, tmp_path):
    torch.save({"model.1.weight": torch.zeros(1)}, tmp_path / "latest_net_G_A.pth")
    with pytest.raises(UserError, match="translate weights import"):
        resolve_model(str(tmp_path / "latest_net_G_A.pth"), tasks=("translate",))
