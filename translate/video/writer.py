"""Encode batches of RGB frames into a video over an ffmpeg pipe, audio copied from the source."""
from __future__ import annotations

import os
import subprocess
import threading
from pathlib import Path

import numpy as np

import ffmpeg  # ffmpeg-python builds the command line

from translate.cleanup import remove_partial
from translate.errors import UserError, ensure_folder
from translate.video.ffmpeg import (
    PIPE_SIZE,
    _grow_pipe,
    _StderrDrain,
    compile_command,
    find_ffmpeg,
    metadata_args,
    start_process,
    stop_process,
)
from translate.video.frames import FrameBatch, StreamInfo
from translate.video.probe import (
    _MATRIX_FOR_SWS,
    parse_time,
    probe_audio,
    resolve_colors,
)
from translate.video.reader import format_rate

# ---------------------------------------------------------------------------------------------- writer


CODECS = ("h264", "h264-lossless", "ffv1")
CONTAINERS = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska"}
_MP4_AUDIO = {"aac", "mp3", "ac3", "eac3", "alac", "opus", "flac"}
AUDIO_COPYABLE = {
    "mp4": _MP4_AUDIO,
    "mov": _MP4_AUDIO | {"pcm_s16le", "pcm_s16be", "pcm_s24le", "pcm_s24be", "pcm_s32le", "pcm_f32le", "pcm_u8"},
    "matroska": None,  # anything
}


def audio_plan(container: str, codec: str | None) -> str:
    """'copy' when ``container`` can hold audio ``codec`` as it is, else 'aac'."""
    allowed = AUDIO_COPYABLE.get(container)
    return "copy" if codec and (allowed is None or codec in allowed) else "aac"


def output_container(path: str | Path, codec: str = "h264") -> str:
    suffix = Path(path).suffix.lower()
    if suffix not in CONTAINERS:
        raise UserError(f"{path}: unsupported output type '{suffix or '(none)'}'; use .mp4, .mov or .mkv")
    if codec not in CODECS:
        raise UserError(f"unknown codec '{codec}'; choose one of {', '.join(CODECS)}")
    container = CONTAINERS[suffix]
    if codec == "ffv1" and container != "matroska":
        raise UserError(f"{path}: ffv1 needs a .mkv output (or use --codec h264-lossless for {suffix})")
    return container


def temporary_path(path: Path) -> Path:
    """Hidden sibling of ``path`` with the same suffix, unique to this process."""
    return path.with_name(f".{path.stem}.partial-{os.getpid()}-{threading.get_ident() % 100000}{path.suffix}")


