"""The runner that streams a video's frames through stages, and chains built from specs.

    reader thread (ffmpeg decode pipe) -> bounded queue -> stages, in order, on batches (this thread)
        -> bounded queue -> writer thread (ffmpeg encode pipe, audio copied from the source)

Decode, model and encode overlap; memory is bounded by the two queues whatever the video's length; frame order
is kept and checked (no frame dropped or duplicated); an error in any thread stops the others, removes the
partial output and is raised here. ``translate video``, ``translate chain`` and ``translate run`` all build a
list of stage specs (name, options) and call ``run_chain``. To add a stage, add a builder to
``stages.STAGE_BUILDERS``.
"""
from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from translate.cleanup import quietly
from translate.errors import UserError
from translate.provenance import provenance_tags
from translate.video.frames import Stage
from translate.video.reader import FrameReader, format_rate
from translate.video.stages import SINK_BUILDERS, SOURCE_BUILDERS, call_builder
from translate.video.writer import FrameWriter

_DONE = object()

# ---------------------------------------------------------------------------------------------- runner


@dataclass
class _Shared:
    stop: threading.Event = field(default_factory=threading.Event)
    errors: list[BaseException] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def fail(self, exc: BaseException) -> None:
        with self.lock:
            self.errors.append(exc)
        self.stop.set()


def _put(q: queue.Queue, item, shared: _Shared) -> bool:
    while not shared.stop.is_set():
        try:
            q.put(item, timeout=0.1)
            return True
        except queue.Full:
            continue
    return False


def _get(q: queue.Queue, shared: _Shared):
    while not shared.stop.is_set():
        try:
            return q.get(timeout=0.1)
        except queue.Empty:
            continue
    return _DONE


class Runner:
    """Streams frames from ``reader`` through ``stages`` into ``writer``; ``run()`` returns a summary dict.

    ``queue_size`` batches wait at most between reader and stages and between stages and writer, so memory
    stays flat. ``progress``: show a tqdm bar (frames, rate, ETA; total from the frame count when known).
    """

    def __init__(self, reader: FrameReader, stages: list[Stage], writer: FrameWriter, progress: bool = True,
                 queue_size: int = 2, tags: dict[str, str] | None = None):
        self.reader, self.stages, self.writer = reader, list(stages), writer
        self.progress, self.queue_size = progress, max(1, queue_size)
        self.extra_tags = dict(tags or {})
        self.frames_in = 0
        self.frames_out = 0
        self.stage_seconds = [0.0] * len(self.stages)

    def _tags(self) -> dict[str, str]:
        tags = provenance_tags(None, None)
        for stage in self.stages:
            for key, value in stage.tags().items():
                if key in tags and key not in ("translate_version",) and tags[key] != value and key != "comment":
                    tags[key] = f"{tags[key]}; {value}"
                else:
                    tags[key] = value
        tags.update(self.extra_tags)
        return tags

    def run(self) -> dict:
        bar = None
        shared = _Shared()
        in_q: queue.Queue = queue.Queue(self.queue_size)
        out_q: queue.Queue = queue.Queue(self.queue_size)
        t0 = time.perf_counter()
        reader_thread = writer_thread = None
        opened: list[Stage] = []
        try:
            info = self.reader.info
            for stage in self.stages:
                info = stage.open(info)
                opened.append(stage)
            self.writer.open(info, self._tags())
            total = self.reader.expected_estimate
            if self.progress:
                from translate.progress import progress_bar

                bar = progress_bar(total, desc=Path(self.writer.path).name, unit="frame")
            reader_thread = threading.Thread(target=self._read, args=(in_q, shared), name="translate-reader", daemon=True)
            writer_thread = threading.Thread(target=self._write, args=(out_q, shared, bar), name="translate-writer", daemon=True)
            reader_thread.start()
            writer_thread.start()
            self._process(in_q, out_q, shared)
            writer_thread.join()
            reader_thread.join()
            if shared.errors:
                raise shared.errors[0]
            output = self.writer.close()
        except BaseException:
            self._abort(shared, (reader_thread, writer_thread), opened)
            if shared.errors:
                raise shared.errors[0] from None
            raise
        finally:
            if bar is not None:
                quietly(bar.close, what="closing the progress bar")
        seconds = time.perf_counter() - t0
        if self.frames_out != self.frames_in:  # cannot happen unless a stage drops frames (checked per batch)
            raise RuntimeError(f"{self.frames_in} frames read but {self.frames_out} written")
        stats = {}
        for stage, spent in zip(self.stages, self.stage_seconds):
            stats[stage.name] = {"seconds": round(spent, 3), **stage.close()}
        src = self.reader.info
        return {
            "frames_in": self.frames_in,
            "frames_out": self.frames_out,
            "seconds": round(seconds, 3),
            "fps": round(self.frames_out / seconds, 2) if seconds else None,
            "input": {"path": str(self.reader.path), "width": src.width, "height": src.height,
                      "fps": format_rate(src.fps), "frame_count": src.frame_count, "vfr": src.vfr},
            "output": output,
            "stages": stats,
            "warnings": list(self.reader.warnings),
        }

    def _abort(self, shared: _Shared, threads, opened: list[Stage]) -> None:
        """Stop both threads and ffmpeg processes, remove the partial output, close the opened stages.
        Every step runs whatever the state and none can replace the error being raised."""
        shared.stop.set()
        quietly(self.reader.close, what="closing the reader")
        quietly(self.writer.abort, what="aborting the writer")
        for thread in threads:
            if thread is not None:
                quietly(thread.join, 10, what=f"joining {thread.name}")
        for stage in opened:
            quietly(stage.close, what=f"closing stage {stage.name}")

    # -- threads
    def _read(self, in_q: queue.Queue, shared: _Shared) -> None:
        try:
            for batch in self.reader:
                if not _put(in_q, batch, shared):
                    return
                self.frames_in += len(batch)
            _put(in_q, _DONE, shared)
        except BaseException as e:  # noqa: BLE001 - handed to the main thread
            if not shared.stop.is_set():
                shared.fail(e)

    def _process(self, in_q: queue.Queue, out_q: queue.Queue, shared: _Shared) -> None:
        expected = None
        while True:
            batch = _get(in_q, shared)
            if batch is _DONE:
                break
            n, first = len(batch), batch.indices[0]
            for i, stage in enumerate(self.stages):
                t = time.perf_counter()
                batch = stage.process(batch)
                self.stage_seconds[i] += time.perf_counter() - t
                if len(batch) != n or batch.indices[0] != first:
                    raise RuntimeError(f"stage '{stage.name}' changed the batch (frames {first}..{first + n - 1}); "
                                       "stages must keep every frame in order")
            if expected is not None and batch.indices[0] != expected:
                raise RuntimeError(f"frame {expected} is missing: the batch starts at {batch.indices[0]}")
            expected = batch.indices[-1] + 1
            if not _put(out_q, batch, shared):
                break
        _put(out_q, _DONE, shared)

    def _write(self, out_q: queue.Queue, shared: _Shared, bar) -> None:
        try:
            while True:
                batch = _get(out_q, shared)
                if batch is _DONE:
                    return
                self.writer.write(batch.frames)
                self.frames_out += len(batch)
                if bar is not None:
                    bar.update(len(batch))
        except BaseException as e:  # noqa: BLE001 - handed to the main thread
            if not shared.stop.is_set():
                shared.fail(e)


