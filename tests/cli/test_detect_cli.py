"""`translate detect`, `translate eval detector`, `translate train detector` from the command line."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "detect"))
from conftest import translate_cli as cli  # noqa: E402
from test_scorer import tiny_detector  # noqa: E402

from translate.video.ffmpeg import find_ffmpeg  # noqa: E402


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("detect_cli")
    rng = np.random.default_rng(0)
    for name in ("real", "fake/gen1", "fake/gen2"):
        (root / name).mkdir(parents=True)
        for i in range(3):
            Image.fromarray(rng.integers(0, 256, (36, 40, 3), dtype=np.uint8)).save(root / name / f"s{i}__{name[-1]}.png")
    subprocess.run([find_ffmpeg(), "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                    "testsrc2=size=64x48:rate=25", "-frames:v", "6", "-c:v", "libx264", "-pix_fmt", "yuv420p",
                    str(root / "clip.mp4")], check=True)
    flag_all = tiny_detector(root / "flag_all.safetensors", threshold=0.0)  # every score > 0: flagged
    flag_none = tiny_detector(root / "flag_none.safetensors", threshold=1.0)
    # fake threshold 1.0 (never), uncertain band from 0.0: every score lands in the band
    unsure_all = tiny_detector(root / "unsure_all.safetensors", threshold=1.0, uncertain=0.0)
    return root, flag_all, flag_none, unsure_all


def test_table_and_exit_codes(data, capsys):
    root, flag_all, flag_none, _ = data
    code, out, _ = cli(capsys, "detect", str(root / "real"), str(root / "clip.mp4"), "--model", str(flag_none), "-q")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["file", "score", "verdict", "frames", "flagged"]
    assert len(lines) == 1 + 3 + 1 and "0/6" in lines[-1] and all("real" in l for l in lines[1:])
    code, out, err = cli(capsys, "detect", str(root / "clip.mp4"), "--model", str(flag_all), "--fail-on-fake", "-q")
    assert code == 3 and "fake" in out and "6/6" in out and err.strip().splitlines()[-1].startswith("flagged as generated")
    code, _, _ = cli(capsys, "detect", str(root / "clip.mp4"), "--model", str(flag_all), "-q")
    assert code == 0  # flagged, but --fail-on-fake not asked


def test_bad_inputs_one_line_exit_1(data, capsys, tmp_path):
    root, _, flag_none, _ = data
    (tmp_path / "empty").mkdir()
    code, out, err = cli(capsys, "detect", str(tmp_path / "empty"), "--model", str(flag_none), "-q")
    assert code == 1 and out == "" and len(err.strip().splitlines()) == 1 and "holds no images or videos" in err
    (tmp_path / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    code, out, err = cli(capsys, "detect", str(tmp_path / "corrupt.jpg"), "--model", str(flag_none), "-q")
    assert code == 1 and out == "" and len(err.strip().splitlines()) == 1 and err.startswith("error: ") and "corrupt.jpg" in err
    code, out, err = cli(capsys, "detect", str(tmp_path / "corrupt.jpg"), str(root / "real"), "--model", str(flag_none), "-q")
    assert code == 1 and "corrupt.jpg" not in out and len(out.splitlines()) == 1 + 3  # the three others are scored
    assert err.splitlines() == [line for line in err.splitlines() if "corrupt.jpg" in line] and err.startswith("error: ")
    code, _, err = cli(capsys, "detect", str(root / "clip.mp4"), "--model", str(root / "nope"), "-q")
    assert code == 1 and len(err.strip().splitlines()) == 1


def test_json_report_and_plot(data, capsys, tmp_path):
    root, flag_all, _, _ = data
    report, plot = tmp_path / "out" / "report.json", tmp_path / "out" / "scores.png"
    code, _, _ = cli(capsys, "detect", str(root / "clip.mp4"), str(root / "real" / "s0__l.png"), "--model", str(flag_all),
                     "--every", "2", "--json", str(report), "--plot", str(plot), "-q")
    assert code == 0
    doc = json.loads(report.read_text())
    assert doc["format"] == 1 and doc["summary"] == {"files": 2, "flagged": 2, "uncertain": 0, "errors": 0}
    assert doc["model"]["name"] == "tiny-detector" and doc["model"]["threshold"] == 0.0 and doc["model"]["calibrated"]
    clip = doc["files"][0]
    assert clip["kind"] == "video" and clip["frames"]["indices"] == [0, 2, 4] and len(clip["frames"]["scores"]) == 3
    assert set(clip) >= {"path", "score", "verdict", "threshold", "rule", "provenance", "error"}
    assert doc["files"][1]["kind"] == "image" and doc["files"][1]["frames"]["scored"] == 0
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_uncertain_is_reported_but_never_fails_and_old_models_say_they_have_one_threshold(data, capsys, tmp_path):
    root, _, flag_none, unsure_all = data
    report = tmp_path / "r.json"
    code, out, _ = cli(capsys, "detect", str(root / "clip.mp4"), str(root / "real" / "s0__l.png"), "--model",
                       str(unsure_all), "--fail-on-fake", "--json", str(report), "-q")
    assert code == 0 and [l.split()[2] for l in out.splitlines()[1:]] == ["uncertain", "uncertain"]
    doc = json.loads(report.read_text())
    assert doc["summary"]["uncertain"] == 2 and doc["summary"]["flagged"] == 0
    assert doc["model"]["uncertain_threshold"] == 0.0 and not doc["model"]["single_threshold"]
    _, _, err = cli(capsys, "detect", str(root / "real" / "s0__l.png"), "--model", str(flag_none))
    assert "has one threshold" in err


def test_evidence_sheets_show_the_most_suspicious_frames(data, capsys, tmp_path):
    from translate.detect.evidence import most_suspicious
    from translate.detect.report import video_result

    root, flag_all, _, _ = data
    out = tmp_path / "evidence"
    code, _, err = cli(capsys, "detect", str(root / "clip.mp4"), str(root / "real" / "s0__l.png"), "--model",
                       str(flag_all), "--evidence", str(out), "-q")
    assert code == 0 and "wrote 2 evidence sheet(s)" in err
    assert sorted(p.name for p in out.iterdir()) == ["clip.evidence.png", "s0__l.evidence.png"]
    with Image.open(out / "clip.evidence.png") as sheet:
        assert sheet.width == 4 * 256 and sheet.height > 2 * 256  # 6 frames: two rows of four tiles
    ranked = most_suspicious(video_result("v.mp4", [0.1, 0.9, 0.5, 0.95], 0.8, [0, 4, 8, 12]), top=2)
    assert ranked == [(12, 0.95), (4, 0.9)]


def test_eval_detector_rows_per_folder(data, capsys):
    root, _, flag_none, _ = data
    code, out, _ = cli(capsys, "eval", "detector", "--model", str(flag_none), "--real", str(root / "real"),
                       "--fake", str(root / "fake"), "-q")
    assert code == 0
    groups = [line.split("  ")[0] for line in out.splitlines()[1:4]]
    assert groups == ["real: real", "fake: fake/gen1", "fake: fake/gen2"]
    assert any(line.startswith("all") for line in out.splitlines())


def test_train_detector_command(data, capsys, tmp_path):
    from translate.weights.modelfile import read_info

    root, _, _, _ = data
    code, _, err = cli(capsys, "train", "detector", "--real", str(root / "real"), "--fake", str(root / "fake"),
                       "--steps", "2", "--size", "32", "--batch-size", "4", "--width", "4", "--workers", "0",
                       "--val-split", "0.34", "--fpr", "0.1", "--out", str(tmp_path), "--name", "d")
    assert code == 0, err
    info = read_info(tmp_path / "d" / "model.safetensors")
    assert info.task == "detect" and info.extra["threshold_fpr"] == 0.1 and "auc" in info.extra["validation"]
    assert "validation at step 2: auc" in err
    code, _, err = cli(capsys, "train", "detector", "--real", str(root / "real"), "--fake", str(root / "fake"),
                       "--preprocess", "resize", "--out", str(tmp_path), "--name", "e")
    assert code == 2 and "only 'crop'" in err