class FrameWriter:
    """Encodes uint8 RGB frames from a pipe into a video file, with the source's audio and colour.

    ``open(info, tags)`` starts ffmpeg for frames of ``info``'s size and rate; ``write(frames)`` sends an
    (N, H, W, 3) array; ``close()`` finishes, renames the temporary file to ``path`` and returns a summary;
    ``abort()`` kills ffmpeg and removes the temporary file.
    """

    def __init__(self, path: str | Path, codec: str = "h264", crf: int = 18, preset: str = "medium",
                 audio_from: str | Path | None = None, audio_start: float | None = None,
                 audio_end: float | None = None, overwrite: bool = True):
        self.path = Path(path)
        self.container = output_container(self.path, codec)
        self.codec, self.crf, self.preset = codec, int(crf), str(preset)
        self.audio_from = Path(audio_from) if audio_from else None
        self.audio_start, self.audio_end = parse_time(audio_start), parse_time(audio_end)
        self.overwrite = overwrite
        self.tmp = temporary_path(self.path)
        self.proc: subprocess.Popen | None = None
        self._drain: _StderrDrain | None = None
        self.info: StreamInfo | None = None
        self.frames_written = 0
        self.audio = "none"
        self.padded: tuple[int, int] | None = None

    # -- command
    def command(self, info: StreamInfo, tags: dict[str, str]) -> list[str]:
        """The encoder's argv: raw RGB frames on stdin (+ the source's audio) -> the temporary file."""
        frames = ffmpeg.input("pipe:0", format="rawvideo", pix_fmt="rgb24", s=f"{info.width}x{info.height}",
                              framerate=format_rate(info.fps))
        streams = [self.encode_filter(frames["v:0"], info)]
        audio_codec = None
        if self.audio_from is not None:
            same = info.path is not None and Path(info.path) == self.audio_from
            audio_codec = info.audio_codec if same and info.has_audio else (None if same else probe_audio(self.audio_from))
        options: dict[str, object] = {}
        if audio_codec is not None:
            cut = {}
            if self.audio_start is not None:
                cut["ss"] = f"{self.audio_start:.6f}"
            if self.audio_end is not None:
                cut["t"] = f"{self.audio_end - (self.audio_start or 0.0):.6f}"
            streams.append(ffmpeg.input(str(self.audio_from), **cut)["a?"])
            plan = audio_plan(self.container, audio_codec)
            options.update({"c:a": "copy"} if plan == "copy" else {"c:a": "aac", "b:a": "192k"})
            self.audio = f"copied ({audio_codec})" if plan == "copy" else f"re-encoded {audio_codec} to aac"
        if self.codec == "h264":
            options.update({"c:v": "libx264", "preset": self.preset, "crf": self.crf})
        elif self.codec == "h264-lossless":
            options.update({"c:v": "libx264", "preset": self.preset, "qp": 0})
        else:
            options.update({"c:v": "ffv1", "level": 3, "g": 1, "slicecrc": 1})
        options.update(metadata_args(tags))
        if self.container in ("mp4", "mov"):
            options["movflags"] = "+faststart+use_metadata_tags"
        out = ffmpeg.output(*streams, str(self.tmp), format=self.container, **options)
        return compile_command(out, find_ffmpeg(), "-hide_banner", "-loglevel", "error", "-y")

    def encode_filter(self, stream, info: StreamInfo):
        """RGB -> the codec's pixel format with the source's matrix, range and colour tags (odd sizes padded)."""
        c = resolve_colors(info)
        if self.codec == "ffv1":
            return (stream.filter("format", "gbrp")
                    .filter("setparams", color_primaries=c.color_primaries, color_trc=c.color_transfer, range="pc"))
        pix = "yuv444p" if self.codec == "h264-lossless" else "yuv420p"
        if pix == "yuv420p" and (info.width % 2 or info.height % 2):
            w2, h2 = info.width + info.width % 2, info.height + info.height % 2
            self.padded = (w2, h2)
            stream = (stream.filter("pad", w2, h2, 0, 0)
                      .filter("fillborders", right=w2 - info.width, bottom=h2 - info.height, mode="smear"))
        return (stream.filter("scale", out_color_matrix=_MATRIX_FOR_SWS[c.color_space], out_range=c.color_range,
                              flags="bicubic+accurate_rnd+full_chroma_int")
                .filter("format", pix)
                .filter("setparams", colorspace=c.color_space, color_primaries=c.color_primaries,
                        color_trc=c.color_transfer, range=c.color_range))

    # -- lifecycle
    def open(self, info: StreamInfo, tags: dict[str, str] | None = None) -> None:
        if self.path.exists() and not self.overwrite:
            raise UserError(f"{self.path} exists; pass --overwrite to replace it")
        ensure_folder(self.path.parent)
        if not os.access(self.path.parent, os.W_OK):
            raise UserError(f"{self.path.parent} is not writable")
        self.info = info
        cmd = self.command(info, tags or {})
        self.proc = start_process(cmd, stdin=subprocess.PIPE)
        _grow_pipe(self.proc.stdin, PIPE_SIZE)
        self._drain = _StderrDrain(self.proc.stderr)

    def write(self, frames: np.ndarray | FrameBatch) -> None:
        if isinstance(frames, FrameBatch):
            frames = frames.frames
        if self.proc is None or self.info is None:
            raise RuntimeError("FrameWriter.open() was not called")
        shape = (self.info.height, self.info.width, 3)
        if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[1:] != shape:
            raise ValueError(f"FrameWriter expects uint8 frames of shape (N, {shape[0]}, {shape[1]}, 3), got {frames.dtype} {frames.shape}")
        view = memoryview(np.ascontiguousarray(frames)).cast("B")
        stdin = self.proc.stdin
        try:
            done = 0
            while done < len(view):
                done += stdin.write(view[done:])
        except (BrokenPipeError, OSError, ValueError):
            self.proc.wait()
            raise UserError(f"encoding {self.path.name} failed ({self._drain.error_line()})") from None
        self.frames_written += len(frames)

    def close(self) -> dict:
        """Finish the file and move it into place."""
        if self.proc is None:
            raise RuntimeError("FrameWriter.open() was not called")
        try:
            try:
                self.proc.stdin.close()
            except (BrokenPipeError, OSError):
                pass
            rc = self.proc.wait()
            if rc != 0:
                raise UserError(f"encoding {self.path.name} failed ({self._drain.error_line()})")
            if self.frames_written == 0:
                raise UserError(f"no frames to write to {self.path}")
            try:
                os.replace(self.tmp, self.path)
            except OSError as e:
                raise UserError(f"cannot move the finished video to {self.path}: {e.strerror}") from None
        except BaseException:
            self.abort()
            raise
        stop_process(self.proc, self._drain)
        w, h = self.padded or (self.info.width, self.info.height)
        return {"path": str(self.path), "frames": self.frames_written, "width": w, "height": h,
                "fps": format_rate(self.info.fps), "codec": self.codec, "audio": self.audio,
                **({"padded_to_even": True} if self.padded else {})}

    def abort(self) -> None:
        """Kill ffmpeg and remove the partial file. Safe in any state (never opened, half-opened, closed, aborted)
        and never raises: it runs while another error is on its way to the user."""
        stop_process(self.proc, self._drain)
        remove_partial(self.tmp)