# ---------------------------------------------------------------------------------------------- chains

ChainSpec = list[tuple[str, dict[str, Any]]]


def check_output_path(source: str | Path, output: str | Path, overwrite: bool) -> None:
    """OUT == IN is refused; an existing OUT needs ``overwrite``."""
    source, output = Path(source), Path(output)
    same = output.resolve() == source.resolve() or (output.exists() and source.exists() and output.samefile(source))
    if same:
        raise UserError(f"the output {output} is the input; write to another file")
    if output.is_dir():
        raise UserError(f"{output} is a folder; give a file name like {output / 'out.mp4'}")
    if output.exists() and not overwrite:
        raise UserError(f"{output} exists; pass --overwrite to replace it")


def build_runner(chain: ChainSpec, progress: bool = True, overwrite: bool | None = None) -> Runner:
    """A Runner from [("read", {...}), (stage, {...}) ..., ("write", {...})]."""
    if not chain or chain[0][0] not in SOURCE_BUILDERS:
        raise UserError("a chain starts with 'read IN'")
    if chain[-1][0] not in SINK_BUILDERS:
        raise UserError("a chain ends with 'write OUT'")
    (_, read_opts), middle, (_, write_opts) = chain[0], chain[1:-1], chain[-1]
    for name, _ in middle:
        if name in SOURCE_BUILDERS or name in SINK_BUILDERS:
            raise UserError(f"'{name}' can only be the {'first' if name in SOURCE_BUILDERS else 'last'} stage")
    write_opts = dict(write_opts)
    if overwrite is not None:
        write_opts["overwrite"] = overwrite
    if not read_opts.get("path"):
        raise UserError("read needs an input video")
    if not write_opts.get("path"):
        raise UserError("write needs an output file (-o OUT)")
    check_output_path(read_opts["path"], write_opts["path"], bool(write_opts.get("overwrite")))
    writer = call_builder("write", write_opts)
    reader = call_builder("read", dict(read_opts))
    if getattr(writer, "keep_audio", True):
        writer.audio_from = reader.path
        writer.audio_start, writer.audio_end = reader.start, reader.end
    stages = [call_builder(name, dict(opts)) for name, opts in middle]
    for i, stage in enumerate(stages):  # a stage may adapt to the ones after it (faces: the model's crop size)
        if hasattr(stage, "link"):
            stage.link(stages[i + 1:])
    return Runner(reader, stages, writer, progress=progress)


def run_chain(chain: ChainSpec, progress: bool = True, overwrite: bool | None = None) -> dict:
    return build_runner(chain, progress=progress, overwrite=overwrite).run()
