"""Landmark backends: dlib on real photos (still, panned and zoomed), fan's offline loading path."""
import cv2
import numpy as np
import pytest
import skimage.data
import torch

from translate.errors import UserError
from translate.faces import align
from translate.faces import landmarks as lm
from translate.faces.landmarks import make_detector


def grace_hopper() -> np.ndarray:
    from matplotlib import cbook

    path = cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)
    return cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)


@pytest.fixture(scope="module")
def dlib_detector():
    return make_detector("dlib")


def test_dlib_finds_the_real_faces_and_not_the_coffee(dlib_detector):
    for photo in (skimage.data.astronaut(), grace_hopper()):
        faces = dlib_detector.detect(photo)
        assert len(faces) == 1
        f = faces[0]
        assert f.landmarks.shape == (68, 2) and f.landmarks.dtype == np.float32
        x0, y0, x1, y1 = f.box
        inner = f.landmarks[17:68]
        assert (inner[:, 0] > x0 - 5).all() and (inner[:, 0] < x1 + 5).all()
        assert (inner[:, 1] > y0 - 15).all() and (inner[:, 1] < y1 + 15).all()
        m = align.align_matrix(f.landmarks, 256)
        assert align.eyes_above_mouth(f.landmarks, m)
    assert dlib_detector.detect(skimage.data.coffee()) == []
    assert dlib_detector.detect(np.full((240, 320, 3), 128, np.uint8)) == []


def test_landmarks_follow_a_known_pan_and_zoom(dlib_detector):
    """A 320x320 window pans and zooms over the photo: landmarks = the still photo's landmarks moved by A_t."""
    photo = skimage.data.astronaut()
    ref = dlib_detector.detect(photo)[0].landmarks
    errors = []
    for t in range(10):
        z = 1.0 - 0.04 * t  # zoom out to 0.64 (face ~60 px: upsampled for HOG)
        c = np.array([220.0 + 4 * t, 150.0 + 2 * t])
        A = np.array([[z, 0, 160 - z * c[0]], [0, z, 160 - z * c[1]]])
        frame = cv2.warpAffine(photo, A, (320, 320), flags=cv2.INTER_AREA if z < 1 else cv2.INTER_CUBIC)
        faces = dlib_detector.detect(frame)
        assert len(faces) == 1, f"frame {t}"
        errors.append(np.linalg.norm(faces[0].landmarks - align.transform_points(ref, A), axis=1).mean())
    # measured: mean 0.5-0.9 px per frame
    assert max(errors) < 2.0, errors


def test_small_frames_are_upsampled_for_detection(dlib_detector):
    small = cv2.resize(skimage.data.astronaut(), (200, 200), interpolation=cv2.INTER_AREA)  # face ~35 px
    faces = dlib_detector.detect(small)
    assert len(faces) == 1
    ref = dlib_detector.detect(skimage.data.astronaut())[0].landmarks * (200 / 512)
    assert np.linalg.norm(faces[0].landmarks - ref, axis=1).mean() < 2.0


def test_refine_in_the_detection_box_reproduces_detect(dlib_detector):
    photo = skimage.data.astronaut()
    f = dlib_detector.detect(photo)[0]
    g = dlib_detector.refine(photo, [f.box])[0]
    assert np.abs(f.landmarks - g.landmarks).max() <= 1.0


@pytest.fixture
def weights_env(tmp_path, monkeypatch):
    """An empty TORCH_HOME, TRANSLATE_WEIGHTS and user cache: nothing of FAN's (or RetinaFace's) is at hand."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv("TRANSLATE_WEIGHTS", str(tmp_path / "weights"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    for d in lm.weight_dirs()[1:2]:  # the package folder must not hold real FAN files for these tests
        if any((d / n).exists() for n in lm.FAN_FILES):
            pytest.skip("FAN weights are installed in translate/weights/")

    def no_download(*a, **k):
        raise AssertionError("a download was attempted")

    monkeypatch.setattr(torch.hub, "download_url_to_file", no_download)
    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", no_download)
    return tmp_path / "torch" / "hub" / "checkpoints"


def test_missing_fan_weights_give_one_line_naming_files_urls_and_folder(weights_env):
    assert lm.find_fan_weights() is None
    with pytest.raises(UserError) as e:
        make_detector("fan")
    msg = str(e.value)
    assert "\n" not in msg
    for name in lm.FAN_FILES:
        assert name in msg and f"https://www.adrianbulat.com/downloads/python-fan/{name}" in msg
    assert "TRANSLATE_WEIGHTS" in msg and "--landmarks dlib" in msg
    assert make_detector("auto").name == "dlib"  # auto falls back and says so


def test_auto_picks_fan_when_its_files_are_in_the_torch_hub_cache(weights_env):
    """Stand-in weights (random init, fp16 to keep them small) placed where face-alignment looks."""
    from face_alignment.detection.sfd.net_s3fd import s3fd
    from face_alignment.models import FAN

    weights_env.mkdir(parents=True)
    fan = {k: v.half() for k, v in FAN(4).state_dict().items()}
    torch.save(fan, weights_env / lm.FAN_FILES[0])
    torch.save({k: v.half() for k, v in s3fd().state_dict().items()}, weights_env / lm.FAN_FILES[1])
    assert lm.find_fan_weights() == {n: weights_env / n for n in lm.FAN_FILES}
    det = make_detector("auto", device="cpu")
    assert det.name == "fan"
    loaded = det._fa.face_alignment_net.state_dict()  # the files were really loaded (no inference: random nets)
    assert all(torch.equal(loaded[k].half(), v) for k, v in list(fan.items())[:20])
    assert not isinstance(det._fa.face_alignment_net, torch._dynamo.eval_frame.OptimizedModule)  # no compile on CPU


def test_unknown_backend_is_a_user_error():
    with pytest.raises(UserError):
        make_detector("mtcnn")
