"""Alignment: Umeyama fit, template/centering, crop and inverse warp round trips, quality checks."""
import cv2
import numpy as np
import pytest
import skimage.data

from translate.faces import align
from translate.faces.landmarks import make_detector


@pytest.fixture(scope="module")
def astronaut_landmarks():
    return make_detector("dlib").detect(skimage.data.astronaut())[0].landmarks


def test_umeyama_recovers_a_known_similarity():
    rng = np.random.default_rng(0)
    src = rng.uniform(0, 100, (51, 2))
    a, s, t = 0.3, 1.7, np.array([12.0, -7.0])
    R = s * np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    m = align.umeyama(src, src @ R.T + t)
    assert np.allclose(m[:, :2], R, atol=1e-9) and np.allclose(m[:, 2], t, atol=1e-7)


def umeyama_by_hand(src, dst):
    """The hand-written Umeyama fit align.umeyama used before it went to scikit-image (the reference)."""
    src, dst = np.asarray(src, np.float64), np.asarray(dst, np.float64)
    mu_s, mu_d = src.mean(0), dst.mean(0)
    s0, d0 = src - mu_s, dst - mu_d
    u, sig, vt = np.linalg.svd(d0.T @ s0 / len(src))
    fix = np.array([1.0, -1.0 if np.linalg.det(u) * np.linalg.det(vt) < 0 else 1.0])
    mat = np.zeros((2, 3))
    mat[:, :2] = (sig * fix).sum() / ((s0 ** 2).sum() / len(src)) * (u @ np.diag(fix) @ vt)
    mat[:, 2] = mu_d - mat[:, :2] @ mu_s
    return mat


def test_umeyama_equals_the_hand_written_fit(astronaut_landmarks):
    rng = np.random.default_rng(1)
    pairs = [(astronaut_landmarks[align.INNER], align.template(256, c)) for c in align.CENTERINGS]
    for _ in range(5):  # noisy general affine maps, and a mirror image (the reflection case)
        src = rng.uniform(0, 500, (51, 2))
        pairs.append((src, src @ rng.normal(size=(2, 2)).T + rng.normal(0, 3, src.shape)))
    pairs.append((pairs[-1][0], pairs[-1][0] * [-1, 1]))
    for src, dst in pairs:
        assert np.abs(align.umeyama(src, dst) - umeyama_by_hand(src, dst)).max() < 1e-9
    one_point = np.ones((51, 2))  # degenerate: only the shift is defined
    assert np.allclose(align.umeyama(one_point, one_point + [3, 4]), [[1, 0, 3], [0, 1, 4]])


def test_template_spans_by_centering():
    spans = {c: np.ptp(align.template(256, c)[:, 0]) for c in align.CENTERINGS}
    # the unit mean face fills 1 - ratio of the crop: legacy 62.5 %, face 50 %, head 37.5 %
    for c, ratio in align.CENTERING_RATIO.items():
        assert spans[c] == pytest.approx(np.ptp(align.MEAN_FACE[:, 0]) * 256 * (1 - ratio))
    assert spans["legacy"] > spans["face"] > spans["head"]


def test_aligned_landmarks_sit_on_the_template(astronaut_landmarks):
    for c in align.CENTERINGS:
        crop, m = align.align_face(skimage.data.astronaut(), astronaut_landmarks, 256, c)
        assert crop.shape == (256, 256, 3) and crop.dtype == np.uint8
        ok, err = align.check_alignment(astronaut_landmarks, m, 256, c)
        assert ok and err < 0.05  # measured 0.031


def test_round_trip_maps_landmarks_back_within_a_pixel(astronaut_landmarks):
    m = align.align_matrix(astronaut_landmarks, 256, "face")
    back = align.transform_points(align.transform_points(astronaut_landmarks, m), align.invert(m))
    assert np.abs(back - astronaut_landmarks).max() < 1e-6
    # pixels too: a crop warped back reproduces the frame under the face (detected again within 1 px)
    photo = skimage.data.astronaut()
    crop, m = align.align_face(photo, astronaut_landmarks, 512, "face")
    back = align.warp_back(crop, m, photo.shape[:2], dst=photo)
    det = make_detector("dlib").detect(back)[0]
    assert np.linalg.norm(det.landmarks - astronaut_landmarks, axis=1).mean() < 1.0


def test_shrinking_path_matches_a_direct_warp(astronaut_landmarks):
    photo = skimage.data.astronaut()
    crop, m = align.align_face(photo, astronaut_landmarks, 64, "face")  # face shrinks ~2x: area path
    assert align.matrix_scale(m) < 1
    blurred = cv2.GaussianBlur(photo, (0, 0), 0.6 / align.matrix_scale(m))
    direct = cv2.warpAffine(blurred, m, (64, 64), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    mse = np.mean((crop.astype(float) - direct) ** 2)
    assert 10 * np.log10(255 ** 2 / mse) > 28


def test_quality_checks_reject_bad_fits(astronaut_landmarks):
    m = align.align_matrix(astronaut_landmarks, 256)
    assert align.eyes_above_mouth(astronaut_landmarks, m)
    flipped = astronaut_landmarks.copy()
    flipped[:, 1] = 600 - flipped[:, 1]  # mirror vertically: an upside-down face that fits the template badly
    fm = align.align_matrix(flipped, 256)
    assert not align.check_alignment(flipped, fm, 256)[0]
    noise = np.random.default_rng(1).uniform(100, 300, (68, 2))
    assert align.alignment_error(noise, align.align_matrix(noise, 256), 256) > 0.1
