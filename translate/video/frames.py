"""What flows between video stages: the stream's description, batches of frames, and the Stage interface.

A low module: faces/ and detect/ stages subclass ``Stage``; it imports nothing from translate but errors.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np


@dataclass
class StreamInfo:
    """A video stream as the frames come out of the reader.

    ``width``/``height`` are the size of the frames as displayed, i.e. after ``rotation`` (which the reader
    applies once, so an output carries no rotation of its own). ``fps`` is exact (25, 30000/1001); for a
    variable-frame-rate source (``vfr``) it is the average rate, and ``max_drift`` says by how many seconds
    the source's timestamps stray from that rate at most.
    """

    width: int
    height: int
    fps: Fraction
    frame_count: int | None = None
    duration: float | None = None
    has_audio: bool = False
    audio_codec: str | None = None
    audio_sample_rate: int | None = None
    audio_channels: int | None = None
    video_codec: str | None = None
    pix_fmt: str | None = None
    bit_depth: int = 8
    rotation: int = 0  # degrees the reader turns the coded picture to display it (0, 90, 180, 270)
    color_space: str | None = None  # matrix: bt709, smpte170m, bt470bg, bt2020nc ... (None: untagged)
    color_range: str | None = None  # tv | pc
    color_primaries: str | None = None
    color_transfer: str | None = None
    vfr: bool = False
    max_drift: float = 0.0  # seconds, largest |timestamp - index / fps| over the stream
    max_drift_frame: int | None = None
    start_time: float = 0.0
    container: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    path: str | None = None

    @property
    def size(self) -> tuple[int, int]:
        return self.width, self.height

    @property
    def is_hdr(self) -> bool:
        return self.color_transfer in ("smpte2084", "arib-std-b67")

    def replace(self, **changes) -> "StreamInfo":
        """A copy with some fields changed (a stage's ``open`` returns its output's info this way)."""
        return dataclasses.replace(self, **changes)


@dataclass
class FrameBatch:
    """Consecutive frames: ``frames`` (N, H, W, 3) uint8 RGB, their source ``indices``, one ``meta`` dict each."""

    frames: np.ndarray
    indices: list[int]
    meta: list[dict] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.meta:
            self.meta = [{} for _ in self.indices]
        if not (len(self.frames) == len(self.indices) == len(self.meta)):
            raise ValueError(f"FrameBatch: {len(self.frames)} frames, {len(self.indices)} indices, {len(self.meta)} meta dicts")

    def __len__(self) -> int:
        return len(self.indices)

    def with_frames(self, frames: np.ndarray) -> "FrameBatch":
        """The same frames' indices and meta with new pixels (e.g. after a model)."""
        return FrameBatch(frames, self.indices, self.meta)


class Stage:
    """One step of a frame pipeline. Subclasses override what they need.

    ``open(info)`` is called once before any frame and returns the info of what the stage outputs (a 4x
    upscaler returns a 4x larger size). ``process(batch)`` maps a batch to a batch with the same frames, in
    order (a stage must not drop or add frames; a frame it cannot handle passes through unchanged).
    ``close()`` returns stats for the run's summary. ``tags()`` returns provenance tags for the output.
    """

    name = "stage"

    def open(self, info: StreamInfo) -> StreamInfo:
        return info

    def process(self, batch: FrameBatch) -> FrameBatch:
        return batch

    def close(self) -> dict:
        return {}

    def tags(self) -> dict[str, str]:
        return {}
