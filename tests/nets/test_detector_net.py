import numpy as np
import pytest
import torch
from skimage import data

from translate.eval.metrics import roc_auc
from translate.nets import DISCRIMINATORS, build_net
from translate.nets.detector import Detector


def test_registered_with_full_spec():
    assert DISCRIMINATORS["detector"] is Detector
    net = build_net("detector", width=8, n_blocks=2, spectrum_bins=16)
    assert net._translate_spec == ("detector", {
        "in_nc": 3, "width": 8, "n_blocks": 2, "spectrum_bins": 16, "spectrum_hidden": 64,
        "residual_clamp": 0.0, "dropout": 0.2})
    assert net.multiple == 1
    # the fixed high-pass kernels are constants, not weights in the model file
    assert not any(k.startswith("highpass") for k in net.state_dict())


@pytest.mark.parametrize("size", [(8, 8), (37, 53), (64, 64), (96, 160)])
def test_one_logit_per_image_for_any_size(size):
    net = build_net("detector", width=8, n_blocks=3).eval()
    with torch.no_grad():
        out = net(torch.rand(3, 3, *size) * 2 - 1)
    assert out.shape == (3,) and torch.isfinite(out).all()


def test_spectrum_branch_can_be_turned_off():
    net = build_net("detector", width=8, n_blocks=1, spectrum_bins=0).eval()
    assert net.spectrum_mlp is None
    assert net(torch.rand(2, 3, 16, 16)).shape == (2,)


def test_both_branches_get_gradients_and_highpass_is_fixed():
    net = build_net("detector", width=8, n_blocks=2)
    net(torch.rand(4, 3, 32, 32) * 2 - 1).sum().backward()
    assert net.cnn[0].weight.grad.abs().sum() > 0
    assert net.spectrum_mlp[0].weight.grad.abs().sum() > 0
    assert list(net.highpass.parameters()) == []


def test_too_small_input_is_a_clear_error():
    with pytest.raises(ValueError, match="at least 8x8"):
        build_net("detector", width=4, n_blocks=1)(torch.rand(1, 3, 4, 4))


def _crops(rng, n, size):
    photos = [data.astronaut(), data.chelsea(), data.coffee(), data.rocket()]
    out = []
    for i in range(n):
        img = photos[i % len(photos)]
        y, x = rng.integers(0, img.shape[0] - size), rng.integers(0, img.shape[1] - size)
        out.append(img[y:y + size, x:x + size])
    return np.stack(out)


def _to_tensor(batch):
    return torch.as_tensor(batch, dtype=torch.float32).permute(0, 3, 1, 2) / 127.5 - 1


def _make_set(rng, n):
    real = _crops(rng, n, 32)
    fake = np.repeat(np.repeat(_crops(rng, n, 16), 2, 1), 2, 2)  # nearest x2 up-sampling, natural content
    x = _to_tensor(np.concatenate([real, fake]))
    y = torch.cat([torch.zeros(n), torch.ones(n)])
    return x, y




def test_learns_to_flag_upsampled_crops(one_torch_thread):
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    x_train, y_train = _make_set(rng, 48)
    x_test, y_test = _make_set(rng, 24)
    net = build_net("detector", width=8, n_blocks=2, spectrum_bins=32)
    opt = torch.optim.Adam(net.parameters(), lr=2e-3)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    for step in range(40):
        idx = torch.randint(0, len(x_train), (16,))
        loss = loss_fn(net(x_train[idx]), y_train[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    net.eval()
    with torch.no_grad():
        scores = net(x_test).numpy()
    assert roc_auc(y_test.numpy(), scores) >= 0.95


def test_model_file_roundtrip(tmp_path):
    from translate.weights.modelfile import ModelInfo, load_model, save_model

    net = build_net("detector", width=8, n_blocks=2, spectrum_bins=16).eval()
    path = save_model(tmp_path / "det.safetensors", {"D": net},
                      ModelInfo(task="detect", method="detector", nets={}, extra={"temperature": 1.5, "threshold": 0.7}))
    loaded = load_model(path)
    x = torch.rand(2, 3, 40, 48) * 2 - 1
    with torch.no_grad():
        assert torch.allclose(loaded.nets["D"].eval()(x), net(x), atol=1e-6)
    assert loaded.info.extra == {"temperature": 1.5, "threshold": 0.7}
