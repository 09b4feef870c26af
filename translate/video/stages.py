"""The stage registry: how chain names (read, translate, faces, ..., write) become objects."""
from __future__ import annotations

import inspect
import time
from typing import Any, Callable

import numpy as np

from translate.errors import UserError
from translate.provenance import provenance_tags, public_model_name
from translate.video.frames import FrameBatch, Stage, StreamInfo
from translate.video.reader import FrameReader
from translate.video.temporal import build_stabilize_stage
from translate.video.writer import FrameWriter

# ---------------------------------------------------------------------------------------------- stages


class TranslateStage(Stage):
    """Runs a Translator (translate.infer) on whole frames, or on face crops when the faces stage ran.

    Whole frames: output size = input size x ``translator.scale``; each frame's input stays in meta["source"]
    (a view, no copy) for a stabilize stage after it (translate.video.temporal). Faces: for every frame with
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
            for meta, source in zip(out.meta, batch.frames):
                meta["source"] = source
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
    "stabilize": build_stabilize_stage,
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
    for key, value in options.items():
        _check_option_type(name, key, value, params[key].default)
    return builder(**options)


def _check_option_type(stage: str, key: str, value: Any, default: Any) -> None:
    """A YAML or --set value of the wrong kind (batch_size: many) is refused here, not deep in a stage."""
    if value is None or default is None or default is inspect.Parameter.empty:
        return
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    kinds = {bool: ("true or false", isinstance(value, bool)),
             int: ("a whole number", number and isinstance(value, int)),
             float: ("a number", number)}
    kind, ok = kinds.get(type(default), ("", True))
    if not ok:
        raise UserError(f"stage '{stage}': option {key} must be {kind}, got {value!r}")
