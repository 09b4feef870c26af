"""SRGAN's content features: VGG19 where present, else VGG16-HED relu5_3 or ST-LPIPS; named in the run; --init-from."""
from __future__ import annotations

import json

import pytest
import torch

from conftest import translate_cli
from synthetic import images, write_images
from translate.nets import build_generator, build_net
from translate.perceptual import build_content_loss, choose_content_features, hed_layer
from translate.weights.feature_files import save_feature_net
from translate.weights.modelfile import ModelInfo, read_info, save_model

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture
def no_vgg19(tmp_path, monkeypatch, isolated_weight_dirs):
    monkeypatch.setattr(torch.hub, "_hub_dir", None, raising=False)
    return isolated_weight_dirs


def random_feature_file(folder, arch: str, file: str) -> None:
    """A feature net with random weights under the manifest's file name: the plumbing, without a fetch."""
    torch.manual_seed(0)
    net = build_net(arch)
    for p in net.parameters():
        p.data.normal_(0, 0.05)
    save_feature_net(folder / file, net, arch, {})


def test_auto_takes_vgg16_hed_relu5_3_without_vgg19(no_vgg19):
    assert choose_content_features("auto") == "vgg16-hed"
    assert choose_content_features("st-lpips") == "st-lpips"
    assert hed_layer("vgg54") == "relu5_3" and hed_layer("conv4_3") == "conv4_3"
    from translate.errors import UserError

    with pytest.raises(UserError, match="relu5_3"):
        hed_layer("relu5_4")  # VGG19 has it, VGG16 does not
    (no_vgg19["torch"] / "hub" / "checkpoints").mkdir(parents=True)
    (no_vgg19["torch"] / "hub" / "checkpoints" / "vgg19-dcbb9e9d.pth").write_bytes(b"")
    assert choose_content_features("auto") == "vgg19"


def test_hed_and_st_lpips_content_losses_train_the_generator(no_vgg19):
    random_feature_file(no_vgg19["env"], "vgg16_hed", "vgg16-hed.safetensors")
    random_feature_file(no_vgg19["env"], "st_lpips_vgg", "st-lpips-vgg.safetensors")
    sr = torch.rand(2, 3, 24, 24, requires_grad=True)
    hr = torch.rand(2, 3, 24, 24)
    for features, words in (("auto", "VGG16-HED relu5_3"), ("st-lpips", "ST-LPIPS")):
        loss, description = build_content_loss(features)
        assert words in description
        value = loss(sr, hr)
        value.backward()
        assert value > 0 and sr.grad.abs().sum() > 0 and loss(hr, hr) == 0
        assert not any(p.requires_grad for p in loss.parameters())
        sr.grad = None


def test_default_run_names_its_content_features_and_init_from_rebuilds_the_released_generator(no_vgg19, tmp_path, capsys):
    random_feature_file(no_vgg19["env"], "vgg16_hed", "vgg16-hed.safetensors")
    write_images(tmp_path / "hr", images(4, 32, seed=1))
    # a file shaped like the released SRResNet (per-channel PReLU, BN eps 1e-3, tanh output), small
    released = build_generator("srgan", nf=8, n_blocks=2, scale=2, per_channel_prelu=True, bn_eps=1e-3, tanh_output=True)
    init = save_model(tmp_path / "srresnet-like.safetensors", {"G": released},
                      ModelInfo("sr", "srgan", {}, {"AtoB": ["G"]}, value_range=[0.0, 1.0], scale=2))
    code, out, err = translate_cli(capsys, "train", "srgan", "--data", str(tmp_path / "hr"), "--out", str(tmp_path / "runs"),
                                   "--name", "ft", "--scale", "2", "--size", "16", "--batch-size", "2", "--steps", "2",
                                   "--pretrain-steps", "1", "--ndf", "8", "--workers", "0", "--init-from", str(init),
                                   "--precision", "fp32", "-q")
    assert code == 0, err
    assert "content loss: VGG16-HED relu5_3" in err and "VGG19 weights are not on this machine" in err
    assert "initialised G from" in err
    config = json.loads((tmp_path / "runs" / "ft" / "config.json").read_text())["model"]
    assert config["netG"] == "srgan" and config["nf"] == 8 and config["per_channel_prelu"] and config["tanh_output"]
    info = read_info(tmp_path / "runs" / "ft" / "model.safetensors")
    assert info.nets["G"]["kwargs"]["bn_eps"] == 1e-3
    assert any("VGG16-HED relu5_3" in loss for loss in info.extra["losses"])
