"""Stages and the runner that streams a video's frames through them.

    reader thread (ffmpeg decode pipe) -> bounded queue -> stages, in order, on batches (this thread)
        -> bounded queue -> writer thread (ffmpeg encode pipe, audio copied from the source)

Decode, model and encode overlap; memory is bounded by the two queues whatever the video's length; frame order
is kept and checked (no frame dropped or duplicated); an error in any thread stops the others, removes the
partial output and is raised here. ``translate video``, ``translate chain`` and ``translate run`` all build a
list of stage specs (name, options) and call ``run_chain``.

A chain is ``read`` (source) -> any stages from STAGE_BUILDERS -> ``write`` (sink). To add a stage, add a
builder ``name -> function(**options) -> Stage`` to STAGE_BUILDERS (import heavy modules inside the builder).
"""
from __future__ import annotations

import inspect
import queue
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from translate.errors import UserError
from translate.framebatch import FrameBatch, Stage, StreamInfo
from translate.provenance import provenance_tags, public_model_name
from translate.video import FrameReader, FrameWriter, format_rate

_DONE = object()


# ---------------------------------------------------------------------------------------------- stages


class TranslateStage(Stage):
    """Runs a Translator (translate.infer) on whole frames, or on face crops when the faces stage ran.

    Whole frames: output size = input size x ``translator.scale``. Faces: for every frame with
    meta["faces"], each face's aligned "crop" is translated into its "translated" key; frames keep their size.
    """

    name = "translate"

    def __init__(self, translator: Any, target: str = "auto"):
        if target not in ("auto", "frames", "faces"):
            raise UserError(f"translate target must be auto, frames or faces, got {target!r}")
        self.translator = translator
        self.target = target
        self.frames = 0
        self.crops = 0
        self.seconds = 0.0

    def open(self, info: StreamInfo) -> StreamInfo:
        scale = int(getattr(self.translator, "scale", 1))
        self._faces_mode = self.target == "faces"
        if self._faces_mode or scale == 1:
            return info
        return info.replace(width=info.width * scale, height=info.height * scale)

    def process(self, batch: FrameBatch) -> FrameBatch:
        t0 = time.perf_counter()
        faces_present = any("faces" in m for m in batch.meta)
        if self._faces_mode or (self.target == "auto" and faces_present):
            if not faces_present and self._faces_mode:
                raise UserError("translate target=faces needs a faces stage before it")
            self._translate_crops(batch)
            out = batch
        else:
            if faces_present:
                raise UserError("a faces stage ran before translate, but the chain was built for whole frames; "
                                "use translate target=faces")
            out = batch.with_frames(self._run(batch.frames, batch))
        self.frames += len(batch)
        self.seconds += time.perf_counter() - t0
        return out

    def _run(self, frames: np.ndarray, batch: FrameBatch) -> np.ndarray:
        """The translator on ``frames``; out of memory stops the run with a hint (no frame is ever skipped)."""
        try:
            return self.translator(frames)
        except (RuntimeError, MemoryError) as e:
            if isinstance(e, MemoryError) or "out of memory" in str(e).lower():
                device = getattr(self.translator, "device", "the device")
                raise UserError(f"out of memory on {device} translating frames {batch.indices[0]}..{batch.indices[-1]} "
                                f"({frames.shape[2]}x{frames.shape[1]}); use --tile 256 (or smaller) and/or "
                                f"--batch-size 1") from None
            raise

    def _translate_crops(self, batch: FrameBatch) -> None:
        faces = [f for m in batch.meta for f in m.get("faces", []) if f.get("crop") is not None]
        if not faces:
            return
        by_shape: dict[tuple, list[dict]] = {}
        for f in faces:
            by_shape.setdefault(np.asarray(f["crop"]).shape, []).append(f)
        for group in by_shape.values():
            out = self._run(np.stack([np.asarray(f["crop"], dtype=np.uint8) for f in group]), batch)
            for f, o in zip(group, out):
                f["translated"] = o
        self.crops += len(faces)

    def close(self) -> dict:
        stats = {"frames": self.frames, "seconds": round(self.seconds, 3),
                 "model": public_model_name(getattr(self.translator, "model_name", None)),
                 "fps": round(self.frames / self.seconds, 2) if self.seconds else None}
        if self.crops:
            stats["face_crops"] = self.crops
        return stats

    def tags(self) -> dict[str, str]:
        return provenance_tags(getattr(self.translator, "model_name", None), getattr(self.translator, "model_sha256", None))


