"""translate.pipeline: the Runner (threads, order, errors, memory bound), stages, chains and YAML pipelines."""
from __future__ import annotations

import subprocess
import threading
import time
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from translate.errors import UserError
from translate.video.ffmpeg import find_ffmpeg
from translate.video.framefiles import encode_frames, extract_frames
from translate.video.frames import FrameBatch, Stage, StreamInfo
from translate.video.pipelines import load_pipeline
from translate.video.probe import probe
from translate.video.reader import FrameReader, read_all_frames
from translate.video.runner import Runner, build_runner, run_chain
from translate.video.stages import (
    STAGE_BUILDERS,
    TranslateStage,
    builder_for,
    call_builder,
)
from translate.video.writer import FrameWriter

FF = find_ffmpeg()
INDEXED = "format=gbrp,geq=r='mod(N*12,240)':g='128':b='64'"  # frame N is flat with red = 12 * N


def make_indexed(path: Path, frames=20, rate="25", audio=False, size="64x48") -> Path:
    args = [FF, "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i", f"color=c=black:size={size}:rate={rate}"]
    if audio:
        args += ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"]
    args += ["-vf", INDEXED, "-frames:v", str(frames)]
    if audio:
        args += ["-c:a", "aac", "-t", str(float(frames / Fraction(rate)))]
    args += ["-c:v", "libx264", "-pix_fmt", "yuv420p", str(path)]
    subprocess.run(args, check=True)
    return path


def numbers(frames: np.ndarray) -> list[int]:
    return [int(round(f[..., 0].mean() / 12)) for f in frames]


class Invert(Stage):
    name = "invert"

    def process(self, batch):
        return batch.with_frames(255 - batch.frames)


class Boom(Stage):
    name = "boom"

    def __init__(self, at=8):
        self.at, self.seen = at, 0

    def process(self, batch):
        self.seen += len(batch)
        if self.seen > self.at:
            raise ValueError("boom in stage")
        return batch


class DropOne(Stage):
    name = "drop"

    def process(self, batch):
        return FrameBatch(batch.frames[1:], batch.indices[1:], batch.meta[1:])


class Upscale2:
    """A stand-in for translate.infer.Translator: .scale, __call__, model_name, model_sha256."""

    scale = 2
    model_name = "/home/someone/runs/up2/model.safetensors"
    model_sha256 = "ab" * 32

    def __call__(self, frames):
        return frames.repeat(2, axis=1).repeat(2, axis=2)


def no_leftovers(folder: Path) -> bool:
    return not [p for p in folder.iterdir() if "partial" in p.name]


def run(src, out, stages, codec="h264", **kw):
    reader = FrameReader(src, batch_size=kw.pop("batch_size", 3))
    writer = FrameWriter(out, codec=codec, audio_from=src)
    return Runner(reader, stages, writer, progress=False, **kw).run()


def test_runner_keeps_every_frame_in_order(tmp_path):
    src = make_indexed(tmp_path / "in.mp4", frames=20)
    summary = run(src, tmp_path / "out.mkv", [Invert()], codec="ffv1")
    assert summary["frames_in"] == summary["frames_out"] == 20
    src_frames = read_all_frames(src)
    out_frames = read_all_frames(tmp_path / "out.mkv")
    assert np.array_equal(out_frames, 255 - src_frames)
    assert numbers(255 - out_frames) == list(range(20))
    assert "invert" in summary["stages"]


def test_translate_stage_scales_and_tags(tmp_path):
    src = make_indexed(tmp_path / "in.mp4", frames=10, audio=True)
    summary = run(src, tmp_path / "out.mp4", [TranslateStage(Upscale2())])
    info = probe(tmp_path / "out.mp4")
    assert (info.width, info.height, info.frame_count, info.fps) == (128, 96, 10, 25)
    assert info.has_audio and summary["output"]["audio"] == "copied (aac)"
    assert info.tags["translate_model"] == "up2" and info.tags["translate_model_sha256"] == "ab" * 32
    assert "/home/someone" not in str(info.tags) and "/home/someone" not in str(summary)
    assert summary["stages"]["translate"]["frames"] == 10


def test_translate_stage_on_face_crops():
    stage = TranslateStage(Upscale2(), target="auto")
    crop = np.full((8, 8, 3), 7, np.uint8)
    batch = FrameBatch(np.zeros((2, 16, 16, 3), np.uint8), [0, 1], [{"faces": [{"crop": crop}]}, {"faces": []}])
    stage.open(StreamInfo(16, 16, Fraction(25)))
    out = stage.process(batch)
    assert out.frames.shape == (2, 16, 16, 3)  # frames keep their size; the blend stage pastes crops back
    assert out.meta[0]["faces"][0]["translated"].shape == (16, 16, 3)


def test_error_in_stage_propagates_and_removes_output(tmp_path):
    src = make_indexed(tmp_path / "in.mp4", frames=30)
    out = tmp_path / "out.mp4"
    threads_before = threading.active_count()
    with pytest.raises(ValueError, match="boom in stage"):
        run(src, out, [Boom(at=8)], queue_size=2)
    assert not out.exists() and no_leftovers(tmp_path)
    time.sleep(0.2)
    assert threading.active_count() <= threads_before + 1  # reader/writer threads are gone


def test_error_in_writer_propagates_as_user_error(tmp_path):
    src = make_indexed(tmp_path / "in.mp4", frames=30)
    out = tmp_path / "out.mp4"
    reader = FrameReader(src, batch_size=3)
    writer = FrameWriter(out, preset="no-such-preset")
    with pytest.raises(UserError, match="encoding out.mp4 failed"):
        Runner(reader, [], writer, progress=False).run()
    assert not out.exists() and no_leftovers(tmp_path)


