"""`faces extract`: crops + alignments JSON from a folder and from a video; reuse; user errors."""
import json
import re
import shutil
from fractions import Fraction

import cv2
import numpy as np
import pytest
import skimage.data
from click.testing import CliRunner

from translate.errors import UserError
from translate.faces import align
from translate.faces.extract import extract_faces, read_alignments
from translate.faces.stages import FacesStage
from translate.video.frames import FrameBatch, StreamInfo


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    from matplotlib import cbook

    d = tmp_path_factory.mktemp("photos")
    cv2.imwrite(str(d / "astronaut.png"), skimage.data.astronaut()[..., ::-1])
    cv2.imwrite(str(d / "coffee.jpg"), skimage.data.coffee()[..., ::-1])
    shutil.copy(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False), d / "grace_hopper.jpg")
    return d


def test_folder_extraction_writes_crops_and_json(photos, tmp_path):
    out = tmp_path / "faces"
    summary = extract_faces(photos, out, size=96, landmarks="dlib")
    assert summary["frames"] == 3 and summary["faces"] == 2 and summary["frames_without_faces"] == 1
    assert sorted(p.name for p in out.glob("*.png")) == ["astronaut_0.png", "grace_hopper_0.png"]
    crop = cv2.imread(str(out / "astronaut_0.png"))
    assert crop.shape == (96, 96, 3)
    data = read_alignments(out / "alignments.json")
    assert data["size"] == 96 and data["centering"] == "face" and data["landmarks"].endswith("dlib")
    by_name = {f["name"]: f for f in data["frames"]}
    assert by_name["coffee.jpg"]["faces"] == [] and by_name["coffee.jpg"]["size"] == [600, 400]
    face = by_name["astronaut.png"]["faces"][0]
    lm, m = np.array(face["landmarks"]), np.array(face["matrix"])
    assert lm.shape == (68, 2) and m.shape == (2, 3) and len(face["box"]) == 4
    assert np.allclose(m, align.align_matrix(lm, 96, "face"), atol=1e-3)
    assert face["align_error"] < 0.06
    assert not list(out.glob("*.tmp"))


def test_min_size_skips_small_faces(photos, tmp_path):
    summary = extract_faces(photos, tmp_path / "big", size=64, min_size=150, landmarks="dlib")
    assert summary["faces"] == 1  # astronaut's box is ~96 px, Hopper's ~200 px
    assert [p.name for p in (tmp_path / "big").glob("*.png")] == ["grace_hopper_0.png"]


def make_video(path, n=10):
    from translate.video.writer import FrameWriter

    photo = skimage.data.astronaut()
    frames = np.stack([cv2.warpAffine(photo, np.float32([[0.6, 0, -20 - 2 * t], [0, 0.6, -10 - t]]), (256, 256),
                                      flags=cv2.INTER_AREA) for t in range(n)])
    writer = FrameWriter(path, crf=12, preset="ultrafast")
    writer.open(StreamInfo(256, 256, Fraction(25), n))
    writer.write(frames)
    writer.close()
    return frames


def test_video_extraction_every_n_and_alignments_reuse(tmp_path):
    video = tmp_path / "clip.mp4"
    make_video(video)
    out = tmp_path / "faces"
    summary = extract_faces(video, out, size=64, every=2, landmarks="dlib")
    assert summary["frames"] == 5 and summary["faces"] == 5 and summary["frames_without_faces"] == 0
    assert summary["detections"] < 5  # tracked between detections
    data = json.loads((out / "alignments.json").read_text())
    assert data["source_size"] == [256, 256] and [f["index"] for f in data["frames"]] == [0, 2, 4, 6, 8]
    assert sorted(p.name for p in out.glob("*.png"))[0] == "frame000000_0.png"
    # the face follows the known pan (2 px/frame left, 1 px/frame up in the 0.6x frame)
    centres = np.array([np.mean(f["faces"][0]["landmarks"], axis=0) for f in data["frames"]])
    assert np.allclose(np.diff(centres, axis=0), [-4, -2], atol=1.0)

    # the alignments drive the faces stage instead of detection
    stage = FacesStage(size=64, alignments=out / "alignments.json")
    stage.open(StreamInfo(256, 256, Fraction(25), 10))
    frames = np.zeros((3, 256, 256, 3), np.uint8)
    res = stage.process(FrameBatch(frames, [2, 3, 4]))
    assert [len(m["faces"]) for m in res.meta] == [1, 0, 1]
    assert np.allclose(res.meta[0]["faces"][0]["matrix"], data["frames"][1]["faces"][0]["matrix"], atol=0.01)
    with pytest.raises(UserError, match="512x512"):
        FacesStage(alignments=out / "alignments.json").open(StreamInfo(512, 512, Fraction(25)))


def test_user_errors(photos, tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        extract_faces(tmp_path / "nope.mp4", tmp_path / "o")
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("no images here")
    with pytest.raises(UserError, match="no images"):
        extract_faces(empty, tmp_path / "o")
    (tmp_path / "clip.txt").write_text("x")
    with pytest.raises(UserError, match="neither"):
        extract_faces(tmp_path / "clip.txt", tmp_path / "o")
    extract_faces(photos, tmp_path / "done", size=32, landmarks="dlib")
    with pytest.raises(UserError, match="already holds"):
        extract_faces(photos, tmp_path / "done", size=32, landmarks="dlib")
    bad = tmp_path / "bad.json"
    bad.write_text('{"frames": [{"index": 0, "faces": [{"landmarks": [[1, 2]]}]}]}')
    with pytest.raises(UserError, match="not a valid alignments"):
        read_alignments(bad)
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00" * 1000)
    with pytest.raises(UserError):
        extract_faces(broken, tmp_path / "o2", landmarks="dlib")


def test_cli_extract_help_and_run(photos, tmp_path):
    from translate.cli.faces import faces

    runner = CliRunner()
    res = runner.invoke(faces, ["extract", "--help"])
    assert res.exit_code == 0 and "Example" in res.output and "--landmarks" in res.output
    res = runner.invoke(faces, ["extract", str(photos), "-o", str(tmp_path / "f"), "--size", "48",
                                "--landmarks", "dlib"])
    assert res.exit_code == 0, res.output
    assert re.search(r"landmarks: (retinaface\+)?dlib\n", res.output)  # RetinaFace boxes when it is fetched
    assert "2 faces from 3 frames (1 without a face)" in res.output


def test_cli_errors_are_one_line(tmp_path, capsys):
    main = pytest.importorskip("translate.cli.main").main  # needs every command module of the CLI
    with pytest.raises(SystemExit) as e:
        main(["faces", "extract", str(tmp_path / "missing"), "-o", str(tmp_path / "o")])
    assert e.value.code == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "does not exist" in err and "\n" not in err
