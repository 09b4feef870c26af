"""The train and apply commands as a user meets them: help, clear one-line errors, outputs where promised.
(Run in this process by conftest's translate_cli: the same main() a user's `translate` runs, without an
interpreter start per call.)"""
import numpy as np
import pytest
from conftest import translate_cli
from PIL import Image
from synthetic import images, write_images

from translate import __version__
from translate.nets import build_generator
from translate.weights.modelfile import ModelInfo, save_model


@pytest.fixture
def cli(capsys):
    """`translate ARGS` in this process -> (exit code, stdout, stderr)."""
    return lambda *args: translate_cli(capsys, *args)


def one_line_error(result, *words):
    code, _, err = result
    assert code == 1, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    for w in words:
        assert w in lines[0], lines[0]


def test_version_and_help(cli):
    code, out, _ = cli("--version")
    assert code == 0 and __version__ in out
    for args in (["--help"], ["train", "cyclegan", "--help"], ["train", "pix2pix", "--help"], ["apply", "--help"]):
        code, out, _ = cli(*args)
        assert code == 0 and "Example" in out, args


def test_train_bad_inputs(cli, tmp_path):
    one_line_error(cli("train", "cyclegan", "--a", str(tmp_path / "nope"), "--b", str(tmp_path)), "does not exist")
    (tmp_path / "text").mkdir()
    (tmp_path / "text" / "notes.txt").write_text("hello")
    one_line_error(cli("train", "cyclegan", "--a", str(tmp_path / "text"), "--b", str(tmp_path / "text")), "holds no images")
    one_line_error(cli("train", "pix2pix", "--a", str(tmp_path)), "--data")
    write_images(tmp_path / "imgs", images(2, 40, 0))
    one_line_error(cli("train", "cyclegan", "--a", str(tmp_path / "imgs"), "--b", str(tmp_path / "imgs"),
                       "--size", "32", "--netG", "resnet_99", "--out", str(tmp_path / "runs")), "--netG")
    code, _, _ = cli("train", "cyclegan", "--a", str(tmp_path / "imgs"), "--b", str(tmp_path / "imgs"), "--size", "0")
    assert code == 2  # a usage error


@pytest.fixture(scope="module")
def cyclegan_model(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "c.safetensors"
    nets = {k: build_generator("resnet_6blocks", ngf=4) for k in ("G_A", "G_B")}
    save_model(path, nets, ModelInfo(task="translate", method="cyclegan", nets={}, name="tiny",
                                     directions={"AtoB": ["G_A"], "BtoA": ["G_B"]}, multiple=4))
    return path


@pytest.fixture(scope="module")
def pix2pix_model(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "p.safetensors"
    save_model(path, {"G": build_generator("unet_32", ngf=4)},
               ModelInfo(task="translate", method="pix2pix", nets={}, directions={"AtoB": ["G"]}, multiple=32))
    return path


def test_apply_image_and_folder(cli, tmp_path, cyclegan_model):
    src = tmp_path / "in"
    write_images(src / "sub", images(3, 36, 0))
    odd = np.zeros((37, 51, 3), np.uint8)
    Image.fromarray(odd).save(src / "odd.jpg")
    out = tmp_path / "out"
    code, stdout, err = cli("apply", str(src / "odd.jpg"), str(src), "--model", str(cyclegan_model), "-o", str(out),
                            "--direction", "BtoA")
    assert code == 0, err
    assert "wrote 5 image(s)" in stdout  # odd.jpg twice: once alone, once inside the folder
    assert Image.open(out / "odd.png").size == (51, 37)  # padded to the net's multiple and cropped back
    assert sorted(p.name for p in (out / "in" / "sub").iterdir()) == ["img_0000.png", "img_0001.png", "img_0002.png"]
    assert "tiny" in Image.open(out / "odd.png").text.get("translate_model", "")
    again = cli("apply", str(src / "odd.jpg"), "--model", str(cyclegan_model), "-o", str(out))
    one_line_error(again, "--overwrite")
    assert cli("apply", str(src / "odd.jpg"), "--model", str(cyclegan_model), "-o", str(out), "--overwrite")[0] == 0


def test_apply_errors(cli, tmp_path, pix2pix_model):
    write_images(tmp_path, images(1, 32, 0))
    img = str(tmp_path / "img_0000.png")
    one_line_error(cli("apply", img, "--model", str(pix2pix_model), "-o", str(tmp_path / "o"), "--direction", "BtoA"),
                   "one generator")
    one_line_error(cli("apply", img, "--model", "no-such-model", "-o", str(tmp_path / "o")), "no-such-model")
    one_line_error(cli("apply", str(tmp_path / "missing.png"), "--model", str(pix2pix_model), "-o", str(tmp_path / "o")),
                   "does not exist")
    one_line_error(cli("apply", img, "--model", str(pix2pix_model), "-o", str(tmp_path)), "overwrite an input")
    code, _, err = cli("apply", img, "--model", str(pix2pix_model), "-o", str(tmp_path / "o"))
    assert code == 0 and Image.open(tmp_path / "o" / "img_0000.png").size == (32, 32), err
