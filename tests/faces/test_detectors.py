"""Face box detectors x landmark models: RetinaFace boxes with dlib landmarks, every combination, real 300-W faces."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
import skimage.data

pytest.importorskip("dlib")

from translate.errors import UserError  # noqa: E402
from translate.faces import landmarks as lm  # noqa: E402
from translate.faces.landmarks import make_detector  # noqa: E402


@pytest.fixture(scope="module")
def retinaface():
    """RetinaFace boxes + dlib landmarks; the ONNX file is fetched by `make setup` (skip where it cannot be)."""
    from translate.faces.retinaface import model_file

    try:
        model_file(fetch=True)
    except UserError as e:
        pytest.skip(f"retinaface-mnet025 is not fetched and cannot be: {e}")
    return make_detector("dlib", detector="retinaface")


@pytest.fixture(scope="module")
def hog():
    return make_detector("dlib", detector="dlib")


def _rotated(img: np.ndarray, degrees: float) -> np.ndarray:
    h, w = img.shape[:2]
    return cv2.warpAffine(img, cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0), (w, h))


def test_retinaface_boxes_give_dlib_landmarks_as_good_as_dlibs_own(retinaface, hog):
    img = skimage.data.astronaut()
    ours, theirs = retinaface.detect(img), hog.detect(img)
    assert retinaface.name == "retinaface+dlib" and len(ours) == len(theirs) == 1
    a, b = ours[0].landmarks, theirs[0].landmarks
    assert np.linalg.norm(a - b, axis=1).mean() / np.linalg.norm(b[36] - b[45]) < 0.03  # measured 0.010
    assert retinaface.detect(skimage.data.coffee()) == []


def test_retinaface_finds_tilted_and_small_faces_that_hog_misses(retinaface, hog):
    img = skimage.data.astronaut()
    tilted = _rotated(img, 40)
    small = cv2.resize(img, (128, 128), interpolation=cv2.INTER_AREA)  # a face of about 25 px
    assert hog.detect(tilted) == [] and hog.detect(small) == []
    assert len(retinaface.detect(tilted)) == 1 and len(retinaface.detect(small)) == 1


def test_retinaface_decoding_matches_a_plain_reference(retinaface):
    """Anchors in the network's output order: first anchor of each stride at its first cell, sizes as documented."""
    from translate.faces.retinaface import anchors

    a = anchors(64, 96)
    assert a.shape == (2 * (8 * 12 + 4 * 6 + 2 * 3), 4)
    assert np.allclose(a[0], [4 / 96, 4 / 64, 16 / 96, 16 / 64]) and np.allclose(a[1, 2:], [32 / 96, 32 / 64])
    assert np.allclose(a[2 * 96, :2], [8 / 96, 8 / 64])  # stride 16 starts after the 96 stride-8 cells


@pytest.mark.parametrize("detector", ["auto", "retinaface", "dlib", "sfd"])
@pytest.mark.parametrize("landmarks", ["dlib", "fan"])
def test_every_combination_runs_or_names_the_file_it_needs(detector, landmarks, retinaface, tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))  # no FAN/S3FD files at hand
    if lm.find_fan_weights() is not None:
        pytest.skip("FAN weights are installed: this test is about a machine without them")
    needs_fan_files = landmarks == "fan" or detector == "sfd"
    if needs_fan_files:
        with pytest.raises(UserError, match=r"s3fd-619a316812\.pth|2DFAN4"):
            make_detector(landmarks, detector=detector)
        return
    det = make_detector(landmarks, detector=detector)
    faces = det.detect(skimage.data.astronaut())
    assert len(faces) == 1 and faces[0].landmarks.shape == (68, 2)
    assert det.name == {"auto": "retinaface+dlib", "retinaface": "retinaface+dlib", "dlib": "dlib"}[detector]


def test_unknown_detector_is_one_clear_error():
    with pytest.raises(UserError, match="unknown face detector 'mtcnn'"):
        make_detector("dlib", detector="mtcnn")


@pytest.mark.realdata
def test_retinaface_finds_the_annotated_300w_faces(retinaface, shared_data):
    """A face is found when a box overlaps the box of its annotated landmarks with IoU >= 0.5 (scripts/bench/faces.py)."""
    def iou(a, b):
        x0, y0, x1, y1 = max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])
        inter = max(0.0, x1 - x0) * max(0.0, y1 - y0)
        return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)

    boxes = lm.RetinaFaceBoxes()
    for folder, need in (("300w_helen_test", 29), ("300w_afw", 19)):
        files = sorted((shared_data / "faces" / folder).glob("*.pts"))
        found = 0
        for pts in files:
            truth = np.loadtxt(pts)[:68] - 1
            gt = (*truth.min(0), *truth.max(0))
            rgb = cv2.cvtColor(cv2.imread(str(pts.with_suffix(".jpg"))), cv2.COLOR_BGR2RGB)
            found += any(iou(b, gt) >= 0.5 for b, _ in boxes.boxes(rgb))
        assert found >= need, (folder, found, len(files))
