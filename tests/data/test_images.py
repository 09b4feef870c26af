"""Any image users have loads as 8-bit RGB; bad folders give one clear error."""
import numpy as np
import pytest
from PIL import Image

from translate.data.images import check_images, list_images, load_rgb, usable_images
from translate.errors import UserError


def test_modes_load_as_rgb(tmp_path):
    rng = np.random.default_rng(0)
    gray = (rng.random((20, 30)) * 255).astype(np.uint8)
    Image.fromarray(gray, "L").save(tmp_path / "gray.png")
    rgba = np.dstack([np.full((20, 30, 3), 10, np.uint8), np.zeros((20, 30), np.uint8)])  # fully transparent
    Image.fromarray(rgba, "RGBA").save(tmp_path / "rgba.png")
    deep = (np.linspace(0, 65535, 600).reshape(20, 30)).astype(np.uint16)
    Image.fromarray(deep).save(tmp_path / "deep.png")
    Image.fromarray(np.full((20, 30, 3), 200, np.uint8)).convert("CMYK").save(tmp_path / "cmyk.jpg")

    g = load_rgb(tmp_path / "gray.png")
    assert g.shape == (20, 30, 3) and g.dtype == np.uint8 and (g[..., 0] == gray).all()
    assert (load_rgb(tmp_path / "rgba.png") == 255).all()  # transparent over white
    d = load_rgb(tmp_path / "deep.png")
    assert d.shape == (20, 30, 3) and d[0, 0, 0] == 0 and d[-1, -1, 0] == 255
    c = load_rgb(tmp_path / "cmyk.jpg")
    assert c.shape == (20, 30, 3) and abs(int(c.mean()) - 200) < 6


def test_exif_orientation_is_honoured(tmp_path):
    img = Image.fromarray(np.zeros((10, 40, 3), np.uint8))  # wide
    exif = img.getexif()
    exif[0x0112] = 6  # rotate 90 on display
    img.save(tmp_path / "rot.jpg", exif=exif.tobytes())
    assert load_rgb(tmp_path / "rot.jpg").shape == (40, 10, 3)


def test_unreadable_and_small_images_are_counted(tmp_path):
    Image.fromarray(np.zeros((64, 64, 3), np.uint8)).save(tmp_path / "ok.png")
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(tmp_path / "tiny.png")
    (tmp_path / "broken.jpg").write_bytes(b"not a jpeg")
    (tmp_path / "empty.png").write_bytes(b"")
    check = check_images(list_images(tmp_path), 16, 16)
    assert [p.name for p in check.usable] == ["ok.png"]
    assert len(check.unreadable) == 2 and len(check.too_small) == 1


def test_folder_errors_are_one_line(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        list_images(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="holds no images"):
        list_images(tmp_path / "empty")
    (tmp_path / "small").mkdir()
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(tmp_path / "small" / "a.png")
    with pytest.raises(UserError, match="no usable images.*1 too small"):
        usable_images(tmp_path / "small", 16, 16, "A")