def test_out_of_memory_stops_with_a_hint_and_no_output(tmp_path):
    class Oom(Upscale2):
        device = "cuda:0"

        def __call__(self, frames):
            raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")

    src = make_indexed(tmp_path / "in.mp4", frames=6)
    with pytest.raises(UserError, match="--tile"):
        run(src, tmp_path / "out.mp4", [TranslateStage(Oom())])
    assert not (tmp_path / "out.mp4").exists() and no_leftovers(tmp_path)


def test_stage_that_drops_a_frame_is_caught(tmp_path):
    src = make_indexed(tmp_path / "in.mp4", frames=6)
    with pytest.raises(RuntimeError, match="keep every frame"):
        run(src, tmp_path / "out.mp4", [DropOne()])
    assert not (tmp_path / "out.mp4").exists()


def test_reader_runs_at_most_a_bounded_distance_ahead(tmp_path):
    """Memory is flat: with a slow stage, decoded-but-unwritten frames stay within the queues' bound."""
    src = make_indexed(tmp_path / "in.mp4", frames=30)
    ahead = []

    class Slow(Stage):
        def process(self, batch):
            time.sleep(0.02)
            ahead.append(runner.frames_in - batch.indices[-1])
            return batch

    reader = FrameReader(src, batch_size=2)
    runner = Runner(reader, [Slow()], FrameWriter(tmp_path / "out.mp4"), progress=False, queue_size=2)
    runner.run()
    assert max(ahead) <= (2 + 2) * 2  # queue_size batches queued + one being put, batch_size frames each


def test_run_chain_refuses_output_equal_input_and_existing(tmp_path):
    src = make_indexed(tmp_path / "in.mp4", frames=4)
    chain = [("read", {"path": str(src)}), ("write", {"path": str(src)})]
    with pytest.raises(UserError, match="is the input"):
        run_chain(chain, progress=False, overwrite=True)
    existing = tmp_path / "out.mp4"
    existing.write_bytes(b"mine")
    with pytest.raises(UserError, match="--overwrite"):
        run_chain([("read", {"path": str(src)}), ("write", {"path": str(existing)})], progress=False)
    assert existing.read_bytes() == b"mine"
    summary = run_chain([("read", {"path": str(src)}), ("write", {"path": str(existing)})], progress=False, overwrite=True)
    assert summary["frames_out"] == 4 and probe(existing).frame_count == 4


def test_chain_shape_and_stage_options_are_checked(tmp_path):
    with pytest.raises(UserError, match="starts with 'read"):
        build_runner([("write", {"path": "x.mp4"})])
    with pytest.raises(UserError, match="unknown stage 'sharpen'"):
        builder_for("sharpen")
    with pytest.raises(UserError, match="no option 'tiles'"):
        call_builder("translate", {"model": "m", "tiles": 3})


def test_load_pipeline_with_overrides():
    chain = load_pipeline("upscale", ["translate.tile=256", "write.crf=20", "read.start=1:30", "0.end=null"])
    names = [n for n, _ in chain]
    assert names == ["read", "translate", "write"]
    opts = dict(chain)
    assert opts["translate"]["tile"] == 256 and opts["translate"]["model"] == "srgan"
    assert opts["write"]["crf"] == 20 and opts["read"]["end"] is None
    for bad in ["translate.tiles=3", "blur.radius=2", "tile=3"]:
        with pytest.raises(UserError):
            load_pipeline("upscale", [bad])
    with pytest.raises(UserError, match="no such pipeline"):
        load_pipeline("nope")


def test_yaml_pipeline_runs_with_registered_stage(tmp_path, monkeypatch):
    monkeypatch.setitem(STAGE_BUILDERS, "invert", lambda: Invert())
    spec = tmp_path / "inv.yaml"
    spec.write_text("stages:\n  - read: {batch_size: 5}\n  - invert\n  - write: {codec: ffv1}\n")
    src = make_indexed(tmp_path / "in.mp4", frames=7)
    chain = load_pipeline(spec)
    chain[0][1]["path"], chain[-1][1]["path"] = str(src), str(tmp_path / "out.mkv")
    summary = run_chain(chain, progress=False)
    assert summary["frames_out"] == 7
    assert np.array_equal(read_all_frames(tmp_path / "out.mkv"), 255 - read_all_frames(src))


def test_extract_then_encode_frames(tmp_path):
    src = make_indexed(tmp_path / "in.mp4", frames=12, audio=True, rate="30000/1001")
    result = extract_frames(src, tmp_path / "frames", progress=False)
    files = sorted((tmp_path / "frames").iterdir())
    assert result["written"] == 12 and len(files) == 12 and files[0].name == "frame_000000.png"
    summary = encode_frames(tmp_path / "frames", tmp_path / "out.mp4", "30000/1001", audio_from=src, progress=False)
    info = probe(tmp_path / "out.mp4")
    assert info.frame_count == 12 and info.fps == Fraction(30000, 1001) and info.has_audio
    assert summary["output"]["audio"] == "copied (aac)"
    assert numbers(read_all_frames(tmp_path / "out.mp4")) == list(range(12))
    every = extract_frames(src, tmp_path / "every3", every=3, progress=False)
    assert every["written"] == 4
    assert [p.name for p in sorted((tmp_path / "every3").iterdir())] == [f"frame_{i:06d}.png" for i in (0, 3, 6, 9)]
    with pytest.raises(UserError, match="not empty"):
        extract_frames(src, tmp_path / "frames", progress=False)
