import numpy as np
import pytest
import torch
from skimage import data

from translate.detect.features import (
    HighPassResidual,
    radial_spectrum,
    spectrum_feature,
)

SIZE = 64


@pytest.fixture(scope="module")
def photos():
    return [data.astronaut(), data.chelsea(), data.coffee(), data.rocket(), np.stack([data.camera()] * 3, -1)]


def random_crops(photos, rng, per_photo, size=SIZE):
    out = []
    for img in photos:
        for _ in range(per_photo):
            y = rng.integers(0, img.shape[0] - size)
            x = rng.integers(0, img.shape[1] - size)
            out.append(img[y:y + size, x:x + size])
    return out


def nearest_up(img):
    return np.repeat(np.repeat(img, 2, 0), 2, 1)


def transposed_conv_up(img, conv):
    t = torch.as_tensor(np.ascontiguousarray(img), dtype=torch.float32).permute(2, 0, 1)[None] / 255.0
    with torch.no_grad():
        return conv(t)[0].permute(1, 2, 0).numpy()


def held_out_accuracy(real, fake, seed=0):
    linear_model = pytest.importorskip("sklearn.linear_model")
    X = np.array([spectrum_feature(x) for x in list(real) + list(fake)])
    y = np.r_[np.zeros(len(real)), np.ones(len(fake))]
    order = np.random.default_rng(seed).permutation(len(X))
    train, test = order[: len(X) // 2], order[len(X) // 2:]
    clf = linear_model.LogisticRegression(max_iter=2000).fit(X[train], y[train])
    return clf.score(X[test], y[test])


def test_highpass_shape_and_cancels_smooth_content():
    hp = HighPassResidual()
    x = torch.rand(2, 3, 20, 24)
    assert hp(x).shape == (2, 9, 20, 24)
    yy, xx = torch.meshgrid(torch.arange(20.0), torch.arange(24.0), indexing="ij")
    ramp = (0.3 + 0.01 * yy + 0.02 * xx).expand(1, 3, 20, 24)
    r = hp(ramp)[..., 2:-2, 2:-2]  # away from the reflect-padded border
    assert r.abs().max() < 1e-5  # constants and linear ramps leave no residual
    assert hp(x).abs().mean() > 0.05  # noise does
    assert list(hp.parameters()) == []  # fixed, never trained


def test_spectrum_is_size_agnostic_and_standardised():
    for h, w in [(64, 64), (48, 80), (17, 17), (301, 257)]:
        f = radial_spectrum(torch.rand(3, 3, h, w), bins=32)
        assert f.shape == (3, 32)
        assert torch.isfinite(f).all()
        assert torch.allclose(f.mean(1), torch.zeros(3), atol=1e-5)
        assert torch.allclose(f.std(1), torch.ones(3), atol=1e-3)


def test_spectrum_batch_matches_single_and_ignores_brightness(photos):
    crop = photos[0][:SIZE, :SIZE]
    single = spectrum_feature(crop)
    batch = radial_spectrum(torch.as_tensor(np.stack([crop, crop * 0.5 + 60.0])).permute(0, 3, 1, 2).float())
    assert np.allclose(batch[0].numpy(), single, atol=1e-4)
    assert np.allclose(batch[1].numpy(), single, atol=1e-3)  # contrast/brightness change
    assert single[:8].mean() > single[-8:].mean()  # natural images: power falls with frequency


def test_spectrum_separates_upsampled_noise_from_photos(photos):
    rng = np.random.default_rng(0)
    torch.manual_seed(0)
    conv = torch.nn.ConvTranspose2d(3, 3, 4, stride=2, padding=1)
    real = random_crops(photos, rng, 12)
    fake = [nearest_up(rng.uniform(0, 255, (SIZE // 2, SIZE // 2, 3))) for _ in range(30)]
    fake += [transposed_conv_up(rng.uniform(0, 255, (SIZE // 2, SIZE // 2, 3)), conv) for _ in range(30)]
    assert held_out_accuracy(real, fake) >= 0.95


def test_spectrum_separates_upsampled_photos_from_native_photos(photos):
    # the realistic cue: content is natural in both classes, only the up-sampling layer differs
    rng = np.random.default_rng(1)
    torch.manual_seed(1)
    conv = torch.nn.ConvTranspose2d(3, 3, 4, stride=2, padding=1)
    real = random_crops(photos, rng, 12)
    small = [c[::2, ::2] for c in random_crops(photos, rng, 12)]
    fake = [nearest_up(c) for c in small[::2]] + [transposed_conv_up(c, conv) for c in small[1::2]]
    assert held_out_accuracy(real, fake) >= 0.9
