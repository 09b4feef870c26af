"""Cleanup never masks the error (issue 19 point 1): a failure injected at each step of `translate video`
gives one error line, leaves no partial file and no thread or ffmpeg process behind."""
from __future__ import annotations

import logging
import os
import subprocess
import threading
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from conftest import translate_cli

import translate.weights
from translate.errors import UserError
from translate.video.ffmpeg import find_ffmpeg
from translate.video.frames import StreamInfo
from translate.video.reader import FrameReader
from translate.video.writer import FrameWriter

BUNDLED_SR = Path(translate.weights.__file__).with_name("srgan-x4.safetensors")  # offline, 0.46 MB


def make_clip(path: Path, frames: int = 6) -> Path:
    subprocess.run([find_ffmpeg(), "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                    "testsrc2=size=32x24:rate=25", "-frames:v", str(frames), "-c:v", "libx264", "-pix_fmt", "yuv420p",
                    str(path)], check=True)
    return path


def child_processes() -> list[str]:
    """Names of this process's ffmpeg children (running or unreaped), from /proc.

    Only ffmpeg counts: earlier tests in the same pytest process may leave long-lived helpers of their own
    (multiprocessing's resource tracker, Ray's processes), which are not the video runner's."""
    me, names = os.getpid(), []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        comm, rest = stat[stat.index("(") + 1: stat.rindex(")")], stat[stat.rindex(")") + 2:].split()
        if int(rest[1]) == me and "ffmpeg" in comm:
            names.append(comm)
    return names


def live_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.is_alive()}


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    return make_clip(tmp_path_factory.mktemp("clip") / "in.mp4")


def _fail(message: str):
    def fail(*args, **kwargs):
        raise UserError(message)

    return fail


def _inject_first_frame(monkeypatch):
    monkeypatch.setattr("translate.video.reader._read_into", _fail("injected: the first frame cannot be read"))


def _inject_mid_write(monkeypatch):
    original = FrameWriter.write

    def write(self, frames):
        if self.frames_written:  # second batch: the encoder dies under us, as on a full disk
            self.proc.kill()
            self.proc.wait()
        return original(self, frames)

    monkeypatch.setattr(FrameWriter, "write", write)


def _inject_mux(monkeypatch):
    original = os.replace

    def replace(src, dst, *a, **k):
        if ".partial-" in str(src):
            raise OSError(28, "No space left on device")
        return original(src, dst, *a, **k)

    monkeypatch.setattr("translate.video.writer.os.replace", replace)


INJECTIONS = {
    "probe": lambda mp: mp.setattr("translate.video.reader.probe", _fail("injected: probing failed")),
    "open-reader": lambda mp: mp.setattr("translate.video.reader.start_process", _fail("injected: no decoder")),
    "first-frame": _inject_first_frame,
    "model": lambda mp: mp.setattr("translate.infer.Translator.__call__", _fail("injected: the model failed")),
    "open-writer": lambda mp: mp.setattr("translate.video.writer.start_process", _fail("injected: no encoder")),
    "mid-write": _inject_mid_write,
    "mux": _inject_mux,
}
EXPECTED = {"probe": "injected", "open-reader": "injected", "first-frame": "injected", "model": "injected",
            "open-writer": "injected", "mid-write": "encoding out.mp4 failed", "mux": "cannot move the finished video"}


@pytest.mark.parametrize("step", list(INJECTIONS))
def test_failure_at_each_step_leaves_nothing_running_or_written(tmp_path, clip, capsys, monkeypatch, step, one_torch_thread):
    src = tmp_path / "in.mp4"
    src.write_bytes(clip.read_bytes())
    threads_before = live_threads()
    INJECTIONS[step](monkeypatch)
    code, out, err = translate_cli(capsys, "video", str(src), "--model", str(BUNDLED_SR), "-o", str(tmp_path / "out.mp4"),
                                   "--batch-size", "2", "--precision", "fp32", "--device", "cpu", "--quiet")
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 1 and len(lines) == 1 and lines[0].startswith("error: ") and EXPECTED[step] in lines[0], (step, err)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mp4"], step
    assert child_processes() == [], step
    leftover = [t.name for t in live_threads() - threads_before]
    assert leftover == [], (step, leftover)


def test_output_under_an_existing_file_is_one_error_line(tmp_path, clip, capsys, caplog):
    """The known case: the writer's error stands; removing the temporary file under file.txt fails quietly."""
    (tmp_path / "file.txt").write_text("keep me")
    with caplog.at_level(logging.DEBUG, logger="translate.cleanup"):
        code, _, err = translate_cli(capsys, "video", str(clip), "--model", str(BUNDLED_SR), "-q",
                                     "-o", str(tmp_path / "file.txt" / "out.mp4"))
    assert code == 1 and err.count("\n") == 1 and err.startswith("error: ") and "file.txt is a file" in err, err
    assert "Traceback" not in err
    assert (tmp_path / "file.txt").read_text() == "keep me"
    assert child_processes() == []


def test_writer_abort_and_close_are_safe_in_any_state(tmp_path, caplog):
    info = StreamInfo(32, 24, Fraction(25))
    FrameWriter(tmp_path / "never.mp4").abort()  # never opened
    blocked = FrameWriter(tmp_path / "f.txt" / "o.mp4")
    (tmp_path / "f.txt").write_text("")
    with pytest.raises(UserError):
        blocked.open(info)
    with caplog.at_level(logging.DEBUG, logger="translate.cleanup"):
        blocked.abort()  # half-opened: the temporary name lies under a file
        blocked.abort()
    writer = FrameWriter(tmp_path / "out.mp4", preset="ultrafast")
    writer.open(info)
    writer.write(np.zeros((2, 24, 32, 3), np.uint8))
    writer.abort()
    writer.abort()  # already aborted
    with pytest.raises(UserError):
        writer.close()  # after abort: an error, not a crash
    done = FrameWriter(tmp_path / "done.mp4", preset="ultrafast")
    done.open(info)
    done.write(np.zeros((2, 24, 32, 3), np.uint8))
    assert done.close()["frames"] == 2
    done.abort()  # after close: the finished file stays
    assert (tmp_path / "done.mp4").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["done.mp4", "f.txt"]
    assert child_processes() == []


def test_reader_close_is_safe_in_any_state(clip):
    FrameReader(clip).close()  # never started
    reader = FrameReader(clip, batch_size=1)
    it = iter(reader)
    next(it)
    reader.close()  # mid-stream, from outside the iterator
    reader.close()
    it.close()
    assert child_processes() == []
