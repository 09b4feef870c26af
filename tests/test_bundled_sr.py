"""The bundled x4 upscaler (srgan-tiny): found by name, hash as the manifest says, works through `translate apply`, beats bicubic."""
from __future__ import annotations

import pytest
import skimage.data
from click.testing import CliRunner
from PIL import Image

from translate.cli.main import cli
from translate.eval.sr import evaluate_sr
from translate.weights import manifest
from translate.weights.digest import file_sha256
from translate.weights.modelfile import read_info
from translate.weights.resolve import resolve_model

BUNDLED = manifest.package_weights_dir() / "srgan-x4.safetensors"


@pytest.fixture(autouse=True)
def packaged_only(monkeypatch, tmp_path):
    """Only the packaged manifest and weights: no user folders that could shadow or redefine the name."""
    monkeypatch.setenv("TRANSLATE_WEIGHTS", str(tmp_path / "none"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


def test_resolves_by_name_and_alias_with_the_manifest_hash():
    entry = manifest.find("srgan-tiny")
    assert entry is not None and "srgan-bundled" in entry.aliases and entry.task == "sr"
    path = resolve_model("srgan-tiny", tasks=("sr",))
    assert path == BUNDLED and resolve_model("srgan-bundled") == BUNDLED
    assert file_sha256(path) == entry.sha256
    info = read_info(path)
    assert info.task == "sr" and info.scale == 4 and info.value_range == [0.0, 1.0]
    assert BUNDLED.stat().st_size < 5_000_000


def test_apply_gives_a_4x_image(tmp_path):
    photo = tmp_path / "photo.png"
    Image.fromarray(skimage.data.chelsea()[100:148, 150:214]).save(photo)  # 64 x 48
    result = CliRunner().invoke(cli, ["apply", str(photo), "--model", "srgan-tiny", "-o", str(tmp_path / "out"), "--device", "cpu"])
    assert result.exit_code == 0, result.output
    outs = list((tmp_path / "out").glob("*.png"))
    assert len(outs) == 1
    assert Image.open(outs[0]).size == (256, 192)


def test_beats_bicubic_on_a_held_out_photo(tmp_path):
    # chelsea is held out of the bundled model's training set (scripts/train_default_sr.py)
    hr = tmp_path / "chelsea.png"
    Image.fromarray(skimage.data.chelsea()[:256, 96:352]).save(hr)
    result = evaluate_sr("srgan-tiny", [hr], device="cpu").summary()
    assert result["scale"] == 4
    assert result["psnr_gain_db"] > 0.3, result
    assert result["ssim"] > result["bicubic_ssim"]
