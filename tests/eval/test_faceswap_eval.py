"""translate eval faceswap: identity distance falls when the output is the target's own face; pose distance is 0 for
an unchanged copy and grows for a shifted or mirrored face. Real people from installed packages (offline)."""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import skimage.data

pytest.importorskip("dlib")

from translate.errors import UserError  # noqa: E402
from translate.eval.faceswap import evaluate_faceswap, landmark_nme  # noqa: E402
from translate.faces import align, blend  # noqa: E402
from translate.faces.landmarks import make_detector  # noqa: E402


def _hopper() -> np.ndarray:
    import matplotlib

    path = Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"
    return cv2.resize(cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)[:480, 30:510], (320, 320))


def _write(folder: Path, frames) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i, f in enumerate(frames):
        cv2.imwrite(str(folder / f"{i:03d}.png"), cv2.cvtColor(np.ascontiguousarray(f), cv2.COLOR_RGB2BGR))
    return folder


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    """SRC: a slow pan over the astronaut; OUT variants made from it; DIR: Grace Hopper (the target)."""
    root = tmp_path_factory.mktemp("faceswap_eval")
    big = skimage.data.astronaut()
    src = [np.ascontiguousarray(big[20 + 2 * t:340 + 2 * t, 60 + 3 * t:380 + 3 * t]) for t in range(3)]
    hopper = _hopper()
    det = make_detector("dlib")
    h_face = det.detect(hopper)[0]
    h_crop, _ = align.align_face(hopper, h_face.landmarks, 256, "face")
    swapped, mirrored = [], []
    for frame in src:
        face = det.detect(frame)[0]
        crop, m = align.align_face(frame, face.landmarks, 256, "face")
        out, _ = blend.blend_face(frame, crop, h_crop, m, face.landmarks, mask="extended", colour="mean")
        swapped.append(out)  # the target's own face, pasted with the source's alignment
        mirrored.append(blend.blend_face(frame, crop, crop[:, ::-1].copy(), m, face.landmarks, colour="none")[0])
    return {"src": _write(root / "src", src), "copy": _write(root / "copy", src),
            "swap": _write(root / "swap", swapped), "mirror": _write(root / "mirror", mirrored),
            "shift": _write(root / "shift", [np.roll(f, 14, axis=1) for f in src]),
            "target": _write(root / "target", [hopper])}


@pytest.fixture(scope="module")
def tools():
    from translate.faces.identity import FaceEmbedder

    return {"detector": make_detector("dlib", min_face=64), "embedder": FaceEmbedder()}


@pytest.fixture(scope="module")
def scores(clips, tools):
    return {kind: evaluate_faceswap(clips["src"], clips[kind], clips["target"], **tools).summary()
            for kind in ("copy", "swap", "shift", "mirror")}


def test_an_unchanged_copy_keeps_identity_and_pose(scores):
    s = scores["copy"]
    assert s["faces"] == 3 and s["frames_without_pair"] == 0
    assert s["pose_nme"] < 1e-6 and s["source_distance"] < 1e-6
    assert s["target_distance"] > 0.6 and s["swapped_fraction"] == 0.0
    assert s["flicker_out"] == pytest.approx(s["flicker_src"], rel=1e-6)


def test_the_targets_own_face_is_nearest_to_the_target(scores):
    copy, swap = scores["copy"], scores["swap"]
    assert swap["faces"] == 3
    assert swap["target_distance"] < copy["target_distance"] - 0.15
    assert swap["source_distance"] > 0.3
    assert swap["pose_nme"] < 0.15  # pasted with the source's alignment: the geometry is kept


def test_a_shifted_or_mirrored_face_moves_the_landmarks(scores):
    shift, mirror = scores["shift"], scores["mirror"]
    assert shift["pose_nme"] > 0.2  # 14 px on a ~40 px eye-corner distance
    # This face is nearly frontal, so its mirror image keeps most of the geometry (measured 0.02): still far above
    # the copy's exact 0, which is what tells a kept pose from a changed one.
    assert mirror["pose_nme"] > 0.01
    pts = np.random.default_rng(0).uniform(0, 100, (68, 2))
    assert landmark_nme(pts, pts) == 0.0


def test_command_prints_a_table_and_json(clips, tmp_path, capsys):
    from conftest import translate_cli

    code, out, err = translate_cli(capsys, "eval", "faceswap", str(clips["src"]), str(clips["copy"]),
                                   "--target-faces", str(clips["target"]), "--json", str(tmp_path / "r.json"))
    assert code == 0, err
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["faces"] == 3 and "pose_nme" in summary
    assert len(json.loads((tmp_path / "r.json").read_text())["per_face"]) == 3


def test_mismatched_inputs_are_one_clear_error(clips, tools, tmp_path):
    short = _write(tmp_path / "short", [cv2.imread(str(sorted(clips["src"].glob("*.png"))[0]))[:, :, ::-1]])
    with pytest.raises(UserError, match="ends at frame 1"):
        evaluate_faceswap(clips["src"], short, clips["target"], **tools)
    with pytest.raises(UserError, match="no face found"):
        evaluate_faceswap(clips["src"], clips["copy"], _write(tmp_path / "noface", [skimage.data.coffee()]), **tools)