def build_translate_stage(model: str, direction: str | None = None, device: str = "auto", precision: str = "auto",
                          batch_size: int = 4, tile: int = 0, tile_pad: int = 10, target: str = "auto") -> Stage:
    from translate.infer import Translator  # torch is only imported when a model runs

    translator = Translator(model, direction=direction, device=device, precision=precision,
                            batch_size=batch_size, tile=tile, tile_pad=tile_pad)
    return TranslateStage(translator, target=target)


def build_reader(path: str, batch_size: int = 4, start: float | str | None = None,
                 end: float | str | None = None) -> FrameReader:
    return FrameReader(path, batch_size=batch_size, start=start, end=end)


def build_writer(path: str, codec: str = "h264", crf: int = 18, preset: str = "medium",
                 audio: bool = True, overwrite: bool = False) -> FrameWriter:
    """``audio``: copy the source's audio (build_runner points the writer at the reader's file and span)."""
    writer = FrameWriter(path, codec=codec, crf=crf, preset=preset, overwrite=overwrite)
    writer.keep_audio = bool(audio)
    return writer


# name -> builder(**options) -> Stage. Sources and sinks are separate: `read` and `write`.
STAGE_BUILDERS: dict[str, Callable[..., Stage]] = {
    "translate": build_translate_stage,
}
SOURCE_BUILDERS: dict[str, Callable[..., FrameReader]] = {"read": build_reader}
SINK_BUILDERS: dict[str, Callable[..., FrameWriter]] = {"write": build_writer}


def _register_optional_stages() -> None:
    """Stages of other packages (faces, detect) that exist in this install."""
    from translate.detect.stage import build_detect_stage

    STAGE_BUILDERS.setdefault("detect", build_detect_stage)
    try:
        from translate.faces import stages as face_stages
    except Exception:  # noqa: BLE001 - faces extras not installed or not there yet
        return
    STAGE_BUILDERS.setdefault("faces", face_stages.build_faces_stage)
    STAGE_BUILDERS.setdefault("blend", face_stages.build_blend_stage)


def builder_for(name: str) -> Callable[..., Any]:
    for table in (SOURCE_BUILDERS, STAGE_BUILDERS, SINK_BUILDERS):
        if name in table:
            return table[name]
    _register_optional_stages()
    if name in STAGE_BUILDERS:
        return STAGE_BUILDERS[name]
    known = sorted({*SOURCE_BUILDERS, *STAGE_BUILDERS, *SINK_BUILDERS})
    raise UserError(f"unknown stage '{name}'; stages: {', '.join(known)}")


def stage_options(name: str) -> list[str]:
    """The options a stage takes (its builder's keyword arguments)."""
    return [p for p in inspect.signature(builder_for(name)).parameters if p not in ("self",)]


