"""The models learn: on a synthetic task with a known mapping (swap red and blue), the trained generator
gets close to the true mapping, far closer than leaving the image unchanged."""
import numpy as np
import pytest
from synthetic import images, swap_red_blue, write_images

from translate.infer import Translator
from translate.methods.base import DataConfig
from translate.methods.cyclegan import CycleGANConfig
from translate.methods.pix2pix import Pix2PixConfig
from translate.training import LoopConfig, RunSpec, start_run

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def mapping_error(run_dir, direction=None):
    """Mean absolute error (0..255) of the model vs the true mapping, and the identity baseline, on unseen images."""
    translator = Translator(run_dir, direction=direction, device="cpu", precision="fp32")
    xs = np.stack(images(16, 32, seed=99))
    ys = np.stack([swap_red_blue(x) for x in xs])
    if direction == "BtoA":  # B-domain inputs, A-domain targets
        xs, ys = ys, xs
    return np.abs(translator(xs).astype(float) - ys).mean(), np.abs(xs.astype(float) - ys).mean()


def loop(tmp_path, steps, precision="auto"):
    device = "cuda" if precision == "cuda-auto" else "cpu"
    return LoopConfig(name="run", out=str(tmp_path / "runs"), steps=steps, batch_size=4, workers=0, device=device,
                      sample_every=10_000, save_every=10_000, log_every=25, seed=0,
                      precision="auto" if precision == "cuda-auto" else precision)


@pytest.fixture(params=["fp32", "auto+winograd", "bf16", pytest.param("cuda-auto", marks=pytest.mark.gpu)])
def precision(request, monkeypatch):
    """Plain fp32; --precision auto with the Winograd convs forced onto these small nets (on a CPU without
    bf16, auto is fp32 + Winograd for 3x3 convs of >= 128 channels; the test nets have 32); bf16 autocast on
    the CPU (emulated where the CPU lacks bf16: slow, same maths as on bf16 hardware); auto on CUDA."""
    if request.param == "auto+winograd":
        monkeypatch.setattr("translate.nets.winograd.MIN_CHANNELS", 16)
        monkeypatch.setenv("TRANSLATE_CPU_BF16", "0")  # auto's fp32 path, on bf16 CPUs too
        return "auto"
    return request.param


def test_cyclegan_learns_unpaired_colour_mapping(tmp_path, precision, capsys):
    write_images(tmp_path / "a", images(40, 32, seed=1))
    write_images(tmp_path / "b", [swap_red_blue(x) for x in images(40, 32, seed=2)])  # unpaired: other images
    # bf16 is emulated on AVX2-only CPUs (0.5 s a step here): 60 steps reach err/baseline ~0.30, the others 100
    spec = RunSpec("cyclegan", loop(tmp_path, 60 if precision == "bf16" else 100, precision),
                   DataConfig(a=str(tmp_path / "a"), b=str(tmp_path / "b"), size=32, load_size=32, preprocess="resize"),
                   CycleGANConfig(netG="resnet_6blocks", ngf=8, ndf=8, lambda_identity=0.0, lr=2e-3))
    assert start_run(spec, resume=False) == 0
    if precision == "auto":  # the fast path really ran
        assert "fp32+winograd" in capsys.readouterr().err
    err, baseline = mapping_error(tmp_path / "runs" / "run")
    assert baseline > 80
    assert err < 0.45 * baseline, (err, baseline)
    back, _ = mapping_error(tmp_path / "runs" / "run", direction="BtoA")
    assert back < 0.45 * baseline, back


def test_pix2pix_learns_paired_mapping(tmp_path):
    pairs = [np.concatenate([x, swap_red_blue(x)], axis=1) for x in images(40, 32, seed=3)]
    write_images(tmp_path / "ab", pairs)
    spec = RunSpec("pix2pix", loop(tmp_path, 100, "fp32"),  # the bound is fp32's (auto is bf16 on bf16 CPUs)
                   DataConfig(data=str(tmp_path / "ab"), size=32, load_size=32, preprocess="resize"),
                   Pix2PixConfig(netG="unet_32", ngf=8, ndf=8, lr=2e-3))
    assert start_run(spec, resume=False) == 0
    err, baseline = mapping_error(tmp_path / "runs" / "run")
    assert err < 0.25 * baseline, (err, baseline)
