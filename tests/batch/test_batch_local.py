"""`translate batch` on the local engine: mirrored outputs, the job file, reruns, --retry-failed, bad inputs, --detect."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import sigint_as_in_a_terminal, translate_cli
from batch_helpers import assert_same_video, make_clip, partials, records, tiny_sr_model

from translate.weights.digest import file_sha256

pytestmark = pytest.mark.usefixtures("one_torch_thread")
FAST = ("--device", "cpu", "--precision", "fp32", "--preset", "ultrafast", "-q")


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    return tiny_sr_model(tmp_path_factory.mktemp("model") / "tiny.safetensors")


def batch(capsys, *args: str) -> tuple[int, str, str]:
    return translate_cli(capsys, "batch", *args, *FAST)


def test_bad_input_among_good_ones_two_workers(tmp_path, capsys, model):
    from PIL import Image
    from skimage.data import astronaut

    clips = tmp_path / "clips"
    a = make_clip(clips / "a.mp4", frames=10)
    b = make_clip(clips / "sub" / "b.mp4", frames=6, size="48x32", audio=False, source="smptebars")
    Image.fromarray(astronaut()[::16, ::16]).save(clips / "p.png")
    (clips / "bad.mp4").write_bytes(b"not a video")
    out = tmp_path / "out"
    code, stdout, err = batch(capsys, str(clips), "--model", str(model), "-o", str(out), "--workers", "2")
    assert code == 1, err
    assert "3 done" in stdout and "1 failed" in stdout
    assert "bad.mp4" in err and "not a readable video" in err  # the summary table says what failed and why
    assert_same_video(a, out / "clips" / "a.mp4")
    assert_same_video(b, out / "clips" / "sub" / "b.mp4")
    assert Image.open(out / "clips" / "p.png").size == (64, 64)
    by_input = {Path(r["input"]).name: r for r in records(out)}
    assert {k: r["state"] for k, r in by_input.items()} == {"a.mp4": "done", "b.mp4": "done", "p.png": "done",
                                                             "bad.mp4": "failed"}
    for r in by_input.values():
        if r["state"] == "done":
            assert r["output_sha256"] == file_sha256(r["output"]) and r["seconds"] > 0
    assert "not a readable video" in by_input["bad.mp4"]["error"]
    assert not partials(out)


def test_rerun_skips_done_jobs_and_a_changed_option_reruns(tmp_path, capsys, model):
    src = make_clip(tmp_path / "in" / "a.mp4", frames=6)
    out = tmp_path / "out"
    output = out / "a.mp4"
    assert batch(capsys, str(src), "--model", str(model), "-o", str(out))[0] == 0
    first = file_sha256(output)
    code, stdout, _ = batch(capsys, str(src), "--model", str(model), "-o", str(out))
    assert code == 0 and "0 done, 1 skipped" in stdout and file_sha256(output) == first
    code, stdout, _ = batch(capsys, str(src), "--model", str(model), "-o", str(out), "--crf", "40")
    assert code == 0 and "1 done, 0 skipped" in stdout  # a changed option is a new job; it replaces its own output
    assert file_sha256(output) != first
    output.unlink()  # a done job whose output is gone runs again
    code, stdout, _ = batch(capsys, str(src), "--model", str(model), "-o", str(out), "--crf", "40")
    assert code == 0 and "1 done" in stdout and output.is_file()
    states = [r["state"] for r in records(out)]
    assert states == ["done", "skipped", "done", "done"]


def test_retry_failed_and_user_files_are_not_replaced(tmp_path, capsys, model):
    src = make_clip(tmp_path / "a.mp4", frames=4, audio=False)
    out = tmp_path / "out"
    out.mkdir()
    (out / "a.mp4").write_bytes(b"the user's own file")
    args = (str(src), "--model", str(model), "-o", str(out))
    code, _, err = batch(capsys, *args)
    assert code == 1 and "exists; pass --overwrite" in err
    assert (out / "a.mp4").read_bytes() == b"the user's own file"
    (out / "a.mp4").unlink()
    code, _, err = batch(capsys, *args)  # failed earlier: not rerun without --retry-failed
    assert code == 1 and "--retry-failed" in err and not (out / "a.mp4").exists()
    code, stdout, err = batch(capsys, *args, "--retry-failed")
    assert code == 0 and "1 done" in stdout, err
    assert [r["state"] for r in records(out)] == ["failed", "done"]


def test_detect_stores_the_verdict(tmp_path, capsys, model):
    from PIL import Image
    from skimage.data import chelsea

    Image.fromarray(chelsea()[::8, ::8]).save(tmp_path / "cat.png")
    out = tmp_path / "out"
    code, _, err = batch(capsys, str(tmp_path / "cat.png"), "--model", str(model), "-o", str(out), "--detect")
    assert code == 0, err
    verdict = records(out)[0]["detect"]
    assert verdict["verdict"] in ("fake", "real", "uncertain") and 0.0 <= verdict["score"] <= 1.0


def test_list_file_and_ctrl_c_keeps_finished_outputs_only(tmp_path, model):
    short = make_clip(tmp_path / "short.mp4", frames=4, audio=False)
    long = make_clip(tmp_path / "long.mp4", frames=300, size="128x96", audio=False)
    (tmp_path / "todo.txt").write_text("# one path per line\nshort.mp4\n\nlong.mp4\n")
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "translate", "batch", f"@{tmp_path / 'todo.txt'}", "--model", str(model), "-o", str(out),
           "--device", "cpu", "--precision", "fp32", "--preset", "ultrafast", "-q"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=sigint_as_in_a_terminal)
    deadline = time.time() + 240
    while time.time() < deadline and not list(out.glob(".long.partial-*")):
        time.sleep(0.05)
    assert list(out.glob(".long.partial-*")), "the long job never started"
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert (out / "short.mp4").is_file() and not (out / "long.mp4").exists()
    assert not partials(out)
    assert [(Path(r["input"]).name, r["state"]) for r in records(out)] == [("short.mp4", "done")]
    assert short.is_file() and long.is_file() and os.path.getsize(out / "short.mp4") > 0