def call_builder(name: str, options: dict[str, Any]) -> Any:
    builder = builder_for(name)
    params = inspect.signature(builder).parameters
    unknown = [k for k in options if k not in params]
    if unknown:
        raise UserError(f"stage '{name}' has no option {', '.join(repr(k) for k in unknown)}; "
                        f"options: {', '.join(p for p in params)}")
    missing = [p.name for p in params.values() if p.default is inspect.Parameter.empty and p.name not in options
               and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    if missing:
        raise UserError(f"stage '{name}' needs {', '.join(missing)}")
    return builder(**options)


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
        info = self.reader.info
        for stage in self.stages:
            info = stage.open(info)
        out_info = info
        bar = None
        shared = _Shared()
        in_q: queue.Queue = queue.Queue(self.queue_size)
        out_q: queue.Queue = queue.Queue(self.queue_size)
        t0 = time.perf_counter()
        reader_thread = writer_thread = None
        try:
            self.writer.open(out_info, self._tags())
            total = self.reader.expected_estimate
            if self.progress:
                from tqdm import tqdm

                bar = tqdm(total=total, unit="frame", desc=Path(self.writer.path).name, dynamic_ncols=True, leave=True)
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
            shared.stop.set()
            self.reader.close()
            self.writer.abort()
            for thread in (reader_thread, writer_thread):
                if thread is not None:
                    thread.join(timeout=10)
            for stage in self.stages:
                try:
                    stage.close()
                except Exception:  # noqa: BLE001 - the first error is the one to report
                    pass
            if shared.errors:
                raise shared.errors[0] from None
            raise
        finally:
            if bar is not None:
                bar.close()
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


# ---------------------------------------------------------------------------------------------- YAML files

PIPELINES_DIR = Path(__file__).parent / "pipelines"


def find_pipeline(spec: str | Path) -> Path:
    """A YAML file, or the name of one shipped in translate/pipelines ('upscale')."""
    path = Path(spec)
    if path.is_file():
        return path
    for candidate in (PIPELINES_DIR / f"{spec}.yaml", PIPELINES_DIR / str(spec)):
        if candidate.is_file():
            return candidate
    shipped = sorted(p.stem for p in PIPELINES_DIR.glob("*.yaml"))
    raise UserError(f"{spec}: no such pipeline file; shipped pipelines: {', '.join(shipped) or 'none'}")


def _parse_value(text: str) -> Any:
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def apply_overrides(chain: ChainSpec, overrides: list[str]) -> ChainSpec:
    """``stage.option=value`` (the first stage of that name) or ``N.option=value`` (0-based position)."""
    chain = [(name, dict(opts)) for name, opts in chain]
    for item in overrides:
        key, sep, raw = item.partition("=")
        stage_key, dot, option = key.strip().rpartition(".")
        if not sep or not dot or not option:
            raise UserError(f"--set {item!r}: write stage.option=value, e.g. translate.tile=256")
        if stage_key.isdigit():
            pos = int(stage_key)
            if pos >= len(chain):
                raise UserError(f"--set {item!r}: the pipeline has {len(chain)} stages (0..{len(chain) - 1})")
        else:
            pos = next((i for i, (name, _) in enumerate(chain) if name == stage_key), None)
            if pos is None:
                raise UserError(f"--set {item!r}: no stage '{stage_key}' in this pipeline ({', '.join(n for n, _ in chain)})")
        name = chain[pos][0]
        if option not in stage_options(name):
            raise UserError(f"--set {item!r}: stage '{name}' has no option '{option}'; options: {', '.join(stage_options(name))}")
        chain[pos][1][option] = _parse_value(raw)
    return chain


def parse_chain_yaml(data: Any, source: str = "pipeline") -> ChainSpec:
    stages = data.get("stages") if isinstance(data, dict) else data
    if not isinstance(stages, list) or not stages:
        raise UserError(f"{source}: expected a 'stages:' list like [{{read: {{}}}}, {{translate: {{model: srgan}}}}, {{write: {{}}}}]")
    chain: ChainSpec = []
    for entry in stages:
        if isinstance(entry, str):
            chain.append((entry, {}))
        elif isinstance(entry, dict) and len(entry) == 1:
            name, opts = next(iter(entry.items()))
            if opts is not None and not isinstance(opts, dict):
                raise UserError(f"{source}: options of stage '{name}' must be a mapping")
            chain.append((str(name), dict(opts or {})))
        else:
            raise UserError(f"{source}: each stage is 'name' or 'name: {{options}}', got {entry!r}")
    for name, opts in chain:
        builder_for(name)
        unknown = [k for k in opts if k not in stage_options(name)]
        if unknown:
            raise UserError(f"{source}: stage '{name}' has no option {', '.join(map(repr, unknown))}; "
                            f"options: {', '.join(stage_options(name))}")
    return chain


def load_pipeline(path: str | Path, overrides: list[str] | None = None) -> ChainSpec:
    """Read a saved chain (YAML) and apply ``key=value`` overrides."""
    import yaml

    path = find_pipeline(path)
    try:
        data = yaml.safe_load(path.read_text())
    except (yaml.YAMLError, UnicodeDecodeError) as e:
        raise UserError(f"{path}: not valid YAML ({str(e).splitlines()[0]})") from None
    return apply_overrides(parse_chain_yaml(data, str(path)), list(overrides or []))


# ---------------------------------------------------------------------------------------------- frames -> video


def encode_frames(folder: str | Path, output: str | Path, fps: str | Fraction, audio_from: str | Path | None = None,
                  codec: str = "h264", crf: int = 18, preset: str = "medium", overwrite: bool = False,
                  progress: bool = True) -> dict:
    """Encode a folder of same-size images (natural order) at ``fps`` into ``output``, with audio from a video.

    Provenance tags of the first frame (written by `translate apply`) are carried to the video.
    """
    from fractions import Fraction

    from translate.provenance import read_provenance
    from translate.video import ImageFolderReader, parse_rate

    rate = fps if isinstance(fps, Fraction) else parse_rate(str(fps))
    if rate is None:
        raise UserError(f"--fps {fps!r} is not a frame rate; use e.g. 25, 24000/1001 or 30000/1001")
    output = Path(output)
    if output.exists() and not overwrite:
        raise UserError(f"{output} exists; pass --overwrite to replace it")
    reader = ImageFolderReader(folder, rate)
    if audio_from is not None:
        check_output_path(audio_from, output, overwrite)
    writer = FrameWriter(output, codec=codec, crf=crf, preset=preset, audio_from=audio_from, overwrite=overwrite)
    try:
        carried = {k: v for k, v in read_provenance(reader.files[0]).items() if k != "translate_version"}
    except UserError:
        carried = {}
    return Runner(reader, [], writer, progress=progress, tags=carried).run()
