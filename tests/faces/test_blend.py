"""Masks, colour correction, paste-back, and the faces -> blend stage chain on frames of a real face."""
from fractions import Fraction

import cv2
import numpy as np
import pytest
import skimage.data

from translate.faces import align, blend
from translate.faces.landmarks import make_detector
from translate.faces.stages import BlendStage, FacesStage
from translate.video.frames import FrameBatch, StreamInfo


def psnr(a, b):
    mse = np.mean((a.astype(np.float64) - b) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(255 ** 2 / mse)


@pytest.fixture(scope="module")
def frame():
    return np.ascontiguousarray(skimage.data.astronaut()[40:360, 60:380])  # 320x320, face ~90 px


@pytest.fixture(scope="module")
def face(frame):
    return make_detector("dlib").detect(frame)[0]


def test_masks_cover_the_face_and_extended_reaches_the_forehead(frame, face):
    crop, m = align.align_face(frame, face.landmarks, 256, "face")
    pts = align.transform_points(face.landmarks, m)
    comp = blend.face_mask(pts, 256, "components")
    ext = blend.face_mask(pts, 256, "extended")
    assert comp.dtype == np.float32 and 0 <= comp.min() and comp.max() <= 1
    nose = np.round(pts[30]).astype(int)
    assert comp[nose[1], nose[0]] > 0.99 and comp[2, 2] == 0
    assert ext.sum() > 1.2 * comp.sum()
    brow_top = int(pts[17:27, 1].min())
    assert ext[: brow_top - 5].sum() > 10 * comp[: brow_top - 5].sum()
    sharp = blend.face_mask(pts, 256, "components", erode=0, feather=0)
    assert ((sharp > 0) & (sharp < 1)).mean() < ((comp > 0) & (comp < 1)).mean()  # feathering softens the edge


@pytest.mark.parametrize("method", ["mean", "reinhard", "hist"])
def test_colour_correction_undoes_a_tint(frame, face, method):
    crop, m = align.align_face(frame, face.landmarks, 128, "face")
    mask = blend.face_mask(align.transform_points(face.landmarks, m), 128)
    tinted = np.clip(crop.astype(int) * [0.8, 1.0, 1.1] + [30, -10, 0], 0, 255).astype(np.uint8)
    fixed = blend.correct_colour(tinted, crop, mask, method)
    inside = mask > 0.5
    err_before = np.abs(tinted[inside].mean(0) - crop[inside].mean(0)).max()
    err_after = np.abs(fixed[inside].mean(0) - crop[inside].mean(0)).max()
    assert err_before > 10 and err_after < 2.5, (err_before, err_after)


@pytest.mark.parametrize("colour", blend.COLOURS)
@pytest.mark.parametrize("centering", align.CENTERINGS)
def test_identity_translation_leaves_the_frame_nearly_unchanged(frame, face, colour, centering):
    crop, m = align.align_face(frame, face.landmarks, 256, centering)
    out, mask = blend.blend_face(frame, crop, crop.copy(), m, face.landmarks, colour=colour)
    assert out.shape == frame.shape and mask.shape == (256, 256)
    assert psnr(frame, out) > 45  # measured 53-60 dB at 256 px (44-50 dB at 128 px)


def test_seamless_clone_option(frame, face):
    crop, m = align.align_face(frame, face.landmarks, 256, "face")
    out, _ = blend.blend_face(frame, crop, crop, m, face.landmarks, seamless=True)
    assert psnr(frame, out) > 40  # measured 52.8 dB


def test_another_face_is_pasted_where_the_mask_is(frame, face):
    crop, m = align.align_face(frame, face.landmarks, 256, "face")
    grey = np.full_like(crop, 90)
    out, mask = blend.blend_face(frame, crop, grey, m, face.landmarks, colour="none")
    changed = np.abs(out.astype(int) - frame).max(2) > 10
    x0, y0, x1, y1 = face.box
    assert changed[int(y0):int(y1), int(x0):int(x1)].mean() > 0.5
    assert not changed[:, :int(x0) - 30].any() and not changed[int(y1) + 40:].any()


def test_stage_chain_identity_keeps_frames_and_passes_faceless_ones(frame):
    frames = [np.roll(frame, (2 * t, 3 * t), axis=(0, 1)) for t in range(5)]
    coffee = cv2.resize(skimage.data.coffee(), (320, 320))
    frames.insert(2, coffee)
    batch = FrameBatch(np.stack(frames), list(range(6)))
    faces = FacesStage("dlib", size=128, centering="face")
    blender = BlendStage()
    info = StreamInfo(320, 320, Fraction(25), 6)
    assert blender.open(faces.open(info)) == info
    out = faces.process(batch)
    for i, meta in enumerate(out.meta):
        assert len(meta["faces"]) == (0 if i == 2 else 1)
        for f in meta["faces"]:
            assert f["crop"].shape == (128, 128, 3) and f["matrix"].shape == (2, 3)
            assert f["landmarks"].shape == (68, 2) and f["track"] == 0
            f["translated"] = f["crop"]  # what an identity model would return
    before = out.frames.copy()
    result = blender.process(out)
    assert np.array_equal(out.frames, before)  # the input batch is not written to
    assert np.array_equal(result.frames[2], coffee)
    for i in (0, 1, 3, 4, 5):
        assert psnr(before[i], result.frames[i]) > 40, i
    assert faces.close()["frames_without_faces"] == 1 and faces.close()["landmarks"].endswith("dlib")
    assert blender.close() == {"frames": 6, "faces_blended": 5, "frames_unchanged": 1}


def test_face_index_keeps_one_track(frame):
    wide = np.concatenate([frame, cv2.resize(skimage.data.coffee(), (200, 320)), frame[:, ::-1]], axis=1)
    batch = FrameBatch(np.stack([wide, wide]), [0, 1])
    stage = FacesStage("dlib", size=64, face_index=1)
    stage.open(StreamInfo(wide.shape[1], 320, Fraction(25), 2))
    out = stage.process(batch)
    assert [[f["track"] for f in m["faces"]] for m in out.meta] == [[1], [1]]
