"""One unit of work, run inside a worker (a local process or a Ray task): a whole input, or one chunk of a long video.

``run_task`` builds the very chain `translate video` builds (translate.video.command) for the task's input
and output, runs it and returns a plain dict (state, output sha256, frames, seconds, error): a bad input is a
failed result, never an exception, so one bad input never stops the others. Unexpected errors are raised
when ``raise_unexpected`` (the Ray engine retries them) and recorded as failed otherwise.
"""
from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, Callable

import numpy as np

from translate.batch.jobs import DONE, FAILED
from translate.errors import UserError
from translate.weights.digest import file_sha256

Report = Callable[[int], None]  # frames just written


@dataclass
class Task:
    """``options``: the video command's option values (model, direction, faces, codec...) without input/output."""

    key: str
    input: str
    output: str
    kind: str  # "video" | "image"
    options: dict[str, Any]
    model_path: str
    overwrite: bool = False
    start: float | None = None  # a chunk of a long video: expected_frames frames from start (seconds), no audio
    part: int | None = None
    expected_frames: int | None = None
    detect: dict[str, Any] | None = None  # {"model": ..., "every": ...}: score the output, store the verdict
    extra: dict[str, Any] = field(default_factory=dict)


class _CountingWriter:
    """The run's FrameWriter, telling ``report`` how many frames each write sent (the batch's one progress bar)."""

    def __init__(self, writer, report: Report):
        self._writer, self._report = writer, report

    def write(self, frames) -> None:
        self._writer.write(frames)
        self._report(len(frames))

    def __getattr__(self, name: str):
        return getattr(self._writer, name)


def remove_stale_partials(output: Path) -> None:
    """Temporary files a killed earlier attempt left beside ``output`` (.NAME.partial-PID-TID.SUFFIX)."""
    from translate.cleanup import remove_partial

    if output.parent.is_dir():
        for stale in output.parent.glob(f".{output.stem}.partial-*{output.suffix}"):
            remove_partial(stale)


def chain_options(task: Task) -> dict[str, Any]:
    opts = {**task.options, "input": task.input, "output": task.output, "model": task.model_path,
            "overwrite": task.overwrite}
    if task.part is not None:
        opts.update(start=None, end=None, no_audio=True)
    return opts


def run_video(task: Task, report: Report | None) -> dict[str, Any]:
    from translate.video.command import video_chain
    from translate.video.runner import build_runner

    runner = build_runner(video_chain(chain_options(task)), progress=False)
    if task.part is not None:
        from translate.batch.split import ChunkReader

        runner.reader = ChunkReader(task.input, task.expected_frames, task.options.get("batch_size", 4), task.start)
    if report is not None:
        runner.writer = _CountingWriter(runner.writer, report)
    summary = runner.run()
    frames = summary["frames_out"]
    if task.expected_frames is not None and frames != task.expected_frames:
        Path(task.output).unlink(missing_ok=True)
        raise UserError(f"chunk {task.part} of {task.input} gave {frames} frames, expected {task.expected_frames}")
    return {"frames": frames, "fps": summary["fps"]}


def run_image(task: Task, report: Report | None) -> dict[str, Any]:
    """The video chain's middle stages on one frame (so --faces works on photos too), saved with provenance."""
    from translate.data.images import load_rgb
    from translate.provenance import save_image_with_provenance
    from translate.video.command import video_stages
    from translate.video.frames import FrameBatch, StreamInfo
    from translate.video.stages import call_builder

    output = Path(task.output)
    if output.exists() and not task.overwrite:
        raise UserError(f"{output} exists; pass --overwrite to replace it")
    image = load_rgb(task.input)
    stages = [call_builder(name, dict(opts)) for name, opts in video_stages(chain_options(task))]
    for i, stage in enumerate(stages):
        if hasattr(stage, "link"):
            stage.link(stages[i + 1:])
    info = StreamInfo(width=image.shape[1], height=image.shape[0], fps=Fraction(1), frame_count=1, path=task.input)
    for stage in stages:
        info = stage.open(info)
    batch = FrameBatch(image[None], [0], [{}])
    for stage in stages:
        batch = stage.process(batch)
    tags: dict[str, str] = {}
    for stage in stages:
        tags.update(stage.tags())
        stage.close()
    save_image_with_provenance(output, np.asarray(batch.frames[0]), tags)
    if report is not None:
        report(1)
    return {"frames": 1}


def detect_verdict(path: str | Path, kind: str, detect: dict[str, Any], device: str = "auto") -> dict[str, Any]:
    """The detector's score and verdict for a finished output (translate.detect)."""
    from translate.detect.run import score_image_file, score_video_file
    from translate.detect.scorer import Scorer

    scorer = Scorer(detect.get("model") or "detector", device=device)
    path = Path(path)
    result = score_image_file(scorer, path) if kind == "image" else score_video_file(scorer, path, every=detect.get("every"))
    return {"score": round(float(result.score), 4), "verdict": result.verdict, "threshold": float(result.threshold),
            "model": detect.get("model") or "detector"}


def run_task(task: Task, report: Report | None = None, raise_unexpected: bool = False) -> dict[str, Any]:
    """Run one task; the result dict says how it went (see the module's docstring)."""
    t0 = time.perf_counter()
    result: dict[str, Any] = {"key": task.key, "part": task.part, "worker": f"{socket.gethostname()}:{os.getpid()}"}
    try:
        remove_stale_partials(Path(task.output))
        done = run_image(task, report) if task.kind == "image" else run_video(task, report)
        result.update(done, state=DONE, output_sha256=file_sha256(task.output), error=None)
        if task.detect is not None and task.part is None:
            result["detect"] = detect_verdict(task.output, task.kind, task.detect, task.options.get("device", "auto"))
    except UserError as e:
        result.update(state=FAILED, error=str(e))
    except Exception as e:  # noqa: BLE001 - one bad input never stops the others
        if raise_unexpected:
            raise
        result.update(state=FAILED, error=f"{type(e).__name__}: {e}")
    result["seconds"] = round(time.perf_counter() - t0, 3)
    return result
