"""`translate batch` on a real local Ray cluster (one per module): a killed worker's job is retried, and
--split-long keeps every frame, the exact rate, each frame's timestamp and the audio samples."""
from __future__ import annotations

import os
import signal
import threading
import time
from fractions import Fraction
from pathlib import Path

import pytest
from batch_helpers import FF, assert_same_video, make_clip, make_vfr, partials, records, tiny_sr_model

from translate.batch.run import BatchConfig, run_batch
from translate.video.probe import probe

ray = pytest.importorskip("ray")
FAST = {"device": "cpu", "precision": "fp32", "preset": "ultrafast"}


@pytest.fixture(scope="module", autouse=True)
def cluster():
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    ray.init(num_cpus=2, include_dashboard=False, _node_ip_address="127.0.0.1", log_to_driver=False)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    return tiny_sr_model(tmp_path_factory.mktemp("model") / "tiny.safetensors")


def video_options(model: Path, **extra) -> dict:
    """What `translate batch` passes: every stage option of `translate video` (their defaults) + ``extra``."""
    from translate.cli.batch import STAGE_PARAMS, batch

    params = batch.make_context("batch", ["in.mp4", "-o", "out", "--model", str(model)]).params
    return {**{p.name: params[p.name] for p in STAGE_PARAMS}, **FAST, **extra}


def config(inputs, out: Path, model: Path, **kw) -> BatchConfig:
    return BatchConfig(inputs=[str(i) for i in inputs], out_dir=out, options=video_options(model), ray="auto",
                       progress=False, **kw)


def pts_of(path: Path) -> list[float]:
    import re
    import subprocess

    err = subprocess.run([FF, "-hide_banner", "-i", str(path), "-fps_mode", "passthrough", "-vf", "showinfo", "-f", "null",
                          "-"], capture_output=True, text=True).stderr
    return [float(x) for x in re.findall(r"pts_time:\s*([-\d.]+)", err)]


def test_killed_worker_job_is_retried_output_complete_nothing_duplicated(tmp_path, model):
    long = make_clip(tmp_path / "long.mp4", frames=360, size="128x96")
    short = make_clip(tmp_path / "short.mp4", frames=6, audio=False)
    (tmp_path / "bad.mp4").write_bytes(b"\0" * 100)
    out = tmp_path / "out"
    killed: list[int] = []
    finished = threading.Event()

    def kill_the_long_job_mid_way() -> None:
        while not finished.is_set():
            found = list(out.glob(".long.partial-*.mp4"))
            if found:
                time.sleep(0.3)  # frames are flowing: decode, model and encode all started
                pid = int(found[0].name.split("partial-")[1].split("-")[0])
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
                return
            time.sleep(0.02)

    killer = threading.Thread(target=kill_the_long_job_mid_way)
    killer.start()
    try:
        summary = run_batch(config([long, short, tmp_path / "bad.mp4"], out, model, max_retries=2))
    finally:
        finished.set()
        killer.join()
    assert killed, "the long job was never seen running"
    assert summary.done == 2 and [Path(r["input"]).name for r in summary.failed] == ["bad.mp4"]
    long_records = [r for r in records(out) if Path(r["input"]).name == "long.mp4"]
    assert len(long_records) == 1 and long_records[0]["state"] == "done"  # recorded once
    assert not long_records[0]["worker"].endswith(f":{killed[0]}")  # finished by another worker: the retry
    assert_same_video(long, out / "long.mp4")  # complete: every frame once, the audio intact
    assert long_records[0]["frames"] == 360
    assert not partials(out)


def test_split_long_keeps_frames_exact_ntsc_rate_and_audio(tmp_path, model):
    src = make_clip(tmp_path / "ntsc.mp4", frames=75, rate="30000/1001", gop=15)
    out = tmp_path / "out"
    summary = run_batch(config([src], out, model, split_long=0.9))
    assert summary.done == 1 and not summary.failed
    record = records(out)[0]
    assert record["chunks"] >= 2
    assert_same_video(src, out / "ntsc.mp4")
    assert probe(out / "ntsc.mp4", scan=True).fps == Fraction(30000, 1001)
    assert probe(out / "ntsc.mp4").tags.get("translate_model") == "tiny-sr"
    assert not partials(out)


def test_split_long_vfr_every_frame_timestamp(tmp_path, model):
    from translate.video.command import video_chain
    from translate.video.runner import run_chain

    src = make_vfr(tmp_path / "vfr.mp4", gop=4)
    whole = tmp_path / "whole.mp4"  # what `translate video` writes for this clip
    run_chain(video_chain({**video_options(model), "input": str(src), "output": str(whole), "overwrite": False}),
              progress=False)
    out = tmp_path / "out"
    summary = run_batch(config([src], out, model, split_long=0.3))
    assert summary.done == 1 and records(out)[0]["chunks"] >= 2
    split_pts, whole_pts = pts_of(out / "vfr.mp4"), pts_of(whole)
    assert len(split_pts) == len(whole_pts) == 20
    assert split_pts == pytest.approx(whole_pts, abs=1e-4)  # every frame where the unsplit output has it
    assert probe(out / "vfr.mp4", scan=True).fps == probe(whole, scan=True).fps == Fraction(50, 3)
