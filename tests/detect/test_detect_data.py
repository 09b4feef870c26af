import numpy as np
import pytest
import torch
from PIL import Image
from skimage import data

from translate.detect.data import (
    NONE,
    Degradations,
    DetectorDataset,
    folder_items,
    h264_roundtrip,
    source_of,
    split_by_source,
)
from translate.errors import UserError


@pytest.fixture(scope="module")
def photo():
    return data.chelsea()  # 300x451


def test_items_give_tensors_of_the_crop_size(photo):
    ds = DetectorDataset([(photo, 0), (photo[:50, :70], 1)], crop=64)
    x, y = ds[0]
    assert x.shape == (3, 64, 64) and x.dtype == torch.float32 and -1 <= x.min() and x.max() <= 1
    assert y.item() == 0.0
    x, y = ds[1]  # smaller than the crop: reflect-padded, never up-scaled
    assert x.shape == (3, 64, 64) and y.item() == 1.0


def test_randomness_is_seeded_and_changes_per_epoch(photo):
    ds = DetectorDataset([(photo, 0)], crop=64, seed=3)
    a, b = ds[0][0], ds[0][0]
    assert torch.equal(a, b)
    ds.set_epoch(1)
    assert not torch.equal(a, ds[0][0])
    val = DetectorDataset([(photo, 0)], crop=64, train=False)
    v0 = val[0][0]
    val.set_epoch(5)
    assert torch.equal(v0, val[0][0])


def test_degradations_do_not_depend_on_the_label(photo):
    deg = Degradations(p_resize=1.0, p_blur=1.0, p_jpeg=1.0)
    real = DetectorDataset([(photo, 0)], crop=64, degradations=deg, seed=1)
    fake = DetectorDataset([(photo, 1)], crop=64, degradations=deg, seed=1)
    assert torch.equal(real[0][0], fake[0][0])
    clean = DetectorDataset([(photo, 0)], crop=64, degradations=NONE, train=False)[0][0]
    centre = photo[118:182, 193:257]
    assert torch.allclose(clean, torch.as_tensor(centre).permute(2, 0, 1).float() / 127.5 - 1, atol=1e-6)


def test_h264_roundtrip_keeps_size_and_loses_detail(photo):
    try:
        out = h264_roundtrip(photo[:63, :81], crf=35)
    except (UserError, FileNotFoundError) as e:
        pytest.skip(f"no ffmpeg: {e}")
    assert out.shape == (63, 81, 3) and out.dtype == np.uint8
    err = np.abs(out.astype(int) - photo[:63, :81]).mean()
    assert 0.5 < err < 20


def test_folders_and_split_by_source(tmp_path, photo):
    for folder, names in {"real": ["cat__0.png", "cat__1.png", "dog__0.png", "owl.png"],
                          "fake": ["cat__srgan__0.png", "dog__cyclegan__0.png", "owl__pix2pix.png"]}.items():
        (tmp_path / folder).mkdir()
        for n in names:
            Image.fromarray(photo[:32, :32]).save(tmp_path / folder / n)
    items = folder_items(tmp_path / "real", tmp_path / "fake")
    assert sum(label for _, label in items) == 3 and len(items) == 7
    assert source_of("cat__srgan__0.png") == "cat"
    train, val = split_by_source(items, 0.34, seed=0)
    assert len(train) + len(val) == 7 and val
    assert not {source_of(p) for p, _ in train} & {source_of(p) for p, _ in val}
    with pytest.raises(UserError, match="no images"):
        (tmp_path / "empty").mkdir()
        folder_items(tmp_path / "real", tmp_path / "empty")
