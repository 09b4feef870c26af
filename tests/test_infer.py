"""Translator: any frame size in, the same size (x scale) out; tiles match the whole-image result."""
import numpy as np
import pytest
import torch

from translate.errors import UserError
from translate.infer import Translator
from translate.nets import build_generator
from translate.weights.modelfile import ModelInfo, load_model, save_model


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("m") / "m.safetensors"
    save_model(path, {"G_A": build_generator("resnet_6blocks", ngf=4), "G_B": build_generator("resnet_6blocks", ngf=4)},
               ModelInfo(task="translate", method="cyclegan", nets={}, directions={"AtoB": ["G_A"], "BtoA": ["G_B"]}, multiple=4))
    return path


def test_sizes_batches_and_directions(model_path):
    t = Translator(model_path, device="cpu", precision="fp32", batch_size=3)
    frames = np.random.default_rng(0).integers(0, 255, (7, 33, 45, 3), dtype=np.uint8)
    out = t(frames)
    assert out.shape == frames.shape and out.dtype == np.uint8
    assert np.array_equal(t(frames[2:3])[0], out[2])  # batching does not change a frame
    back = Translator(model_path, direction="BtoA", device="cpu", precision="fp32")(frames[:1])
    assert not np.array_equal(back, out[:1])
    with pytest.raises(UserError):
        Translator(model_path, direction="sideways", device="cpu")


def test_tiles_match_whole_image(model_path):
    frames = np.random.default_rng(1).integers(0, 255, (1, 64, 80, 3), dtype=np.uint8)
    whole = Translator(model_path, device="cpu", precision="fp32")(frames).astype(int)
    tiled = Translator(model_path, device="cpu", precision="fp32", tile=32, tile_pad=24)(frames).astype(int)
    # instance norm sees different statistics per tile, so tiles are close, not bit-equal
    assert np.abs(whole - tiled).mean() < 6


def test_loaded_model_rebuilds_without_flags(model_path):
    loaded = load_model(model_path)
    assert loaded.info.nets["G_A"]["arch"] == "resnet_6blocks" and loaded.info.nets["G_A"]["kwargs"]["ngf"] == 4
    assert len(loaded.sha256) == 64
