"""The page's jobs without a browser: the same library calls as the CLI, results under --out, CLI error lines."""
from __future__ import annotations

import json

import numpy as np
import page_data
import pytest
from page_data import CLIP_FRAMES

from translate.data.images import load_rgb
from translate.errors import UserError
from translate.ui.detect_job import run_detect
from translate.ui.models import model_choices
from translate.ui.translate_job import available_flags, run_translate
from translate.video.probe import probe
from translate.video.reader import decode_audio_pcm

ui_data = page_data.ui_data  # the fixture


def test_image_is_upscaled_with_a_comparison_of_equal_sizes(ui_data, tmp_path):
    r = run_translate(ui_data["photo"], str(ui_data["model"]), None, {}, tmp_path / "out", device="cpu")
    assert r.kind == "image" and r.output.is_file() and r.output.is_relative_to(tmp_path / "out")
    h, w = load_rgb(ui_data["photo"]).shape[:2]
    assert r.after.shape == (2 * h, 2 * w, 3) and r.before.shape == r.after.shape
    assert f"{w}x{h} -> {2 * w}x{2 * h}" in r.summary


def test_video_keeps_every_frame_and_the_audio(ui_data, tmp_path):
    r = run_translate(ui_data["clip"], str(ui_data["model"]), None, {}, tmp_path / "out", device="cpu")
    info = probe(r.output, scan=True)
    assert r.kind == "video" and info.frame_count == CLIP_FRAMES and (info.width, info.height) == (128, 96)
    assert info.has_audio and np.array_equal(decode_audio_pcm(r.output), decode_audio_pcm(ui_data["clip"]))
    assert r.before.shape == r.after.shape == (96, 128, 3)
    assert f"{CLIP_FRAMES} frames" in r.summary


@pytest.mark.parametrize("bad, message", [("empty", "cannot read image"), ("text", "not a readable video"),
                                          ("truncated", "not a readable video")])
def test_bad_uploads_give_the_cli_error_and_leave_nothing(ui_data, tmp_path, bad, message):
    with pytest.raises(UserError, match=message):
        run_translate(ui_data[bad], str(ui_data["model"]), None, {}, tmp_path / "out", device="cpu")
    assert not [p for p in (tmp_path / "out").rglob("*") if p.is_file()]


def test_video_flags_are_refused_on_images_and_a_model_is_required(ui_data, tmp_path):
    assert "faces" in available_flags()
    with pytest.raises(UserError, match="--faces apply to videos"):
        run_translate(ui_data["photo"], str(ui_data["model"]), None, {"faces": True}, tmp_path, device="cpu")
    with pytest.raises(UserError, match="no model picked"):
        run_translate(ui_data["photo"], "", None, {}, tmp_path, device="cpu")


def test_model_list_shows_task_scale_and_direction(ui_data, tmp_path, monkeypatch):
    monkeypatch.setenv("TRANSLATE_WEIGHTS", str(ui_data["model"].parent))
    run = tmp_path / "runs" / "my-sr"
    run.mkdir(parents=True)
    (run / "model.safetensors").write_bytes(ui_data["model"].read_bytes())
    (tmp_path / "runs" / "broken").mkdir()
    (tmp_path / "runs" / "broken" / "model.safetensors").write_bytes(b"junk")
    labels = {c.value: c.label for c in model_choices([tmp_path / "runs"])}
    assert labels[str(ui_data["model"])].endswith("sr x2, AtoB")
    assert labels[str(run)] == f"{run} - sr x2, AtoB"
    assert str(tmp_path / "runs" / "broken") not in labels  # unreadable files are left out, not fatal
    assert not [v for v in labels if "detector" in v]  # only models the Translate tab can run


def test_detect_reports_verdict_table_plot_and_json(ui_data, tmp_path):
    r = run_detect([ui_data["photo"], ui_data["clip"]], tmp_path / "out", device="cpu")
    report = json.loads(r.report.read_text())
    assert [f["verdict"] for f in report["files"]] == [row[2] for row in r.rows]
    assert all(v in ("real", "fake") for _, _, v, _ in r.rows)
    assert r.rows[0][0] == "cat.png" and r.rows[1][3].endswith(f"/{CLIP_FRAMES}")
    assert f"**{r.rows[0][2].upper()}** cat.png: score {r.rows[0][1]}" in r.headline
    assert r.plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "no provenance tag" in r.provenance


def test_detect_names_the_unreadable_file(ui_data, tmp_path):
    with pytest.raises(UserError, match="not a readable video|cannot read"):
        run_detect([ui_data["text"]], tmp_path / "out", device="cpu")
    r = run_detect([ui_data["photo"], ui_data["empty"]], tmp_path / "out", device="cpu")
    assert r.errors and r.errors[0].startswith("empty.png: error:") and "**ERROR** empty.png" in r.headline
