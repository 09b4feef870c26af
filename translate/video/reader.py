"""Decode a video (or a folder of images) into batches of RGB frames over an ffmpeg pipe."""
from __future__ import annotations

import logging
import subprocess
from fractions import Fraction
from pathlib import Path
from typing import Iterator

import numpy as np

import ffmpeg  # ffmpeg-python builds the command lines

from translate.errors import UserError
from translate.video.ffmpeg import (
    PIPE_SIZE,
    QUIET,
    _grow_pipe,
    _StderrDrain,
    compile_command,
    ffmpeg_error_line,
    find_ffmpeg,
    passthrough_args,
    start_process,
    stop_process,
)
from translate.video.frames import FrameBatch, StreamInfo
from translate.video.probe import (
    _MATRIX_FOR_SWS,
    _is_rgb_source,
    parse_time,
    probe,
    resolve_colors,
)

# ---------------------------------------------------------------------------------------------- reader

log = logging.getLogger("translate.video")


class FrameReader:
    """Batches of uint8 RGB frames (N, H, W, 3) decoded by ffmpeg into a raw pipe.

    Every decoded frame comes out exactly once (passthrough timing), in order, rotated as displayed. ``start``
    and ``end`` (seconds or [HH:]MM:SS) cut the stream. ``info`` is the probed StreamInfo with colours resolved.
    A truncated or damaged stream raises UserError instead of quietly giving fewer frames.
    """

    def __init__(self, path: str | Path, batch_size: int = 8, start: float | str | None = None,
                 end: float | str | None = None, info: StreamInfo | None = None, step: int = 1):
        self.path = Path(path)
        self.batch_size = max(1, int(batch_size))
        # step N: only frames 0, N, 2N, ... come out (ffmpeg's framestep, before the RGB conversion, so a
        # sampled read does not convert and pipe the frames it skips); batch indices stay source indices
        self.step = max(1, int(step))
        self.start, self.end = parse_time(start), parse_time(end)
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise UserError(f"--end ({self.end:g}s) must come after --start ({self.start:g}s)")
        probed = info or probe(self.path)
        self.source_info = probed
        self.info = resolve_colors(probed)
        if self.start is not None or self.end is not None:
            span_start = self.start or 0.0
            span_end = self.end if self.end is not None else (probed.duration or span_start)
            if probed.duration is not None and span_start >= probed.duration:
                raise UserError(f"--start {span_start:g}s is past the end of {self.path} ({probed.duration:.2f}s)")
            span_end = min(span_end, probed.duration) if probed.duration else span_end
            estimate = max(1, round((span_end - span_start) * probed.fps))
            self.info = self.info.replace(frame_count=None, duration=span_end - span_start, vfr=probed.vfr)
            self.expected_estimate = estimate
        else:
            self.expected_estimate = probed.frame_count
        self.warnings: list[str] = []
        self.frames_read = 0
        self.proc: subprocess.Popen | None = None
        self._drain: _StderrDrain | None = None
        self._closed = False
        self._note_source()

    # -- warnings a user should see before a long run
    def _warn(self, message: str) -> None:
        self.warnings.append(message)
        log.warning(message)

    def _note_source(self) -> None:
        info = self.source_info
        if info.vfr:
            frame = f" at frame {info.max_drift_frame}" if info.max_drift_frame is not None else ""
            self._warn(f"{self.path.name}: variable frame rate; all {info.frame_count or ''} frames are kept and written at "
                       f"the average rate {format_rate(info.fps)} fps; timestamps drift from it by up to "
                       f"{info.max_drift:.3f}s{frame}")
        if info.bit_depth > 8 or info.is_hdr:
            kind = "HDR " if info.is_hdr else ""
            self._warn(f"{self.path.name}: {info.bit_depth}-bit {kind}source ({info.pix_fmt}, {info.color_transfer or 'sdr'}); "
                       f"frames are processed as 8-bit RGB (possible banding; HDR is not tone-mapped, its tags are kept)")

    def command(self) -> list[str]:
        """The decoder's argv: the first video stream, cut, converted to RGB -> raw frames on stdout."""
        exe = find_ffmpeg()
        cut = {}
        if self.start is not None:
            cut["ss"] = f"{self.start:.6f}"
        if self.end is not None:
            cut["t"] = f"{self.end - (self.start or 0.0):.6f}"
        video = ffmpeg.input(str(self.path), **cut)["v:0"]
        if self.step > 1:
            video = video.filter("framestep", step=self.step)
        video = decode_filter(video, self.source_info, self.info)
        out = video.output("pipe:1", format="rawvideo", pix_fmt="rgb24", **passthrough_args(exe))
        return compile_command(out, exe, *QUIET)

    def _open(self) -> None:
        self.proc = start_process(self.command(), stdout=subprocess.PIPE)
        _grow_pipe(self.proc.stdout, PIPE_SIZE)
        self._drain = _StderrDrain(self.proc.stderr)

    def __iter__(self) -> Iterator[FrameBatch]:
        if self.proc is not None:
            raise RuntimeError("a FrameReader can be iterated once")
        self._open()
        h, w = self.info.height, self.info.width
        frame_bytes = h * w * 3
        stdout = self.proc.stdout
        index = 0
        try:
            while True:
                buf = np.empty((self.batch_size, h, w, 3), dtype=np.uint8)
                got = _read_into(stdout, memoryview(buf).cast("B"))
                if self._closed:
                    return
                n, rest = divmod(got, frame_bytes)
                if rest:
                    self._finish(partial=True)
                if n:
                    frames = buf if n == self.batch_size else buf[:n]
                    yield FrameBatch(frames, [i * self.step for i in range(index, index + n)], [{} for _ in range(n)])
                    index += n
                    self.frames_read = index
                if n < self.batch_size:
                    break
            self._finish()
        finally:
            self.close()

    def _finish(self, partial: bool = False) -> None:
        rc = self.proc.wait()
        err = self._drain.error_line() if self._drain else ""
        had_errors = bool(self._drain and any(line.strip() for line in self._drain.lines))
        if rc != 0 or partial:
            raise UserError(f"{self.path}: decoding failed after {self.frames_read} frames ({err})")
        expected = self.source_info.frame_count if (self.start is None and self.end is None) else None
        if expected is not None and self.step > 1:
            expected = -(-expected // self.step)  # frames 0, step, 2 step, ... of the listed count
        if self.frames_read == 0:
            raise UserError(f"{self.path}: no frame could be decoded ({err if had_errors else 'empty video stream'})")
        if expected is not None and self.frames_read < expected:
            if had_errors:
                raise UserError(f"{self.path} is truncated or damaged: decoded {self.frames_read} of {expected} frames ({err})")
            self._warn(f"{self.path.name}: the container lists {expected} frames but {self.frames_read} were decoded")
        elif expected is not None and self.frames_read > expected:
            self._warn(f"{self.path.name}: the container lists {expected} frames but {self.frames_read} were decoded")

    def close(self) -> None:
        """Stop decoding. Safe at any time, from any thread, in any state (never started, finished, closed)."""
        self._closed = True
        stop_process(self.proc, self._drain)


def _read_into(f, view: memoryview) -> int:
    """Fill ``view`` from a raw pipe; returns the bytes read (fewer only at end of stream)."""
    got, n = 0, len(view)
    while got < n:
        try:
            k = f.readinto(view[got:])
        except (ValueError, OSError):  # closed from another thread
            break
        if not k:
            break
        got += k
    return got


def decode_filter(stream, source: StreamInfo, resolved: StreamInfo):
    """``stream`` converted from decoded frames to RGB with the source's own matrix and range."""
    if not _is_rgb_source(source):
        stream = stream.filter("scale", in_color_matrix=_MATRIX_FOR_SWS[resolved.color_space],
                               in_range=resolved.color_range, flags="bicubic+accurate_rnd+full_chroma_int")
    return stream.filter("format", "rgb24")


def format_rate(fps: Fraction) -> str:
    return str(fps.numerator) if fps.denominator == 1 else f"{fps.numerator}/{fps.denominator}"


# ---------------------------------------------------------------------------------------------- helpers


def decode_audio_pcm(path: str | Path, seconds: float | None = None) -> np.ndarray:
    """Decode the first audio stream to interleaved s16 PCM (for checks and tests)."""
    cut = {} if seconds is None else {"t": str(seconds)}
    out = ffmpeg.input(str(path))["a:0"].output("-", format="s16le", acodec="pcm_s16le", **cut)
    cmd = compile_command(out, find_ffmpeg(), *QUIET)
    proc = subprocess.run(cmd, capture_output=True)
    if proc.returncode != 0:
        raise UserError(f"{path}: cannot decode audio ({ffmpeg_error_line(proc.stderr.decode('utf-8', 'replace').splitlines())})")
    return np.frombuffer(proc.stdout, dtype=np.int16)


def read_all_frames(path: str | Path, batch_size: int = 16) -> np.ndarray:
    """Every frame of a (small) video as one array; for tests and tools."""
    batches = [b.frames for b in FrameReader(path, batch_size=batch_size)]
    return np.concatenate(batches) if batches else np.zeros((0, 0, 0, 3), np.uint8)
